"""Runtime loading details: the cached copy of the bundled GGUF model is the same model."""

from __future__ import annotations

import pytest
import torch

from engine.presets import cache_root
from engine.runtime import SMOLLM2_CACHE, load_runtime

pytestmark = pytest.mark.model


def test_cached_safetensors_copy_gives_the_same_logits_as_the_gguf(smollm2_runtime):
    # the session fixture converted the GGUF (fresh RIO_CACHE) and wrote the copy
    cached = cache_root() / SMOLLM2_CACHE
    assert (cached / "model.safetensors").is_file()
    again = load_runtime("smollm2-offline")  # now from the copy
    assert again.model is not smollm2_runtime.model
    ids = smollm2_runtime.tokenizer("The capital of Brazil is", return_tensors="pt")["input_ids"]
    assert (
        again.tokenizer("The capital of Brazil is", return_tensors="pt")["input_ids"].tolist() == ids.tolist()
    )
    with torch.inference_mode():
        a = smollm2_runtime.model(input_ids=ids).logits
        b = again.model(input_ids=ids).logits
    torch.testing.assert_close(a, b)
    assert again.eos_ids == smollm2_runtime.eos_ids
    assert again.tokenizer.chat_template == smollm2_runtime.tokenizer.chat_template
