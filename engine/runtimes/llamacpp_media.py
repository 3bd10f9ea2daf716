"""Images and video frames for the llama.cpp runtime, through the model's mmproj and libmtmd.

Owns: `MtmdProcessor`, the runtime's `processor`: it renders the chat
template with image and video parts (the tokenizer's own template, as the
torch processor does), puts libmtmd's media marker where the template wrote
a Qwen-style vision block (`<|vision_start|><|image_pad|><|vision_end|>`;
libmtmd writes the start and end tokens itself), turns every image and every
sampled video frame into an mtmd bitmap in prompt order, and tokenizes it
all into mtmd chunks; `eval_chunks` prefills those chunks into one sequence
of the llama.cpp context and returns the next position (multimodal rope
models advance fewer positions than tokens). A video is fed as its sampled
frames, one image each. Leaves media validation and frame sampling to
`engine/media.py`, and the text path to `llamacpp.py`.

The prepared inputs are `{"input_ids": [1, N] (text tokens, with the image
pad id standing in for each media token), "mtmd_chunks": MtmdChunks}`, so
prompt budgets and traces count the tokens the model really reads.
"""

from __future__ import annotations

import ctypes
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.errors import MediaError, ModelUnavailable

VISION_BLOCK = re.compile(r"<\|vision_start\|>(<\|image_pad\|>|<\|video_pad\|>)<\|vision_end\|>")


def _mtmd() -> Any:
    import llama_cpp.mtmd_cpp as mtmd

    return mtmd


class MtmdChunks:
    """A tokenized multimodal prompt (libmtmd's chunk list), freed with this object."""

    def __init__(self, mtmd: Any, handle: Any) -> None:
        self.mtmd, self.handle = mtmd, handle

    def __del__(self) -> None:
        if self.handle:
            self.mtmd.mtmd_input_chunks_free(self.handle)
            self.handle = None


class MtmdProcessor:
    """The llama.cpp runtime's processor: chat template with media, and mtmd tokenization."""

    def __init__(self, mmproj: Path, model: Any, tokenizer: Any, threads: int) -> None:
        self.mtmd, self.tokenizer = _mtmd(), tokenizer
        params = self.mtmd.mtmd_context_params_default()
        params.use_gpu, params.n_threads, params.print_timings, params.warmup = False, threads, False, False
        self.ctx = self.mtmd.mtmd_init_from_file(str(mmproj).encode(), model, params)
        if not self.ctx:
            raise ModelUnavailable(f"llama.cpp could not load the projector '{mmproj}' for this model.")
        if not self.mtmd.mtmd_support_vision(self.ctx):
            raise ModelUnavailable(f"'{mmproj}' has no vision encoder.")
        self.marker = self.mtmd.mtmd_default_marker().decode()
        self.pad_id = int(tokenizer.convert_tokens_to_ids("<|image_pad|>") or 0)
        self.lock = threading.Lock()  # one mtmd context: tokenize and eval one at a time

    def apply_chat_template(self, messages: list[dict], **kwargs: Any) -> str:
        return self.tokenizer.apply_chat_template(messages, **kwargs)

    def __call__(
        self, text: list[str], images: list | None = None, videos: list | None = None, **_: Any
    ) -> dict:
        """Tokenize one prompt with its media (images: PIL, videos: frame arrays `[T, H, W, 3]`)."""
        images, videos = list(images or []), list(videos or [])
        prompt, frames = self._place_media(text[0], images, videos)
        bitmaps = [self._bitmap(f) for f in frames]
        try:
            chunks = self._tokenize(prompt, bitmaps)
        finally:
            for b in bitmaps:
                self.mtmd.mtmd_bitmap_free(b)
        ids = torch.tensor([self._ids(chunks)])  # [1, N]
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "mtmd_chunks": chunks}

    def _place_media(self, prompt: str, images: list, videos: list) -> tuple[str, list[np.ndarray]]:
        """The marker for every vision block (one per frame for a video), and the frames in order."""
        frames: list[np.ndarray] = []

        def replace(m: re.Match) -> str:
            if m.group(1) == "<|image_pad|>":
                frames.append(np.asarray(images.pop(0).convert("RGB"), dtype=np.uint8))
                return self.marker
            clip = videos.pop(0)
            frames.extend(np.asarray(f, dtype=np.uint8) for f in clip)
            return self.marker * len(clip)

        try:
            return VISION_BLOCK.sub(replace, prompt), frames
        except IndexError as err:
            raise MediaError("The prompt names more images or videos than were attached.") from err

    def _bitmap(self, frame: np.ndarray) -> Any:
        frame = np.ascontiguousarray(frame)  # [H, W, 3] uint8
        h, w = frame.shape[:2]
        bitmap = self.mtmd.mtmd_bitmap_init(w, h, frame.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))
        if not bitmap:
            raise MediaError("llama.cpp could not take an image of this size.")
        return bitmap

    def _tokenize(self, prompt: str, bitmaps: list) -> MtmdChunks:
        raw = prompt.encode()
        text = self.mtmd.mtmd_input_text()
        text.text, text.text_len, text.add_special, text.parse_special = raw, len(raw), False, True
        arr = (self.mtmd.mtmd_bitmap_p_ctypes * max(1, len(bitmaps)))(*bitmaps)
        chunks = MtmdChunks(self.mtmd, self.mtmd.mtmd_input_chunks_init())
        with self.lock:
            rc = self.mtmd.mtmd_tokenize(self.ctx, chunks.handle, ctypes.byref(text), arr, len(bitmaps))
        if rc != 0:
            raise MediaError(f"llama.cpp could not read the attached media (mtmd_tokenize code {rc}).")
        return chunks

    def _ids(self, chunks: MtmdChunks) -> list[int]:
        m, out = self.mtmd, []
        for i in range(m.mtmd_input_chunks_size(chunks.handle)):
            chunk = m.mtmd_input_chunks_get(chunks.handle, i)
            if m.mtmd_input_chunk_get_type(chunk) == 0:  # text
                n = ctypes.c_size_t(0)
                ptr = m.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
                out += [int(ptr[k]) for k in range(n.value)]
            else:
                out += [self.pad_id] * int(m.mtmd_input_chunk_get_n_tokens(chunk))
        return out

    def eval_chunks(self, lib: Any, ctx: Any, chunks: MtmdChunks, seq_id: int, n_batch: int) -> int:
        """Prefill the chunks into sequence `seq_id` from position 0; the next position."""
        new_past = lib.llama_pos(0)
        with self.lock:
            rc = self.mtmd.mtmd_helper_eval_chunks(
                self.ctx, ctx, chunks.handle, 0, seq_id, n_batch, True, ctypes.byref(new_past)
            )
        if rc != 0:
            raise RuntimeError(f"llama.cpp failed to encode the prompt's media (code {rc})")
        return int(new_past.value)

    def close(self) -> None:
        if self.ctx:
            self.mtmd.mtmd_free(self.ctx)
            self.ctx = None


def find_mmproj(gguf: Path) -> Path | None:
    """The projector beside a model file, as GGUF repositories ship it (`mmproj*.gguf`)."""
    found = sorted(p for p in gguf.parent.glob("*.gguf") if "mmproj" in p.name.lower() and p != gguf)
    return found[0] if found else None
