"""Hand-made pictures for tiny-moe: what a user draws, made without the training generator.

Each picture is drawn here with Pillow directly (no `train.tiny_moe_media`): Pillow's default
font at 160 x 64, DejaVu Sans at 22 px, plain squares on white, and so on. The files live in
`tasks/tiny_moe/hand/` with `tasks/tiny_moe/hand.jsonl` for the evaluation harness:

    python -m engine.eval --model tiny-moe --tasks tasks/tiny_moe/hand.jsonl --methods cot-greedy --budgets 320

reports how many the model reads (the model card gives the number; no test here depends on the
weights). `python -m tests.test_tiny_moe_hand` rewrites the files.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
TASKS = ROOT / "tasks" / "tiny_moe"
FONTS = Path("/usr/share/fonts/truetype")
EXPR_Q = "What is the result of the expression in the image?"
SHAPES_Q = "How many squares are in the image?"


def _font(rel: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / rel), size)


def _text(size, text, font, xy, fg=(0, 0, 0), bg=(255, 255, 255)) -> Image.Image:
    im = Image.new("RGB", size, bg)
    ImageDraw.Draw(im).text(xy, text, font=font, fill=fg)
    return im


def _squares(size, boxes, others=(), bg=(255, 255, 255)) -> Image.Image:
    im = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(im)
    for x, y, s, colour in boxes:
        d.rectangle((x, y, x + s, y + s), fill=colour)
    for kind, x, y, s, colour in others:
        if kind == "circle":
            d.ellipse((x, y, x + s, y + s), fill=colour)
        else:
            d.polygon(((x + s / 2, y), (x, y + s), (x + s, y + s)), fill=colour)
    return im


def pictures() -> list[tuple[str, str, str, Image.Image]]:
    """(id, question, answer, picture)."""
    red, green, blue, yellow = (220, 30, 30), (30, 160, 50), (30, 70, 220), (240, 200, 0)
    return [
        ("hand-default-7p5", EXPR_Q, "12", _text((160, 64), "7 + 5", ImageFont.load_default(), (10, 25))),
        ("hand-dejavu22-9x6", EXPR_Q, "54",
         _text((160, 64), "9 × 6", _font("dejavu/DejaVuSans.ttf", 22), (40, 18))),
        ("hand-four-squares", SHAPES_Q, "4",
         _squares((240, 120), [(20, 40, 36, red), (75, 40, 36, green), (130, 40, 36, blue), (185, 40, 36, yellow)])),
        ("hand-default-12m4", EXPR_Q, "8", _text((160, 64), "12 - 4", ImageFont.load_default(), (60, 28))),
        ("hand-dejavubold-23p19", EXPR_Q, "42",
         _text((240, 80), "23 + 19", _font("dejavu/DejaVuSans-Bold.ttf", 28), (50, 22), bg=(235, 235, 235))),
        ("hand-liberation-8x7", EXPR_Q, "56",
         _text((200, 64), "8 x 7", _font("liberation/LiberationSans-Regular.ttf", 26), (60, 16))),
        ("hand-mono-15t3", EXPR_Q, "45",
         _text((180, 50), "15 * 3", _font("dejavu/DejaVuSansMono.ttf", 20), (50, 12))),
        ("hand-serif-inverse-100m37", EXPR_Q, "63",
         _text((260, 80), "100 − 37", _font("dejavu/DejaVuSerif.ttf", 26), (60, 22), fg=(255, 255, 255),
               bg=(20, 30, 90))),
        ("hand-default20-6p7", EXPR_Q, "13", _text((120, 48), "6+7", ImageFont.load_default(size=20), (30, 12))),
        ("hand-two-squares-two-circles", SHAPES_Q, "2",
         _squares((160, 160), [(20, 20, 40, blue), (100, 100, 40, red)],
                  [("circle", 100, 20, 40, green), ("circle", 20, 100, 40, yellow)])),
        ("hand-six-squares", SHAPES_Q, "6",
         _squares((240, 160), [(30 + 70 * c, 30 + 60 * r, 40, blue) for r in range(2) for c in range(3)])),
        ("hand-three-squares-triangle", SHAPES_Q, "3",
         _squares((128, 128), [(10, 12, 24, red), (80, 30, 30, green), (30, 85, 28, (0, 0, 0))],
                  [("triangle", 80, 80, 32, blue)])),
    ]  # fmt: skip


def write(root: Path = TASKS) -> None:
    folder = root / "hand"
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for pid, question, answer, im in pictures():
        im.save(folder / f"{pid}.png")
        kind = "image" if question == EXPR_Q else "shapes"
        rec = {"id": pid, "question": question, "answer": answer, "lang": "en", "kind": kind, "match": "boxed",
               "images": [f"hand/{pid}.png"]}  # fmt: skip
        lines.append(json.dumps(rec, ensure_ascii=False) + "\n")
    (root / "hand.jsonl").write_text("".join(lines), encoding="utf-8")


def test_hand_pictures_do_not_use_the_generator():
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in imported if m.startswith("train")}


@pytest.mark.skipif(not (FONTS / "dejavu").is_dir() or not (FONTS / "liberation").is_dir(),
                    reason="the DejaVu and Liberation fonts are not installed")  # fmt: skip
def test_committed_hand_pictures_are_what_this_file_draws():
    for pid, _, _, im in pictures():
        saved = Image.open(TASKS / "hand" / f"{pid}.png").convert("RGB")
        assert saved.size == im.size
        diff = ImageChops.difference(saved, im).getbbox()
        assert diff is None, pid


def test_hand_task_file_loads_for_the_eval_harness():
    from engine.eval import load_tasks

    tasks = load_tasks(TASKS / "hand.jsonl")
    assert len(tasks) >= 6 and {t.kind for t in tasks} == {"image", "shapes"}
    assert all(Path(p).is_file() for t in tasks for p in t.images)
    assert sum(t.kind == "image" for t in tasks) >= 3 and sum(t.kind == "shapes" for t in tasks) >= 3


if __name__ == "__main__":
    write()
    print(f"wrote {TASKS / 'hand.jsonl'}")
