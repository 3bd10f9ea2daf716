"""Runtime loading details: the cached copy of the bundled GGUF model is the same model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.models.paths import cache_root
from engine.runtimes.torch_runtime import SMOLLM2_CACHE, load_runtime

pytestmark = pytest.mark.model


def test_cached_safetensors_copy_gives_the_same_logits_as_the_gguf(smollm2_runtime):
    # the session fixture converted the GGUF (fresh RIO_CACHE) and wrote the copy
    cached = cache_root() / SMOLLM2_CACHE
    assert (cached / "model.safetensors").is_file()
    from safetensors import safe_open

    with safe_open(str(cached / "model.safetensors"), framework="pt") as f:
        names = set(f.keys())  # the tied embedding under the name vLLM and llama.cpp read
    assert "model.embed_tokens.weight" in names and "lm_head.weight" not in names
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


def _file_backed(ptr: int) -> str | None:
    """The file a private mapping at `ptr` reads, if any (Linux's /proc/self/maps)."""
    for line in Path("/proc/self/maps").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        if lo <= ptr < hi:
            return fields[5] if len(fields) > 5 and fields[5].startswith("/") else None
    return None


@pytest.mark.model
@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="reads Linux's /proc/self/maps")
def test_cpu_weights_live_in_process_memory_not_in_the_mapped_file(smollm2_runtime, tiny_moe_runtime):
    """Decode steps stream every weight; from file-backed pages a SmolLM2 step took 1.5x as long."""
    for rt in (smollm2_runtime, tiny_moe_runtime):
        files = {_file_backed(p.data_ptr()) for p in rt.model.parameters()}
        assert files == {None}, f"{rt.name}: weights mapped from {files - {None}}"


def test_on_own_thread_returns_the_result_and_raises_the_error_on_the_caller():
    import threading

    from engine.runtimes.threads import on_own_thread

    main = threading.get_ident()
    assert on_own_thread(lambda a, b=0: (a + b, threading.get_ident() != main), 2, b=3) == (5, True)

    def fail() -> None:
        raise ValueError("no such model")

    with pytest.raises(ValueError, match="no such model"):
        on_own_thread(fail)


@pytest.mark.parametrize("name", ["smollm2_runtime", "tiny_moe_runtime"])  # byte-level BPE, Qwen-style
def test_line_end_ids_are_exactly_the_tokens_that_hold_a_line_break(name, request):
    rt = request.getfixturevalue(name)
    tok = rt.tokenizer
    assert tok.encode("\n", add_special_tokens=False)[0] in rt.line_end_ids
    assert all("\n" in tok.decode([i]) for i in rt.line_end_ids)
    sample = range(0, min(len(tok), rt.vocab_size), 7)  # every 7th id, decoded the slow way
    assert {i for i in sample if "\n" in tok.decode([i])} == {i for i in sample if i in rt.line_end_ids}
