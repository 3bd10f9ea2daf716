"""The llama.cpp runtime: same loop, same events, same rule; parity with llama-cpp-python itself.

Runs the bundled SmolLM2 GGUF through `engine.runtimes.llamacpp.LlamaRuntime` and the
one decode loop: greedy tokens equal llama-cpp-python's own greedy
generation, an embedding fed for a token gives that token's logits, SwiReasoning
runs obey the rule on every step, cancel stops within one step, and bad files
or a missing library give clear errors with the app's fallback.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest
import torch

from engine.config import DecodeSettings, SamplingParams, SwirParams
from engine.errors import ModelUnavailable
from engine.events import Done, Step
from engine.prompt import Turn
from tests.swir_invariants import check_trace

pytestmark = pytest.mark.model
llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is in the test requirements")

PROMPTS = ["Write one sentence about the sea.", "What is 12 times 7?", "Liste três cores."]


@pytest.fixture(scope="session")
def llama_backend():
    from engine.backends.local import LocalBackend
    from engine.runtimes.llamacpp import LlamaOptions, load_llama

    return LocalBackend(load_llama("smollm2-offline", LlamaOptions(n_ctx=2048, threads=2)))


@pytest.fixture(scope="session")
def reference_llama():
    from engine.runtimes.llamacpp import gguf_for, reference_llama

    return reference_llama(gguf_for("smollm2-offline"), n_ctx=2048, n_threads=2, verbose=False)


def steps_of(events) -> list[Step]:
    return [e for e in events if isinstance(e, Step)]


@pytest.mark.parametrize("prompt", PROMPTS)
def test_greedy_tokens_equal_llama_cpp_pythons_own_generation(llama_backend, reference_llama, prompt):
    settings = DecodeSettings(method="cot-greedy", max_new_tokens=24)
    turns = [Turn("user", prompt)]
    ids = llama_backend.prepare(turns, settings).inputs["input_ids"][0].tolist()
    ours = [s.token_id for s in steps_of(llama_backend.chat(turns, settings))]
    gen = reference_llama.generate(ids, temp=0.0, top_k=1, repeat_penalty=1.0, reset=True)
    theirs = list(itertools.islice(gen, len(ours)))
    assert ours == theirs


def test_an_embedding_fed_for_a_token_gives_that_tokens_logits(llama_backend):
    rt = llama_backend.runtime
    inputs = {"input_ids": torch.tensor([[1, 9690, 198, 2683, 359]])}
    logits, cache = rt.prefill(inputs)
    tok = int(logits.argmax())
    by_id = rt.step_ids(tok, cache, 5)
    _, cache = rt.prefill(inputs)
    by_embedding = rt.step_embeds(rt.embed[tok], cache, 5)
    torch.testing.assert_close(by_embedding, by_id, rtol=0, atol=1e-5)


def _distributions(vocab: int) -> torch.Tensor:
    """Peaked, middling and flat distributions and a one-hot one: `[5, V]`."""
    g = torch.Generator().manual_seed(0)
    rows = [torch.softmax(torch.randn(vocab, generator=g) * t, 0) for t in (20.0, 6.0, 3.0, 0.1)]
    return torch.stack([*rows, torch.nn.functional.one_hot(torch.tensor(7), vocab).float()])


def test_the_int8_mix_is_within_cosine_0_99999_of_the_float32_product(llama_backend):
    rt = llama_backend.runtime
    assert not rt.exact_mix  # the default
    probs = _distributions(rt.vocab_size)
    exact = probs @ rt.embed.to(torch.float32)  # [5, H]
    got = rt.mix(probs)
    assert got.shape == exact.shape and got.dtype == torch.float32
    assert float(torch.nn.functional.cosine_similarity(got, exact, dim=1).min()) > 0.99999
    torch.testing.assert_close(got[4], rt.embed[7])  # one token: its own row, exactly
    one = rt.mix(probs[1:2])  # a row alone gets what it gets among others
    torch.testing.assert_close(one[0], got[1])


@pytest.mark.parametrize("vocab", [1000, 1003, 49154])
def test_the_int8_mix_pads_a_vocabulary_of_any_size(vocab):
    from engine.runtimes.llamacpp import Int8Mix

    embed = torch.randn(vocab, 48, generator=torch.Generator().manual_seed(vocab)) * 0.05
    embed[3] = 0.0  # an all-zero row has no scale to divide by
    mix = Int8Mix(embed)
    probs = _distributions(vocab)
    probs[0, 11] = 1e-38  # a subnormal weight is dropped, not fed to the kernel
    cos = torch.nn.functional.cosine_similarity(mix(probs), probs @ embed, dim=1)
    assert float(cos.min()) > 0.9999  # Gaussian rows: each row's int8 step is coarser than on SmolLM2


@pytest.mark.parametrize("variant", ["strict", "reference"])
def test_swir_runs_obey_the_rule_on_every_step(llama_backend, variant):
    window = 4
    settings = DecodeSettings(
        method="swir", max_new_tokens=64, sampling=SamplingParams(greedy=True),
        swir=SwirParams(window=window, max_switch_count=None, variant=variant),
    )  # fmt: skip
    for prompt in PROMPTS:
        steps = steps_of(llama_backend.chat([Turn("user", prompt)], settings))
        to_explicit, to_latent = check_trace(steps, window, strict=variant == "strict")
        assert to_explicit >= 1 and any(s.latent for s in steps)
        assert all(len(s.mix) == 5 for s in steps if s.latent)


def test_cancel_stops_within_one_step(llama_backend):
    cancel = threading.Event()
    settings = DecodeSettings(method="swir", max_new_tokens=200, seed=1)
    seen = 0
    for ev in llama_backend.chat([Turn("user", "Tell me a long story.")], settings, cancel):
        if isinstance(ev, Step):
            seen += 1
            if seen == 3:
                cancel.set()
        elif isinstance(ev, Done):
            assert ev.summary.stop_reason == "cancelled" and ev.summary.tokens == 3
    assert not llama_backend.runtime.lock.locked()


def test_missing_and_corrupt_gguf_files_are_refused_clearly(tmp_path):
    from engine.runtimes.llamacpp import load_llama

    with pytest.raises(ModelUnavailable, match="does not exist"):
        load_llama(str(tmp_path / "nope.gguf"))
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelUnavailable, match="not a GGUF file"):
        load_llama(str(junk))
    from engine.runtimes.llamacpp import gguf_for

    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(gguf_for("smollm2-offline").read_bytes()[:200_000])
    with pytest.raises(ModelUnavailable, match="could not load"):
        load_llama(str(truncated))
    with pytest.raises(ModelUnavailable, match="no preset ships one"):
        load_llama("qwen3.5-0.8b")


def test_a_failed_gguf_load_falls_back_to_the_offline_model(monkeypatch, smollm2_runtime, tmp_path):
    from engine.backends import local
    from engine.runtimes.llamacpp import LlamaOptions

    monkeypatch.setattr(local, "load_runtime", lambda spec, device=None: smollm2_runtime)
    backend = local.load_backend(str(tmp_path / "missing.gguf"), llama=LlamaOptions())
    assert backend.info.name == "smollm2-offline" and "does not exist" in backend.info.note


def test_cli_runs_a_gguf_with_llamacpp(capsys):
    from engine.cli import main

    assert main(["What is 2+2?", "--backend", "llamacpp", "--method", "cot-greedy", "--max-new-tokens", "6",
                 "--n-ctx", "1024", "--threads", "2"]) == 0  # fmt: skip
    assert "tokens 6" in capsys.readouterr().err


def test_backend_info_says_it_runs_on_llama_cpp(llama_backend):
    assert llama_backend.info.runtime == "llama.cpp" and llama_backend.info.modalities == {"text"}


# ---- the tiny qwen3_5_moe as GGUF (llama.cpp's own converter), text and image -------------


@pytest.fixture(scope="session")
def tiny_gguf(tiny_moe_runtime, tmp_path_factory):
    """The tiny-moe checkpoint converted by llama.cpp's converter: (model.gguf, mmproj.gguf)."""
    from engine.models.gguf_export import export_gguf

    out = tmp_path_factory.mktemp("tiny-gguf")
    src = tiny_moe_runtime.source
    model = export_gguf(src, out / "tiny-moe.gguf", outtype="f32", pre_tokenizer="qwen35")
    mmproj = export_gguf(src, out / "mmproj-tiny-moe.gguf", outtype="f32", mmproj=True)
    return model, mmproj


def test_a_dense_qwen35_saved_by_transformers_converts_to_a_gguf_llama_cpp_loads(tiny_moe_runtime, tmp_path):
    """The real configs declare one multi-token-prediction layer; transformers does not keep its
    weights, so the converter must be told there are none, or llama.cpp refuses the file."""
    import json

    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from engine.backends.local import LocalBackend
    from engine.models.gguf_export import _lacks_mtp_weights, export_gguf
    from engine.runtimes.llamacpp import LlamaOptions, load_llama

    configs = Path(__file__).resolve().parents[1] / "engine/models/data/qwen3_5/configs"
    real = json.loads((configs / "Qwen3.5-0.8B.json").read_text())["text_config"]
    assert real["mtp_num_hidden_layers"] == 1
    tok = AutoTokenizer.from_pretrained(tiny_moe_runtime.source)
    small = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=4, layer_types=real["layer_types"][:4],
                 head_dim=32, linear_key_head_dim=16, linear_value_head_dim=16, linear_num_key_heads=2,
                 linear_num_value_heads=2, num_attention_heads=2, num_key_value_heads=1, vocab_size=len(tok))  # fmt: skip
    cfg = AutoConfig.for_model(**{**real, **small, "model_type": "qwen3_5_text"})
    cfg.architectures = ["Qwen3_5ForCausalLM"]
    torch.manual_seed(0)
    folder = tmp_path / "dense"
    AutoModelForCausalLM.from_config(cfg, dtype=torch.float32).save_pretrained(folder)
    tok.save_pretrained(folder)
    assert _lacks_mtp_weights(folder)
    path = export_gguf(folder, tmp_path / "dense.gguf", outtype="f32", pre_tokenizer="qwen35")
    b = LocalBackend(load_llama(str(path), LlamaOptions(tokenizer=str(folder), n_ctx=256)))
    try:
        steps = steps_of(b.chat([Turn("user", "Hi")], DecodeSettings(method="cot-greedy", max_new_tokens=4)))
        assert len(steps) == 4
    finally:
        b.runtime.close()


@pytest.fixture(scope="session")
def tiny_llama(tiny_gguf, tiny_moe_runtime):
    from engine.backends.local import LocalBackend
    from engine.runtimes.llamacpp import LlamaOptions, load_llama

    model, _ = tiny_gguf  # its mmproj lies beside it and is found by name
    return LocalBackend(load_llama(str(model), LlamaOptions(tokenizer=tiny_moe_runtime.source, n_ctx=2048)))


def test_tiny_qwen35moe_gguf_decodes_like_the_torch_model(tiny_llama, tiny_moe_backend):
    settings = DecodeSettings(method="cot-greedy", max_new_tokens=16)
    turns = [Turn("user", "What is 3 + 4?")]
    ours = [s.token_id for s in steps_of(tiny_llama.chat(turns, settings))]
    torch_ids = [s.token_id for s in steps_of(tiny_moe_backend.chat(turns, settings))]
    assert ours == torch_ids
    assert tiny_llama.info.modalities == {"text", "image", "video"}


def test_tiny_qwen35moe_gguf_reads_an_image_through_its_mmproj(tiny_llama, tmp_path):
    from PIL import Image, ImageDraw

    img = tmp_path / "sum.png"
    im = Image.new("RGB", (128, 64), "white")
    ImageDraw.Draw(im).text((10, 20), "27 + 48", fill="black")
    im.save(img)
    settings = DecodeSettings(method="swir", max_new_tokens=12, sampling=SamplingParams(greedy=True))
    with_image = tiny_llama.chat([Turn("user", "What is the result?", images=(str(img),))], settings)
    events = list(with_image)
    started = events[0]
    assert started.prompt_tokens > 20 and len(steps_of(events)) >= 1
    text_only = list(tiny_llama.chat([Turn("user", "What is the result?")], settings))
    assert text_only[0].prompt_tokens < started.prompt_tokens  # the image's tokens are in the prompt
