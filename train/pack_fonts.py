"""tiny-moe's fonts in one small folder, for a machine without Debian's font packages (a GPU box).

Owns: copying every font file that `train.tiny_moe_media` draws with (both splits) into one
folder, each cut down with fontTools to the printable ASCII characters plus −, – and ×. The
pictures only ever draw digits, operators and spaces, and the rest of ASCII stays so that
FreeType's auto-hinter finds the reference letters it measures a face by: with it, every
seeded picture drawn from the packed folder is pixel for pixel the one drawn from the system's
files (tests/test_tiny_moe_data.py checks it). With Debian's packages installed: 172 files, 53 MB
as installed, 6.4 MB packed, 2.3 MB as `tar | xz -9`.

    python -m train.pack_fonts --out .fonts && tar -cf - .fonts | xz -9 > .gg/fonts.tar.xz

Leaves the choice of fonts to `tiny_moe_media` and their use to `tiny_moe_train --fonts-dir`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from train import tiny_moe_media as media

CHARACTERS = "".join(chr(c) for c in range(32, 127)) + "\u2212\u2013\u00d7"


def pack_font(src: Path, dst: Path) -> None:
    """`src` with only `CHARACTERS` (and the missing-glyph box), its layout features and kerning kept."""
    from fontTools import subset

    opts = subset.Options()
    opts.layout_features = ["*"]
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    opts.legacy_kern = True
    font = subset.load_font(str(src), opts)
    subsetter = subset.Subsetter(opts)
    subsetter.populate(text=CHARACTERS)
    subsetter.subset(font)
    subset.save_font(font, str(dst), opts)


def pack(out: Path) -> list[Path]:
    """Every font of both splits, packed into `out` (created); returns the files written."""
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # tables it drops, old timestamps
    out.mkdir(parents=True, exist_ok=True)
    files = media.font_files()
    names = {n for split in ("train", "heldout") for n in media.font_names(split)} - {media.DEFAULT_FONT}
    written = []
    for name in sorted(names):
        pack_font(files[name], out / name)
        written.append(out / name)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.pack_fonts", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="the folder to write (e.g. .fonts)")
    ap.add_argument(
        "--fonts-dir", type=Path, help=f"font folder (default: ${media.FONTS_ENV} or the system's)"
    )
    args = ap.parse_args(argv)
    if args.fonts_dir:
        if not args.fonts_dir.is_dir():
            ap.error(f"--fonts-dir {args.fonts_dir} is not a folder")
        media.set_fonts_dir(args.fonts_dir)
    if len(media.font_names("train")) < 2:
        ap.error(f"no font to pack in {', '.join(map(str, media._search_dirs()))}: install Debian's "
                 f"fonts-dejavu fonts-liberation {media.MORE_FONT_PACKAGES}, or pass --fonts-dir")  # fmt: skip
    written = pack(args.out)
    size = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} fonts, {size / 1e6:.1f} MB, to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
