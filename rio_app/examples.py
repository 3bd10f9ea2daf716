"""Example prompts, with a small picture and a short clip generated at start-up.

Owns: `examples(modalities)`, the Chatbot's example messages for a model
that reads `modalities`. The media are drawn here (Pillow, PyAV) into the
system temp folder, which Gradio serves without extra `allowed_paths`, so
nothing binary ships in the repository.
Leaves the wiring (clicking an example fills the message box) to `layout.py`.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

FOLDER = Path(tempfile.gettempdir()) / "rio-chat-examples"

TEXT_EXAMPLES: tuple[dict, ...] = (
    {"text": "What is 17 × 24? Reason step by step.", "display_text": "17 × 24, step by step"},
    {"text": "Escreva um haicai sobre o Pão de Açúcar ao entardecer.", "display_text": "Haicai (pt-BR)"},
    {
        "text": "A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much is the ball?",
        "display_text": "Bat and ball",
    },
)


@lru_cache(maxsize=1)
def example_image() -> str:
    """A 128×96 PNG: three coloured shapes on a sky, for "describe this picture"."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / "shapes.png"
    im = Image.new("RGB", (128, 96), (135, 190, 235))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 70, 127, 95), fill=(70, 150, 80))  # grass
    d.ellipse((92, 8, 118, 34), fill=(250, 210, 60))  # sun
    d.polygon([(20, 70), (45, 30), (70, 70)], fill=(120, 110, 100))  # hill
    d.rectangle((80, 50, 100, 70), fill=(200, 60, 50))  # house
    im.save(path)
    return str(path)


@lru_cache(maxsize=1)
def example_video() -> str:
    """A 2-second 64×48 H.264 clip of a red ball moving left to right."""
    import av

    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / "ball.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(16):
            frame = np.full((48, 64, 3), 230, np.uint8)  # [H, W, 3]
            x = 4 + i * 3
            frame[18:30, x : x + 12] = (220, 40, 40)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return str(path)


def examples(modalities: frozenset[str]) -> list[dict]:
    """Example messages for a model reading `modalities` (media ones only if it can read them)."""
    out = [dict(e) for e in TEXT_EXAMPLES]
    if "image" in modalities:
        out.append({"text": "Describe this picture.", "files": [example_image()], "display_text": "Picture"})
    if "video" in modalities:
        out.append(
            {"text": "What moves in this clip?", "files": [example_video()], "display_text": "Video clip"}
        )
    return out
