"""Prompt building against the real Qwen3.5 chat template and token layout (engine/models/data/qwen3_5/).

The template file is the one Qwen ships with Qwen3.5 (found in public
copies; its first line says where). These tests render the project's own
messages (`engine.prompt.build_messages`) with it: the generation prompt with
thinking on and off (does the template open `<think>` itself?), history with
thinking stripped, image and video placeholders, a system prompt.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import DecodeSettings
from engine.prompt import Turn, build_messages

DATA = Path(__file__).resolve().parent.parent / "engine" / "models" / "data" / "qwen3_5"
TEMPLATE = (DATA / "chat_template.jinja").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def render():
    """Render messages with the real template (jinja through transformers, any tokenizer object)."""
    from transformers.utils.chat_template_utils import render_jinja_template

    def go(messages: list[dict], **kwargs) -> str:
        out, _ = render_jinja_template(
            conversations=[messages], chat_template=TEMPLATE, add_generation_prompt=True, **kwargs
        )
        return out[0]

    return go


def msgs(turns, multimodal=True, **settings):
    return build_messages(turns, DecodeSettings(**settings), multimodal)


def test_thinking_on_opens_think_and_off_closes_an_empty_block(render):
    turns = [Turn("user", "What is 2+2?")]
    on = render(msgs(turns), enable_thinking=True)
    off = render(msgs(turns), enable_thinking=False)
    assert on.endswith("<|im_start|>assistant\n<think>\n")
    assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert on.startswith("<|im_start|>user\nWhat is 2+2?<|im_end|>\n")  # no default system prompt
    # engine.prompt.prepare marks only the first as a run that starts inside its thinking
    assert on.rstrip().endswith("<think>") and not off.rstrip().endswith("<think>")


def test_history_is_rendered_without_its_thinking(render):
    turns = [
        Turn("user", "First?"),
        Turn("assistant", "One.", thinking="some private reasoning"),
        Turn("user", "Second?"),
    ]
    out = render(msgs(turns), enable_thinking=True)
    assert "private reasoning" not in out
    assert "<|im_start|>assistant\nOne.<|im_end|>\n<|im_start|>user\nSecond?" in out


def test_image_and_video_parts_become_vision_blocks_in_order(render):
    turns = [Turn("user", "Compare them.", images=("a.png",), videos=("b.mp4",))]
    out = render(msgs(turns), enable_thinking=True)
    img = "<|vision_start|><|image_pad|><|vision_end|>"
    vid = "<|vision_start|><|video_pad|><|vision_end|>"
    assert f"<|im_start|>user\n{img}{vid}Compare them.<|im_end|>" in out


def test_system_prompt_comes_first(render):
    turns = [Turn("user", "Hi")]
    out = render(msgs(turns, system_prompt="Answer in Portuguese."), enable_thinking=False)
    assert out.startswith("<|im_start|>system\nAnswer in Portuguese.<|im_end|>\n<|im_start|>user\nHi")
