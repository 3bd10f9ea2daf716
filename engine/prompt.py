"""Conversations -> model inputs.

Owns: `Turn` (one message of a conversation, with its media) and turning a
list of turns into chat-template messages and then tokenizer/processor
outputs that the decode loop takes as its prefill. Leaves media validation
to `media.py` and the loop to `decode.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from engine.config import STEP_BY_STEP_SUFFIX, DecodeSettings
from engine.errors import PromptTooLong, RioError
from engine.media import MediaLimits, check_media, load_image, load_video, trim_margins

if TYPE_CHECKING:
    from engine.steps import StepRuntime as Runtime


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    text: str
    images: tuple[str, ...] = ()  # file paths
    videos: tuple[str, ...] = ()  # file paths
    thinking: str = ""  # an assistant turn's thinking text (templates may drop it)


@dataclass(frozen=True)
class Prepared:
    """A prompt ready for `decode`: processor/tokenizer outputs and facts about it."""

    inputs: dict  # input_ids, attention_mask, and pixel inputs when media is present
    prompt_tokens: int
    opens_thinking: bool  # the rendered prompt ends inside an open <think> block


WORD_JOINER = "\u2060"  # invisible; splits a control-token string typed as text


def control_strings(tokenizer) -> tuple[str, ...]:
    """Every added/special token string (`<|im_start|>`, `<think>`, `<|image_pad|>`...),
    longest first."""
    found = {t.content for t in getattr(tokenizer, "added_tokens_decoder", {}).values()}
    found.update(getattr(tokenizer, "all_special_tokens", []))
    return tuple(sorted((s for s in found if len(s) > 1), key=len, reverse=True))


def neutralize(text: str, controls: Sequence[str]) -> str:
    """Make control-token strings in user text plain text: a word joiner after the
    first character keeps them visible but stops the tokenizer (and the processor's
    media-pad expansion) from reading them as control tokens."""
    for s in controls:
        if s in text:
            text = text.replace(s, s[0] + WORD_JOINER + s[1:])
    return text


def build_messages(
    turns: Sequence[Turn], settings: DecodeSettings, multimodal: bool, controls: Sequence[str] = ()
) -> list[dict]:
    """Chat-template messages (a system message first when the settings have one). Earlier
    assistant turns carry their answer only: Qwen templates drop thinking from history, and so
    do we for every model. Text is passed through `neutralize`, so typed control tokens stay text."""
    if not turns or turns[-1].role != "user":
        raise RioError("The conversation must end with a user message.")
    if not turns[-1].text.strip() and not (turns[-1].images or turns[-1].videos):
        raise RioError("The message is empty: type a question or attach an image or video.")
    messages: list[dict] = []
    if settings.system_prompt.strip():
        system = neutralize(settings.system_prompt, controls)
        messages.append(
            {"role": "system", "content": system if not multimodal else [{"type": "text", "text": system}]}
        )
    for i, turn in enumerate(turns):
        text = neutralize(turn.text, controls)
        if settings.step_by_step_suffix and i == len(turns) - 1:
            text = f"{text}\n{STEP_BY_STEP_SUFFIX}" if text else STEP_BY_STEP_SUFFIX
        if not multimodal:
            messages.append({"role": turn.role, "content": text})
            continue
        parts: list[dict] = [{"type": "image"} for _ in turn.images]
        parts += [{"type": "video"} for _ in turn.videos]
        parts.append({"type": "text", "text": text})
        messages.append({"role": turn.role, "content": parts})
    return messages


def prepare(
    rt: Runtime,
    turns: Sequence[Turn],
    settings: DecodeSettings,
    limits: MediaLimits | None = None,
    max_prompt_tokens: int | None = None,
) -> Prepared:
    """Turns -> model inputs, refusing media the model cannot read and prompts
    that do not fit (`PromptTooLong`, with the token count)."""
    images = [p for t in turns for p in t.images]
    videos = [p for t in turns for p in t.videos]
    check_media(images, videos, rt.modalities)
    multimodal = rt.processor is not None
    messages = build_messages(turns, settings, multimodal, control_strings(rt.tokenizer))
    template_kw = {"add_generation_prompt": True, "enable_thinking": settings.thinking}
    if multimodal:
        text = rt.processor.apply_chat_template(messages, tokenize=False, **template_kw)
        inputs = _processor_inputs(rt, text, images, videos, limits or MediaLimits())
    else:
        text = rt.tokenizer.apply_chat_template(messages, tokenize=False, **template_kw)
        inputs = dict(rt.tokenizer(text, return_tensors="pt", add_special_tokens=False))
    n = int(inputs["input_ids"].shape[-1])
    budget = min(rt.context_length, max_prompt_tokens or rt.context_length)
    if n + settings.max_new_tokens > rt.context_length or n > budget:
        raise PromptTooLong(
            f"The prompt is {n:,} tokens; with up to {settings.max_new_tokens:,} new tokens it does not fit "
            f"{rt.name}'s limit of {budget:,} tokens. Shorten the message, clear earlier turns, or "
            "lower max new tokens."
        )
    opens = rt.has_think_tokens and text.rstrip().endswith("<think>")
    return Prepared(inputs, n, opens)


def _processor_inputs(
    rt: Runtime, text: str, images: list[str], videos: list[str], limits: MediaLimits
) -> dict:
    pil = [load_image(p, limits) for p in images]
    if rt.trim_margins:  # the model folder's reading fact
        pil = [trim_margins(im) for im in pil]
    clips = [load_video(p, limits) for p in videos]
    kwargs: dict = {"text": [text], "return_tensors": "pt"}
    if pil:
        kwargs["images"] = pil
    if clips:
        kwargs["videos"] = [c.frames for c in clips]
        kwargs["video_metadata"] = [c.metadata() for c in clips]
        kwargs["do_sample_frames"] = False
    return dict(rt.processor(**kwargs))
