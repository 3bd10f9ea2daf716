"""Synthetic pictures and clips for the tiny model's vision tasks, drawn with Pillow (and PyAV for files).

Owns: the fonts (every DejaVu, Liberation, STIX General and `MORE_FONT_PREFIXES` file found, plus
Pillow's built-in font at any size), the renderer settings and their split (`split="train"` or
`"heldout"`: held-out font families, a held-out size range of Pillow's font and held-out layouts
never occur in training), the three renderers (`expression_image`: an arithmetic expression in a
random font, size, colour, background, place, spacing, operator glyph, slight rotation and noise,
sometimes with lines beside it that never close into a frame;
`shapes_scene` + `draw_scene`: squares among circles and triangles of varied size, colour and
placement on a canvas of varied size; `number_frames`: the frames of a clip in which numbers
appear one after another), `write_mp4`, and the JPEG and YUV 4:2:0 round trips (numpy only, so
training needs no PyAV).

Fonts. `RIO_TINY_MOE_FONTS` (or `set_fonts_dir`) names one folder searched recursively for
`.ttf` and `.otf` files; without it the search covers `/usr/share/fonts`, TeX Gyre's folder and
matplotlib's `mpl-data/fonts/ttf`. Only the families named here are used (DejaVu, Liberation and
STIX General; since v11 also `MORE_FONT_PREFIXES`, from the Debian packages `MORE_FONT_PACKAGES`).
Files are deduplicated by name and sorted, so the same fonts and seed give the same pictures on
any machine (with the same Pillow and FreeType); a machine without the packages draws with fewer.

Video timing. The app samples a video at 2 frames per second (`engine.media.MediaLimits.video_fps`)
and the processor pairs consecutive sampled frames into one temporal patch (`temporal_patch_size`
2). A clip here runs at `CLIP_FPS` = 4 with each number held for `FRAMES_PER_NUMBER` = 4 frames
(one second): the sampled frames are 0 and 2 of each number, so every temporal patch shows one
number, and a sampling that lands one frame late still sees the same number.
Leaves the tasks' words and answers to `tiny_moe_data.py`. Everything is seeded by its caller.
"""

from __future__ import annotations

import colorsys
import functools
import importlib.util
import io
import math
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONTS_ENV = "RIO_TINY_MOE_FONTS"
SYSTEM_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/share/texmf/fonts/opentype/public/tex-gyre"))
FONT_PREFIXES = ("DejaVuSans", "DejaVuSerif", "Liberation", "STIXGeneral")  # fonts with digits and + - ×
# More families (since v11), from Debian's font packages (`MORE_FONT_PACKAGES`): sans, serif, slab,
# monospace, rounded and comic faces. TeX Gyre Termes, FreeSerif and Nimbus Roman are left out:
# they are Times clones, as the held-out Liberation Serif nearly is.
MORE_FONT_PREFIXES = (
    "Caladea", "Cantarell", "Carlito", "ComicNeue", "EBGaramond", "FiraCode", "GentiumBookPlus",
    "GentiumPlus", "Go-", "Hack-", "Inconsolata", "Lato-", "LinBiolinum", "LinLibertine", "NotoMono",
    "NotoSansMono", "OpenSans", "Quicksand", "RobotoSlab", "texgyreadventor", "texgyrebonum",
    "texgyrecursor", "texgyreheros", "texgyrepagella", "texgyreschola",
)  # fmt: skip
MORE_FONT_PACKAGES = (
    "fonts-crosextra-caladea fonts-crosextra-carlito fonts-linuxlibertine fonts-texgyre fonts-open-sans "
    "fonts-lato fonts-cantarell fonts-inconsolata fonts-hack fonts-comic-neue fonts-go fonts-noto-mono "
    "fonts-ebgaramond fonts-roboto-slab fonts-quicksand fonts-firacode fonts-sil-gentiumplus"
)
TOO_THIN = ("Hairline", "Thin")  # strokes that a small, noisy JPEG loses
HELDOUT_FONT_PREFIXES = ("LiberationSerif", "DejaVuSerifCondensed")  # whole families never trained on
DEFAULT_FONT = "pillow-default"  # Pillow's built-in font (Aileron); it has no − or × glyph
DEFAULT_SIZES = {"train": ((9, 17), (25, 40)), "heldout": ((18, 24),)}  # Pillow's font, px
OPS = {"+": "+", "-": "\u2212", "×": "\u00d7"}  # trace symbol -> symbol drawn (DejaVu), video/legacy
OP_GLYPHS = {"+": ("+",), "-": ("\u2212", "-", "\u2013"), "×": ("\u00d7", "x", "*", "X")}
GLYPH_TO_OP = {g: op for op, gs in OP_GLYPHS.items() for g in gs}
RULES_P = 0.3  # share of training expressions drawn with lines beside them (see `_rule_sides`)
EXPR_LAYOUTS = {"train": ("random", "center", "left", "right"), "heldout": ("boxed",)}
SHAPE_LAYOUTS = {"train": ("grid", "scatter", "line"), "heldout": ("ring",)}
CLIP_FPS = 4
FRAMES_PER_NUMBER = 4  # one second per number at CLIP_FPS
SAMPLED_OFFSETS = (0, 2)  # the frames of a number that 2-fps sampling takes
FRAME_SIZE = 64  # video frames are square, 2x2 vision tokens
GRID = 4  # shapes: squares are counted in GRID horizontal bands ("rows") of the picture
SHAPE_KINDS = ("square", "circle", "triangle")


# ---------------------------------------------------------------- fonts

_fonts_dir: Path | None = None


def set_fonts_dir(path: str | Path | None) -> None:
    """Use only the `.ttf` files under `path` (None: the environment variable or the defaults)."""
    global _fonts_dir
    _fonts_dir = Path(path) if path else None
    font_files.cache_clear()
    font_names.cache_clear()
    load_font.cache_clear()


def _search_dirs() -> tuple[Path, ...]:
    if _fonts_dir is not None:
        return (_fonts_dir,)
    if os.environ.get(FONTS_ENV):
        return (Path(os.environ[FONTS_ENV]),)
    dirs = list(SYSTEM_FONT_DIRS)
    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.origin:
        dirs.append(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf")
    return tuple(dirs)


@functools.cache
def font_files() -> dict[str, Path]:
    """{file name: path} of the usable fonts found, first found wins, sorted by name."""
    found: dict[str, Path] = {}
    for d in _search_dirs():
        if d.is_dir():
            for p in sorted((*d.rglob("*.ttf"), *d.rglob("*.otf"))):
                usable = p.name.startswith((*FONT_PREFIXES, *MORE_FONT_PREFIXES))
                if usable and not any(t in p.name for t in TOO_THIN) and p.name not in found:
                    found[p.name] = p
    return dict(sorted(found.items()))


def is_heldout_font(name: str) -> bool:
    return name.startswith(HELDOUT_FONT_PREFIXES)


@functools.cache
def font_names(split: str = "train") -> tuple[str, ...]:
    """The fonts of a split: Pillow's default (both splits, at different sizes) and the files that
    draw every digit, `+` and `-` (DejaVu's Display faces and Libertine's initials draw none of
    them: up to v10 the first two were drawn in training as rows of missing-glyph boxes)."""
    files = tuple(n for n in font_files() if is_heldout_font(n) == (split == "heldout"))
    return (DEFAULT_FONT, *(n for n in files if all(has_glyph(n, ch) for ch in "0123456789+-")))


@functools.cache
def load_font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if name == DEFAULT_FONT:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(font_files()[name]), size)


@functools.cache
def has_glyph(name: str, ch: str) -> bool:
    """Whether the font draws `ch` as something other than its missing-glyph box."""
    font = load_font(name, 24)
    m, missing = font.getmask(ch), font.getmask("\U000f0000")
    return not (m.size == missing.size and bytes(m) == bytes(missing)) and m.size[0] > 0


def draw_symbol(op: str, font: str) -> str:
    """The usual glyph for a trace operator (the clips' style): the real signs where the font has them."""
    return OPS[op] if has_glyph(font, OPS[op]) else {"+": "+", "-": "-", "×": "x"}[op]


def font_size_range(name: str, split: str, rng: random.Random) -> int:
    if name == DEFAULT_FONT:
        lo, hi = rng.choice(DEFAULT_SIZES[split])
        return rng.randint(lo, hi)
    return rng.randint(12, 13) if rng.random() < 0.1 else rng.randint(14, 48)


# ---------------------------------------------------------------- colours and backgrounds


def _light(rng: random.Random) -> tuple[int, int, int]:
    base = rng.randint(205, 255)
    return tuple(min(255, max(0, base + rng.randint(-12, 12))) for _ in range(3))


def _dark(rng: random.Random) -> tuple[int, int, int]:
    base = rng.randint(0, 80)
    return tuple(min(255, max(0, base + rng.randint(-15, 15))) for _ in range(3))


def _hue(rng: random.Random, s: tuple[float, float], v: tuple[float, float]) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*s), rng.uniform(*v))
    return (int(r * 255), int(g * 255), int(b * 255))


def _luma(c: Sequence[int]) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def text_colours(rng: random.Random) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(ink, paper): dark on light mostly, light on dark sometimes, coloured ink or paper at times,
    always at least 90 levels of luma apart."""
    while True:
        r = rng.random()
        if r < 0.55:
            fg, bg = _dark(rng), _light(rng)
        elif r < 0.7:
            fg, bg = _light(rng), _dark(rng)
        elif r < 0.85:
            fg, bg = _hue(rng, (0.5, 1.0), (0.2, 0.6)), _light(rng)
        else:
            fg, bg = _dark(rng), _hue(rng, (0.1, 0.5), (0.75, 1.0))
        if abs(_luma(fg) - _luma(bg)) >= 90:
            return fg, bg


def background(size: tuple[int, int], paper: tuple[int, int, int], rng: random.Random) -> Image.Image:
    """Plain paper, a gentle gradient, or faint blotchy texture."""
    w, h = size
    r = rng.random()
    if r < 0.55:
        return Image.new("RGB", size, paper)
    base = np.asarray(paper, dtype=np.float32)  # [3]
    if r < 0.8:
        other = base + np.array([rng.randint(-40, 40) for _ in range(3)], dtype=np.float32)
        t = np.linspace(0, 1, w if rng.random() < 0.5 else h, dtype=np.float32)
        ramp = base + (other - base) * t[:, None]  # [n, 3]
        a = (
            np.broadcast_to(ramp[None], (h, w, 3))
            if len(t) == w
            else np.broadcast_to(ramp[:, None], (h, w, 3))
        )
    else:
        coarse = np.random.default_rng(rng.getrandbits(32)).normal(
            0, 14, (max(2, h // 16), max(2, w // 16), 3)
        )
        blot = Image.fromarray(np.clip(coarse + 128, 0, 255).astype(np.uint8)).resize(
            size, Image.Resampling.BICUBIC
        )
        a = base + (np.asarray(blot, dtype=np.float32) - 128)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _noisy(im: Image.Image, rng: random.Random, sigma_max: float) -> Image.Image:
    """Gaussian pixel noise of a random strength up to `sigma_max` (0-255 scale)."""
    sigma = rng.uniform(0, sigma_max)
    a = np.asarray(im, dtype=np.float32)  # [H, W, 3]
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, sigma, a.shape)
    return Image.fromarray(np.clip(a + noise, 0, 255).astype(np.uint8))


# ---------------------------------------------------------------- expressions


def _text_layer(text: str, font, fg: tuple[int, int, int], angle: float) -> tuple[Image.Image, list[float]]:
    """The text on a transparent layer cropped to its ink, rotated by `angle` degrees, and the
    x of each character's centre on that layer (the rotation taken about the line's middle)."""
    left, top, right, bottom = font.getbbox(text)
    layer = Image.new("RGBA", (right - left + 8, bottom - top + 8), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((4 - left, 4 - top), text, font=font, fill=(*fg, 255))
    xs = [4 - left + font.getlength(text[:i]) + font.getlength(c) / 2 for i, c in enumerate(text)]
    w0 = layer.width
    layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    box = layer.getbbox() or (0, 0, layer.width, layer.height)
    cos = math.cos(math.radians(angle))
    xs = [layer.width / 2 + (x - w0 / 2) * cos - box[0] for x in xs]
    return layer.crop(box), xs


def _rule_sides(rng: random.Random) -> tuple[str, ...]:
    """One to three sides of the text that get a line (an underline, a rule above, a cell border
    to the left or right); never all four, so a closed frame stays a held-out setting."""
    return tuple(rng.sample(("below", "above", "left", "right"), rng.choice((1, 1, 2, 2, 3))))


def _draw_rules(
    canvas: Image.Image,
    box: tuple[int, int, int, int],
    sides: Sequence[str],
    fg: tuple[int, int, int],
    paper: tuple[int, int, int],
    rng: random.Random,
) -> None:
    """Lines beside the text's box on `sides`, 2-12 px away, in the ink's colour or another one
    that stands out from the paper, each of its own length (a part of the side, or past it)."""
    draw = ImageDraw.Draw(canvas)
    w, h = canvas.size
    x0, y0, x1, y1 = box
    for side in sides:
        colour = fg if rng.random() < 0.6 else _shape_colour(paper, rng)
        width, gap = rng.randint(1, 3), rng.randint(2, 12)
        if side in ("below", "above"):
            y = min(h - 1, y1 + gap) if side == "below" else max(0, y0 - gap)
            a, b = x0 - rng.randint(-8, 20), x1 + rng.randint(-8, 20)
            draw.line((max(0, a), y, min(w - 1, b), y), fill=colour, width=width)
        else:
            x = min(w - 1, x1 + gap) if side == "right" else max(0, x0 - gap)
            a, b = y0 - rng.randint(-4, 14), y1 + rng.randint(-4, 14)
            draw.line((x, max(0, a), x, min(h - 1, b)), fill=colour, width=width)


def expression_text(a: int, op: str, b: int, font_name: str, rng: random.Random) -> str:
    """`a op b` with an operator glyph the font has (×, x, * or X; −, - or –) and varied spacing."""
    glyphs = [g for g in OP_GLYPHS[op] if g.isascii() or has_glyph(font_name, g)]
    sym = rng.choice(glyphs)
    r = rng.random()
    left, right = (
        (" ", " ") if r < 0.6 else ("", "") if r < 0.8 else rng.choice(((" ", ""), ("", " "), ("  ", "  ")))
    )
    return f"{a}{left}{sym}{right}{b}"


def expression_image(
    a: int, op: str, b: int, rng: random.Random, split: str = "train"
) -> tuple[Image.Image, tuple]:
    """`a op b` drawn in a font, size, colour, background, layout and canvas of the split's
    renderer settings, slightly rotated and noisy. Also the characters drawn, as (trace symbol,
    x of its centre in pixels), left to right. Canvases run from about 64 x 32 to 400 x 160 px."""
    font_name = rng.choice(font_names(split))
    text = expression_text(a, op, b, font_name, rng)
    fg, paper = text_colours(rng)
    angle = rng.uniform(-6, 6) if rng.random() < 0.6 else 0.0
    size = font_size_range(font_name, split, rng)
    layout = rng.choice(EXPR_LAYOUTS[split])
    while True:
        layer, xs = _text_layer(text, load_font(font_name, size), fg, angle)
        if layer.width <= 380 and layer.height <= 140 or size <= 9:
            break
        size -= 2
    rules = _rule_sides(rng) if split == "train" and rng.random() < RULES_P else ()
    pad = 14 if layout == "boxed" or rules else 2
    min_w, min_h = layer.width + 2 * pad, layer.height + 2 * pad
    w = min(400, max(64, min_w + int(rng.uniform(0, 1.2) ** 2 * 200)))
    h = min(160, max(32, min_h + int(rng.uniform(0, 1.0) ** 2 * 100)))
    w, h = max(w, min_w), max(h, min_h)
    canvas = background((w, h), paper, rng)
    free_x, free_y = w - layer.width, h - layer.height
    if layout == "center":
        x, y = free_x // 2 + rng.randint(-2, 2), free_y // 2 + rng.randint(-2, 2)
    elif layout == "left":
        x, y = rng.randint(0, min(free_x, 12)), free_y // 2 + rng.randint(-3, 3)
    elif layout == "right":
        x, y = free_x - rng.randint(0, min(free_x, 12)), free_y // 2 + rng.randint(-3, 3)
    elif layout == "boxed":  # the text inside a drawn frame
        x, y = free_x // 2, free_y // 2
        draw = ImageDraw.Draw(canvas)
        m = rng.randint(4, max(4, pad - 3))
        draw.rectangle(
            (x - m, y - m, x + layer.width + m, y + layer.height + m), outline=fg, width=rng.randint(1, 2)
        )
    else:
        x, y = rng.randint(0, free_x), rng.randint(0, free_y)
    x, y = min(max(0, x), free_x), min(max(0, y), free_y)
    if rules:
        _draw_rules(canvas, (x, y, x + layer.width, y + layer.height), rules, fg, paper, rng)
    canvas.paste(layer, (x, y), layer)
    chars = tuple((GLYPH_TO_OP.get(c, c), x + cx) for c, cx in zip(text, xs, strict=True) if c != " ")
    return _noisy(canvas, rng, rng.choice((3, 8, 14))), chars


# ---------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Shape:
    kind: str
    x: int  # top-left
    y: int
    s: int  # side / diameter
    color: tuple[int, int, int]
    outline: bool = False

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.s / 2, self.y + self.s / 2)


@dataclass(frozen=True)
class Scene:
    """A shapes picture before drawing: canvas, paper and the shapes (no two overlap)."""

    w: int
    h: int
    paper: tuple[int, int, int]
    shapes: tuple[Shape, ...]
    seed: int  # background texture and pixel noise

    def rows(self) -> tuple[int, ...]:
        """Squares per horizontal band (GRID equal bands of the height, by each square's centre)."""
        counts = [0] * GRID
        for sh in self.shapes:
            if sh.kind == "square":
                counts[min(GRID - 1, int(sh.centre[1] * GRID / self.h))] += 1
        return tuple(counts)


def _shape_colour(paper: tuple[int, int, int], rng: random.Random) -> tuple[int, int, int]:
    while True:
        c = _hue(rng, (0.45, 1.0), (0.35, 0.95)) if rng.random() < 0.85 else _dark(rng)
        if (
            abs(_luma(c) - _luma(paper)) >= 45
            or max(abs(a - b) for a, b in zip(c, paper, strict=True)) >= 120
        ):
            return c


def _place(kinds: list[str], w: int, h: int, layout: str, rng: random.Random, s_range: tuple[int, int]):
    """Top-left corners and sizes for `kinds` under `layout`, or None when they do not fit."""
    n, out = len(kinds), []
    if layout == "grid":
        cols = rng.randint(max(1, math.ceil(n / 5)), min(6, n))
        rows = math.ceil(n / cols)
        cw, ch = w / cols, h / rows
        s_hi = int(min(cw, ch) * 0.8)
        if s_hi < s_range[0]:
            return None
        cells = rng.sample(range(rows * cols), n)
        for c in cells:
            s = rng.randint(s_range[0], min(s_range[1], s_hi))
            r, q = divmod(c, cols)
            x = int(q * cw + rng.uniform(0, cw - s))
            y = int(r * ch + rng.uniform(0, ch - s))
            out.append((x, y, s))
        return out
    if layout == "line":
        s_hi = min(s_range[1], int(w / n * 0.8), h - 4)
        if s_hi < s_range[0]:
            return None
        s = rng.randint(s_range[0], s_hi)
        gap = (w - n * s) / (n + 1)
        yc = rng.uniform(s / 2 + 2, h - s / 2 - 2)
        for i in range(n):
            x = int(gap + i * (s + gap) + rng.uniform(-gap / 4, gap / 4))
            out.append((max(0, min(w - s, x)), int(yc - s / 2 + rng.uniform(-2, 2)), s))
        return [(x, max(0, min(h - s, y)), s) for x, y, s in out]
    if layout == "ring":
        s_hi = min(s_range[1], int(min(w, h) / 4))
        if s_hi < s_range[0]:
            return None
        s = rng.randint(s_range[0], s_hi)
        rad = min(w, h) / 2 - s / 2 - 3
        if 2 * math.pi * rad < n * s * 1.2:
            return None
        phase = rng.uniform(0, 2 * math.pi)
        for i in range(n):
            t = phase + 2 * math.pi * i / n
            out.append((int(w / 2 + rad * math.cos(t) - s / 2), int(h / 2 + rad * math.sin(t) - s / 2), s))
        return out
    boxes: list[tuple[int, int, int]] = []  # scatter: rejection sampling with a margin
    for _ in range(n):
        for _try in range(60):
            s = rng.randint(*s_range)
            if s > min(w, h) - 4:
                continue
            x, y = rng.randint(2, w - s - 2), rng.randint(2, h - s - 2)
            if all(
                x + s + 3 <= bx or bx + bs + 3 <= x or y + s + 3 <= by or by + bs + 3 <= y
                for bx, by, bs in boxes
            ):
                boxes.append((x, y, s))
                break
        else:
            return None
    return boxes


def shapes_scene(n_squares: int, n_others: int, rng: random.Random, split: str = "train") -> Scene:
    """`n_squares` squares and `n_others` circles or triangles, in a layout of the split."""
    layout = rng.choice(SHAPE_LAYOUTS[split])
    while True:
        kinds = ["square"] * n_squares + [rng.choice(("circle", "triangle")) for _ in range(n_others)]
        rng.shuffle(kinds)
        w = rng.randint(96, 288)
        h = max(64, min(288, int(w * rng.uniform(0.5, 1.5))))
        if layout == "line":
            h = max(48, min(h, int(w * rng.uniform(0.25, 0.8))))
        s_range = (10, max(12, min(56, int(min(w, h) * 0.35))))
        spots = _place(kinds, w, h, layout, rng, s_range)
        if spots is None:
            continue
        _, paper = text_colours(rng) if rng.random() < 0.2 else (None, _light(rng))
        outline = rng.random() < 0.15
        shapes = tuple(Shape(k, x, y, s, _shape_colour(paper, rng), outline)
                       for k, (x, y, s) in zip(kinds, spots, strict=True))  # fmt: skip
        return Scene(w, h, paper, shapes, rng.getrandbits(32))


def draw_scene(scene: Scene) -> Image.Image:
    rng = random.Random(scene.seed)
    canvas = background((scene.w, scene.h), scene.paper, rng)
    draw = ImageDraw.Draw(canvas)
    for sh in scene.shapes:
        x0, y0, s = sh.x, sh.y, sh.s
        kw = {"outline": sh.color, "width": max(2, s // 8)} if sh.outline else {"fill": sh.color}
        if sh.kind == "square":
            draw.rectangle((x0, y0, x0 + s, y0 + s), **kw)
        elif sh.kind == "circle":
            draw.ellipse((x0, y0, x0 + s, y0 + s), **kw)
        else:  # triangle
            pts = ((x0 + s / 2, y0), (x0, y0 + s), (x0 + s, y0 + s))
            draw.polygon(pts, **kw) if not sh.outline else draw.line(
                (*pts, pts[0]), fill=sh.color, width=kw["width"]
            )
    return _noisy(canvas, rng, rng.choice((3, 8)))


# ---------------------------------------------------------------- clips


def _number_frame(n: int, style: dict, place: tuple[int, int], rng: random.Random) -> np.ndarray:
    canvas = Image.new("RGB", (FRAME_SIZE, FRAME_SIZE), style["bg"])
    layer, _ = _text_layer(str(n), load_font(style["font"], style["size"]), style["fg"], style["angle"])
    x = min(place[0], max(0, FRAME_SIZE - layer.width))
    y = min(place[1], max(0, FRAME_SIZE - layer.height))
    canvas.paste(layer, (x, y), layer)
    return np.asarray(_noisy(canvas, rng, 8))  # [H, W, 3]


def number_frames(numbers: Sequence[int], rng: random.Random, offsets: Sequence[int]) -> np.ndarray:
    """Frames `[len(numbers) * len(offsets), 64, 64, 3]` of a clip showing `numbers` in turn: for
    each number the frames at `offsets` within its `FRAMES_PER_NUMBER` (all of them for a file,
    `SAMPLED_OFFSETS` for what the app feeds the model). One font and colours per clip; each
    number has its own place, size and tilt; every frame its own noise."""
    clip = {"font": rng.choice(font_names("train")), "bg": _light(rng), "fg": _dark(rng)}
    frames = []
    for n in numbers:
        style = clip | {"size": rng.randint(28, 44), "angle": rng.uniform(-6, 6)}
        place = (rng.randint(0, 40), rng.randint(0, 24))
        frames += [_number_frame(n, style, place, rng) for _ in offsets]
    return np.stack(frames)


def write_mp4(path: str | Path, frames: np.ndarray, fps: int = CLIP_FPS) -> None:
    """H.264 (yuv420p, crf 18) MP4, as the app's examples are written."""
    import av

    _, h, w, _ = frames.shape
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "18", "preset": "medium"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def jpeg_roundtrip(im: Image.Image, rng: random.Random) -> Image.Image:
    """The picture after a JPEG save at a random quality (60-95): what uploads often are."""
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=rng.randint(60, 95))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def yuv420_roundtrip(frames: np.ndarray) -> np.ndarray:
    """The chroma subsampling an H.264 file applies (BT.601 limited range, 2x2 chroma averages),
    in numpy, for training frames that never see a file. `frames`: [T, H, W, 3] uint8, even H, W."""
    f = frames.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    cb = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    cr = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    t, h, w = y.shape

    def sub(c: np.ndarray) -> np.ndarray:
        c = np.round(c.reshape(t, h // 2, 2, w // 2, 2).mean((2, 4)))
        return c.repeat(2, 1).repeat(2, 2)

    y, cb, cr = np.round(y) - 16, sub(cb) - 128, sub(cr) - 128
    out = np.stack(
        [1.164 * y + 1.596 * cr, 1.164 * y - 0.392 * cb - 0.813 * cr, 1.164 * y + 2.017 * cb], axis=-1
    )
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
