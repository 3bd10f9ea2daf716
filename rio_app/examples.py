"""Example prompts, with a small picture and a short clip generated at start-up.

Owns: `examples(modalities, lang)`, the Chatbot's example messages in the
visitor's language for a model that reads `modalities`. The media are drawn
here (Pillow, PyAV) into the system temp folder, which Gradio serves without
extra `allowed_paths`, so nothing binary ships in the repository.
Leaves the wiring (clicking an example fills the message box) to `layout.py`.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FOLDER = Path(tempfile.gettempdir()) / "rio-chat-examples"

# (label, question) per language: what the default model (smollm2-think, its calculator on)
# answers right with the method the page preselects (SwiReasoning, sampled) at every seed tried,
# and greedy. Chosen by running candidates through the engine (tasks/page_examples.jsonl); the
# numbers are in docs/MODEL-smollm2-think.md.
TEXT_EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        (
            "Notebooks and change",
            "I bought 3 notebooks at 7 dollars each and paid with a 50 dollar bill. How much change should I get?",
        ),
        (
            "Stamps (two steps)",
            "Emma has 25 stamps. She gets 10 more, and then 4 more. How many stamps does Emma have now?",
        ),
        ("Capital of France", "What is the capital of France?"),
    ),
    "pt-BR": (
        ("Salário de 5 dias", "Ganho 60 reais por dia de trabalho. Quanto ganho em 5 dias?"),
        (
            "Cartas (dois passos)",
            "Mariana tem 25 cartas. Ela ganha mais 10 e depois mais 4. Quantas cartas Mariana tem agora?",
        ),
        ("Balas que sobram", "Um pote tem 50 balas. Pedro come 12. Quantas balas sobram?"),
    ),
}
MEDIA_EXAMPLES: dict[str, dict[str, tuple[str, str]]] = {  # (label, question) by kind
    "en": {
        "image": ("Expression picture", "What is the result of the expression in the image?"),
        "video": ("Numbers clip", "What is the sum of the numbers shown in the video?"),
    },
    "pt-BR": {
        "image": ("Imagem de uma conta", "Qual é o resultado da expressão na imagem?"),
        "video": ("Vídeo de números", "Qual é a soma dos números mostrados no vídeo?"),
    },
}
VIDEO_NUMBERS = (3, 5, 8)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _font(size: int):
    """DejaVu Sans where Debian ships it (it has the real × sign), else Pillow's own font."""
    if DEJAVU.is_file():
        return ImageFont.truetype(str(DEJAVU), size), "\u00d7"
    return ImageFont.load_default(size=size), "x"


@lru_cache(maxsize=1)
def example_image() -> str:
    """A 256×80 PNG of the expression 27 × 3, dark on light, for "what is the result"."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / "expression.png"
    font, times = _font(40)
    im = Image.new("RGB", (256, 80), (236, 234, 228))
    ImageDraw.Draw(im).text((128, 40), f"27 {times} 3", font=font, fill=(30, 30, 40), anchor="mm")
    im.save(path)
    return str(path)


@lru_cache(maxsize=1)
def example_video() -> str:
    """A 3-second 64×64 H.264 clip at 4 fps: the numbers 3, 5 and 8, one a second."""
    import av

    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / "numbers.mp4"
    font, _ = _font(40)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=4)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for n in VIDEO_NUMBERS:
            im = Image.new("RGB", (64, 64), (236, 234, 228))
            ImageDraw.Draw(im).text((32, 32), str(n), font=font, fill=(30, 30, 40), anchor="mm")
            frame = av.VideoFrame.from_ndarray(np.asarray(im), format="rgb24")  # [64, 64, 3]
            for _ in range(4):
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return str(path)


def examples(modalities: frozenset[str], lang: str = "en") -> list[dict]:
    """Example messages in `lang` for a model reading `modalities` (media ones only if it can
    read them)."""
    lang = lang if lang in TEXT_EXAMPLES else "en"
    out = [{"text": q, "display_text": label} for label, q in TEXT_EXAMPLES[lang]]
    media = MEDIA_EXAMPLES[lang]
    if "image" in modalities:
        label, question = media["image"]
        out.append({"text": question, "files": [example_image()], "display_text": label})
    if "video" in modalities:
        label, question = media["video"]
        out.append({"text": question, "files": [example_video()], "display_text": label})
    return out
