"""Synthetic pictures and clips for the tiny model's vision tasks, drawn with Pillow and PyAV.

Owns: the fonts (Pillow's default font and Debian's DejaVu fonts, when installed), the three
renderers (`expression_image`: an arithmetic expression, dark on light, random canvas, font, size,
position, slight rotation and noise; `shapes_image`: coloured squares among circles and
triangles on a hidden 4x4 grid of 32-pixel cells, one vision token each; `number_frames`: the
frames of a clip in which numbers appear one after another) and `write_mp4`.

Video timing. The app samples a video at 2 frames per second (`engine.media.MediaLimits.video_fps`)
and the processor pairs consecutive sampled frames into one temporal patch (`temporal_patch_size`
2). A clip here runs at `CLIP_FPS` = 4 with each number held for `FRAMES_PER_NUMBER` = 4 frames
(one second): the sampled frames are 0 and 2 of each number, so every temporal patch shows one
number, and a sampling that lands one frame late still sees the same number.
Leaves the tasks' words and answers to `tiny_moe_data.py`. Everything is seeded by its caller.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
DEJAVU_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
)
DEFAULT_FONT = "pillow-default"  # Pillow's built-in font (Aileron); it has no − or × glyph
OPS = {"+": "+", "-": "\u2212", "×": "\u00d7"}  # trace symbol -> symbol drawn (DejaVu)
ASCII_OPS = {"+": "+", "-": "-", "×": "x"}  # what the default font draws instead
CLIP_FPS = 4
FRAMES_PER_NUMBER = 4  # one second per number at CLIP_FPS
SAMPLED_OFFSETS = (0, 2)  # the frames of a number that 2-fps sampling takes
FRAME_SIZE = 64  # video frames are square, 2x2 vision tokens
GRID = 4  # shapes images: GRID x GRID cells
CELL = 32  # pixels per cell (one vision token: a 2x2 merge of 16-pixel patches)
PALETTE = (
    (220, 40, 40),
    (30, 90, 220),
    (30, 160, 60),
    (240, 140, 20),
    (140, 50, 190),
    (20, 160, 170),
    (200, 40, 150),
    (120, 80, 40),
)


@functools.cache
def font_names() -> tuple[str, ...]:
    """The fonts this machine has: Pillow's default and every DejaVu file found."""
    found = tuple(f for f in DEJAVU_FILES if (DEJAVU_DIR / f).is_file())
    return (DEFAULT_FONT, *found)


@functools.cache
def load_font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if name == DEFAULT_FONT:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(DEJAVU_DIR / name), size)


def draw_symbol(op: str, font: str) -> str:
    """The glyph drawn for a trace operator: the real minus and times signs where the font has them."""
    return (ASCII_OPS if font == DEFAULT_FONT else OPS)[op]


def _light(rng: random.Random) -> tuple[int, int, int]:
    base = rng.randint(205, 255)
    return tuple(min(255, max(0, base + rng.randint(-12, 12))) for _ in range(3))


def _dark(rng: random.Random) -> tuple[int, int, int]:
    base = rng.randint(0, 80)
    return tuple(min(255, max(0, base + rng.randint(-15, 15))) for _ in range(3))


def _noisy(im: Image.Image, rng: random.Random, sigma_max: float) -> Image.Image:
    """Gaussian pixel noise of a random strength up to `sigma_max` (0-255 scale)."""
    sigma = rng.uniform(0, sigma_max)
    a = np.asarray(im, dtype=np.float32)  # [H, W, 3]
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, sigma, a.shape)
    return Image.fromarray(np.clip(a + noise, 0, 255).astype(np.uint8))


def _text_layer(text: str, font, fg: tuple[int, int, int], angle: float) -> tuple[Image.Image, list[float]]:
    """The text on a transparent layer cropped to its ink, rotated by `angle` degrees, and the
    x of each character's centre on that layer (the rotation taken about the line's middle)."""
    left, top, right, bottom = font.getbbox(text)
    layer = Image.new("RGBA", (right - left + 8, bottom - top + 8), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((4 - left, 4 - top), text, font=font, fill=(*fg, 255))
    xs = [4 - left + font.getlength(text[:i]) + font.getlength(c) / 2 for i, c in enumerate(text)]
    w0 = layer.width
    layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    box = layer.getbbox()
    cos = math.cos(math.radians(angle))
    xs = [layer.width / 2 + (x - w0 / 2) * cos - box[0] for x in xs]
    return layer.crop(box), xs


def _paste_text(canvas: Image.Image, layer: Image.Image, rng: random.Random) -> tuple[int, int]:
    w, h = canvas.size
    x = rng.randint(0, max(0, w - layer.width))
    y = rng.randint(0, max(0, h - layer.height))
    canvas.paste(layer, (x, y), layer)
    return x, y


def expression_image(a: int, op: str, b: int, rng: random.Random) -> tuple[Image.Image, tuple]:
    """`a op b` dark on light: random canvas (224-320 x 64-96 px), font, size (30-44 px), place,
    rotation (up to 5 degrees) and noise; spaces around the operator most of the time. Also
    the characters drawn, as (trace symbol, x of its centre in pixels), left to right."""
    font_name = rng.choice(font_names())
    sym = draw_symbol(op, font_name)
    text = f"{a} {sym} {b}" if rng.random() < 0.8 else f"{a}{sym}{b}"
    w, h = rng.randint(224, 320), rng.randint(64, 96)
    fg, angle = _dark(rng), rng.uniform(-5, 5)
    for size in range(rng.randint(30, 44), 11, -2):  # shrink until it fits the canvas
        layer, xs = _text_layer(text, load_font(font_name, size), fg, angle)
        if layer.width <= w - 4 and layer.height <= h - 4:
            break
    canvas = Image.new("RGB", (w, h), _light(rng))
    x0, _ = _paste_text(canvas, layer, rng)
    symbols = {v: k for k, v in (ASCII_OPS if font_name == DEFAULT_FONT else OPS).items()}
    chars = tuple((symbols.get(c, c), x0 + x) for c, x in zip(text, xs, strict=True) if c != " ")
    return _noisy(canvas, rng, 10), chars


def _draw_shape(draw: ImageDraw.ImageDraw, kind: str, cell: tuple[int, int], rng: random.Random) -> None:
    """One filled shape inside grid cell (row, col), with a random size, offset and colour."""
    s = rng.randint(12, 24)
    x0 = cell[1] * CELL + rng.randint(3, CELL - s - 3)
    y0 = cell[0] * CELL + rng.randint(3, CELL - s - 3)
    color = rng.choice(PALETTE)
    if kind == "square":
        draw.rectangle((x0, y0, x0 + s, y0 + s), fill=color)
    elif kind == "circle":
        draw.ellipse((x0, y0, x0 + s, y0 + s), fill=color)
    else:  # triangle
        draw.polygon(((x0 + s / 2, y0), (x0, y0 + s), (x0 + s, y0 + s)), fill=color)


def shapes_image(layout: Sequence[str], rng: random.Random) -> Image.Image:
    """A 128x128 picture: `layout[r * GRID + c]` is "square", "circle", "triangle" or "" per cell."""
    canvas = Image.new("RGB", (GRID * CELL, GRID * CELL), _light(rng))
    draw = ImageDraw.Draw(canvas)
    for i, kind in enumerate(layout):
        if kind:
            _draw_shape(draw, kind, divmod(i, GRID), rng)
    return _noisy(canvas, rng, 8)


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
    clip = {"font": rng.choice(font_names()), "bg": _light(rng), "fg": _dark(rng)}
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
    """The picture after a JPEG save at a random quality (70-95): what uploads often are."""
    import io

    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=rng.randint(70, 95))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def yuv420_roundtrip(frames: np.ndarray) -> np.ndarray:
    """The chroma subsampling an H.264 file applies, for training frames that never see a file."""
    import av

    out = [
        av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p").to_ndarray(format="rgb24")
        for f in frames
    ]
    return np.stack(out)
