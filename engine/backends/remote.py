"""OpenAIBackend: a model served by vLLM, SGLang or a llama.cpp server, behind `Backend`.

Owns: `connect` (checks `/v1/models`: reachable, key accepted, model served),
the chat-completions request (messages with images/videos as OpenAI content
parts, sampling, `logprobs`/`top_logprobs`, and, when asked, the SwiReasoning
extension body `vllm_xargs.swireasoning`), reading the SSE stream into the
same `Started`/`Step`/`Done` events as the local loop, and turning server
failures into `BackendError`. Leaves entropy arithmetic to
`entropy_estimate.py`, the policy to `engine/swir.py`, media checks to `engine/media.py`.

What a step carries. `Step.entropy` is the point estimate from the top-k
log-probabilities (`engine/backends/entropy_estimate.py`; the trace says
`"entropy": "estimate"`). On a stock server SwiReasoning cannot run (it feeds
soft embeddings back, which stock servers do not take), so `Step.latent`,
`switch`, `forced_explicit` and `ref_entropy` are a replay of the pure policy
over the estimated entropies as they stream: where SwiR *would* switch, not
applied (`Started.switch_marks == "replay"`). With a server extension
(`swir_extension`) the server runs SwiR itself (`switch_marks == "server"`).
The vllm-swir extension (serving/vllm-swir) streams its per-step trace beside
the answer, `"swir": [records]` on the chunks: then each step carries the
server's exact entropy, reference entropy, mode, switch, forced and injected
flags and a latent step's top-5 mix, and `Summary` counts them; a record with
`"closing": true` is the EOS the server emits where the answer budget ran out,
not a step. A server that sends no trace (the older fork) leaves every step
explicit. `last_estimates` holds each step's bounds.
`Started.prompt_tokens` is 0 and `prompt_ids` empty: the count comes with the
server's usage at the end, in `Summary.prompt_tokens` (llama.cpp servers send
none).

Errors. Anything before the first event (unreachable, HTTP 4xx/5xx, timeout,
model not served, prompt too long) raises `BackendError` at once. A stream
that breaks mid-answer keeps what arrived: the steps received are yielded,
then `Done(stop_reason="error")`, and then the generator raises
`BackendError` with the reason, so a consumer shows the partial text and the
message. Cancel (the event, or closing the generator) closes the HTTP stream
after the chunk being read.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import mimetypes
import os
import re
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx

from engine import tokens
from engine.backends.base import BackendInfo
from engine.backends.entropy_estimate import EntropyEstimate, estimate_entropy
from engine.config import DecodeSettings
from engine.errors import BackendError, ModelUnavailable, RioError
from engine.events import Done, Event, Phase, Started, Step, StopReason, Summary, SwitchMarks
from engine.media import MB, MediaLimits, check_media, load_image, load_video
from engine.models.presets import load_tokenizer
from engine.prompt import Turn, build_messages
from engine.swir import SignalIds, SwirState, policy_step

log = logging.getLogger(__name__)

VideoMode = Literal["auto", "video_url", "frames"]
SWIR_KEY = "swireasoning"  # the fork's key inside `vllm_xargs`
MATH_TEXTS = frozenset(tokens.MATH_SYMBOLS)
VL = frozenset({"text", "image", "video"})
TEXT = frozenset({"text"})
_VL_NAME = re.compile(r"qwen3[._-]?5|qwen3[._-]?vl|rio[._-]?3[._-]?5|[-_]vl\b", re.IGNORECASE)
_THINKING_NAME = re.compile(r"qwen3|rio[._-]?3", re.IGNORECASE)


@dataclass(frozen=True)
class RemoteOptions:
    """How to talk to the server; the defaults suit vLLM and SGLang."""

    top_logprobs: int = 20  # k of the entropy estimate (OpenAI and vLLM allow at most 20); 0 = none
    read_timeout_s: float = 120.0  # longest wait for the next chunk
    connect_timeout_s: float = 5.0
    swir_extension: bool = False  # speak the vLLM-fork SwiReasoning extension (needs `tokenizer`)
    tokenizer: str | None = None  # local folder, cached hub id or preset, for signal-token ids
    video: VideoMode = "auto"  # "auto": video_url on vLLM/SGLang, sampled frames elsewhere
    video_url_max_bytes: int = 20 * MB  # a larger video goes as sampled frames
    modalities: frozenset[str] | None = None  # None: guessed from the model name
    opens_thinking: bool | None = None  # the prompt opens <think> (no reasoning parser); None: guess
    vocab_size: int | None = None  # for the entropy upper bound; None: the tokenizer's, or 262,144
    limits: MediaLimits = field(default_factory=MediaLimits)

    def validate(self) -> RemoteOptions:
        if not 0 <= self.top_logprobs <= 20:
            raise RioError("top_logprobs must be between 0 and 20.")
        if self.video not in ("auto", "video_url", "frames"):
            raise RioError("The video mode must be auto, video_url or frames.")
        if self.swir_extension and not self.tokenizer:
            raise ModelUnavailable(
                "The SwiReasoning server extension needs the model's tokenizer to compute the signal-token "
                "ids: pass --tokenizer with a local folder (or a hub id already in the local cache)."
            )
        return self


# ---------------------------------------------------------------- connecting


def normalize_base_url(base_url: str) -> str:
    """`http://host:8000`, `.../v1` or `.../v1/` -> `http://host:8000/v1`."""
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise BackendError(f"The server address {base_url!r} must start with http:// or https://.")
    return url if url.endswith("/v1") else f"{url}/v1"


def connect(
    base_url: str,
    model: str | None = None,
    api_key: str | None = None,
    *,
    options: RemoteOptions | None = None,
    transport: httpx.BaseTransport | None = None,
) -> OpenAIBackend:
    """Check the server (`GET /v1/models`) and return a backend for `model`
    (None: the only model served). Raise `BackendError` naming the URL and cause."""
    options = (options or RemoteOptions()).validate()
    url = normalize_base_url(base_url)
    timeout = httpx.Timeout(options.read_timeout_s, connect=options.connect_timeout_s)
    client = httpx.Client(timeout=timeout, transport=transport)
    try:
        entry = _pick_model(_list_models(client, url, api_key), model, url)
        tokenizer = load_tokenizer(options.tokenizer) if options.tokenizer else None
    except Exception:
        client.close()
        raise
    return OpenAIBackend(url, entry, api_key=api_key, options=options, client=client, tokenizer=tokenizer)


def _list_models(client: httpx.Client, url: str, api_key: str | None) -> list[dict]:
    with _http_errors(url, client.timeout.read):
        resp = client.get(f"{url}/models", headers=_headers(api_key))
    if resp.status_code >= 400:
        raise _http_error(resp, f"{url}/models")
    try:
        data = resp.json()["data"]
        return [d for d in data if isinstance(d, dict) and "id" in d]
    except (ValueError, KeyError, TypeError) as err:
        raise BackendError(
            f"{url}/models did not answer as an OpenAI-compatible server (no model list). "
            "Check --base-url: it should end in /v1."
        ) from err


def _pick_model(served: list[dict], model: str | None, url: str) -> dict:
    ids = [d["id"] for d in served]
    if not ids:
        raise BackendError(f"The server at {url} serves no model yet (is it still loading?).")
    if model is None:
        if len(ids) == 1:
            return served[0]
        raise BackendError(
            f"The server at {url} serves several models; name one with --model: {', '.join(ids)}."
        )
    for d in served:
        if d["id"] == model:
            return d
    raise BackendError(f"The server at {url} does not serve {model!r}; it serves: {', '.join(ids)}.")


# ---------------------------------------------------------------- the backend


class OpenAIBackend:
    def __init__(
        self,
        base_url: str,
        entry: dict,
        *,
        api_key: str | None = None,
        options: RemoteOptions | None = None,
        client: httpx.Client | None = None,
        tokenizer: Any = None,
    ) -> None:
        self.base_url, self.model, self.api_key = base_url, str(entry["id"]), api_key
        self.options = options or RemoteOptions()
        self.server = str(entry.get("owned_by") or "")  # "vllm", "sglang", or what another server says
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(self.options.read_timeout_s, connect=self.options.connect_timeout_s)
        )
        self.tokenizer = tokenizer
        self.last_estimates: list[EntropyEstimate | None] = []  # the last run's bounds, one per step
        self.video_mode = self._video_mode()
        self.switch_marks: SwitchMarks = "server" if self.options.swir_extension else "replay"
        self._math_ids = tokens.math_token_ids(tokenizer) if tokenizer is not None else None
        self._vocab = self.options.vocab_size or (len(tokenizer) if tokenizer is not None else None)
        ext = self.options.swir_extension
        self.info = BackendInfo(
            name=self.model, source=f"{base_url} ({self.server or 'OpenAI-compatible'})",
            modalities=self.options.modalities or (VL if _VL_NAME.search(self.model) else TEXT),
            device="remote", methods=("swir", "cot", "cot-greedy") if ext else ("cot", "cot-greedy"),
            context_length=_int_or_none(entry.get("max_model_len")), note=self._note(),
            limits=self.options.limits, runtime="remote",
        )  # fmt: skip

    def _video_mode(self) -> Literal["video_url", "frames"]:
        mode = self.options.video
        if mode == "auto":
            return "video_url" if self.server.lower() in ("vllm", "sglang") else "frames"
        return mode

    def _note(self) -> str:
        k = self.options.top_logprobs
        parts = [
            f"Entropy is estimated from the server's top-{k} log-probabilities."
            if k
            else "The server is not asked for log-probabilities: no entropy."
        ]
        if self.options.swir_extension:
            parts.append(
                "SwiReasoning runs on the server (vllm_xargs extension); its per-step trace gives exact "
                "entropy and the real modes (a server that sends none shows every step explicit)."
            )
        else:
            parts.append(
                "SwiReasoning does not run on this server: switch marks are a replay of the rule over the "
                "estimated entropy, where it would switch (not applied)."
            )
        how = "as video_url parts" if self.video_mode == "video_url" else "as sampled frames (images)"
        parts.append(f"Videos are sent {how}.")
        return " ".join(parts)

    def check_media(self, images: Sequence[str], videos: Sequence[str]) -> None:
        check_media(images, videos, self.info.modalities, self.info.limits)

    def close(self) -> None:
        self.client.close()

    # ---- the request ---------------------------------------------------
    def request_body(self, turns: Sequence[Turn], settings: DecodeSettings) -> dict:
        """The JSON body of `POST /chat/completions` for this conversation."""
        if settings.method not in self.info.methods:
            raise RioError(
                f"The server at {self.base_url} does not run {settings.method!r}; choose one of "
                f"{', '.join(self.info.methods)} (SwiReasoning needs the server extension, see docs/DEPLOY.md)."
            )
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self._messages(turns, settings),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": settings.max_new_tokens,
            "chat_template_kwargs": {"enable_thinking": settings.thinking},
            **_sampling(settings),
        }
        if self.options.top_logprobs:
            body.update(logprobs=True, top_logprobs=self.options.top_logprobs)
            if self.server.lower() == "vllm":
                body["return_tokens_as_token_ids"] = True  # "token_id:N" strings: exact ids for the trace
        if self.server.lower() not in ("vllm", "sglang"):
            body["repeat_penalty"] = 1.0  # llama-cpp-python defaults to 1.1; our settings have none
        if settings.method == "swir":
            body["vllm_xargs"] = {SWIR_KEY: swir_xargs(self.tokenizer, settings)}
        return body

    def _messages(self, turns: Sequence[Turn], settings: DecodeSettings) -> list[dict]:
        self.check_media([p for t in turns for p in t.images], [p for t in turns for p in t.videos])
        texts = build_messages(turns, settings, multimodal=False)  # validation, step-by-step suffix
        out = []
        for turn, msg in zip(turns, texts, strict=True):
            if turn.role != "user" or not (turn.images or turn.videos):
                out.append(msg)
                continue
            parts = [_image_part(p, self.options.limits) for p in turn.images]
            for video in turn.videos:
                parts += self._video_parts(video)
            parts.append({"type": "text", "text": msg["content"]})
            out.append({"role": "user", "content": parts})
        return out

    def _video_parts(self, path: str) -> list[dict]:
        if self.video_mode == "video_url":
            if os.path.getsize(path) <= self.options.video_url_max_bytes:
                mime = mimetypes.guess_type(path)[0] or "video/mp4"
                return [{"type": "video_url", "video_url": {"url": _data_url(path, mime)}}]
            log.warning(
                "%s is over %d MB: sent as sampled frames",
                os.path.basename(path),
                self.options.video_url_max_bytes // MB,
            )
        return _frame_parts(path, self.options.limits)

    # ---- the run -------------------------------------------------------
    def chat(
        self,
        turns: Sequence[Turn],
        settings: DecodeSettings,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        settings.validate()
        body = self.request_body(turns, settings)  # media and method errors before any request
        cancel = cancel or threading.Event()
        run = _Stream(self, settings)
        self.last_estimates = run.estimates
        with self._post(body) as resp:
            yield run.started()
            try:
                for chunk in _sse_chunks(resp, self.base_url):
                    yield from run.feed(chunk)
                    if cancel.is_set():
                        run.stop = "cancelled"
                        break
            except httpx.HTTPError as err:
                run.fail(_cut_message(err, self.base_url, len(run.steps), self.options.read_timeout_s))
            except BackendError as err:
                run.fail(f"{err} The {len(run.steps)} tokens received are kept.")
        run.check_complete(self.base_url)
        yield Done(run.summary())
        if run.error:
            raise BackendError(run.error)

    @contextmanager
    def _post(self, body: dict) -> Iterator[httpx.Response]:
        url = f"{self.base_url}/chat/completions"
        headers = _headers(self.api_key)
        with (
            _http_errors(url, self.options.read_timeout_s),
            self.client.stream("POST", url, json=body, headers=headers) as resp,
        ):
            if resp.status_code >= 400:
                resp.read()
                raise _http_error(resp, url)
            yield resp  # the caller handles failures while reading the stream

    def step_is_math(self, token_id: int, text: str) -> bool:
        if token_id >= 0 and self._math_ids is not None:
            return token_id in self._math_ids
        return text in MATH_TEXTS


# ---------------------------------------------------------------- one streamed run


_END_THINK = -2  # stand-in token id for "this step closes thinking", for the replayed policy
_REPLAY_IDS = SignalIds(
    think=-3, end_think=_END_THINK, newline=-4, convergence=(_END_THINK,), termination=(_END_THINK,)
)


class _Phases:
    """Thinking/answer: from the reasoning fields, or `<think>...</think>` inside the content."""

    def __init__(self, opens: bool) -> None:
        self.thinking, self.reasoning, self.started, self.tail = opens, False, False, ""

    def step(self, text: str, from_reasoning: bool | None, token: str) -> tuple[Phase, bool]:
        """This step's phase and whether it closes the thinking block."""
        if from_reasoning:
            self.thinking = self.reasoning = True
            return "thinking", False
        if from_reasoning is None or (not text and self.reasoning):  # a token with no text of its own
            closes = self.thinking and token == "</think>"
            phase: Phase = "thinking" if self.thinking else "answer"
            self.thinking = self.thinking and not closes
            self.reasoning = self.reasoning and not closes
            return phase, closes
        if self.reasoning:  # the first content after the reasoning field: the parser closed the block
            self.thinking = self.reasoning = False
            return "answer", True
        if not self.thinking and not self.started and text.lstrip().startswith("<think>"):
            self.thinking = True
        self.started = self.started or bool(text.strip())
        closes = self.thinking and ("</think>" in self.tail + text or token == "</think>")
        phase = "thinking" if self.thinking else "answer"
        self.tail = (self.tail + text)[-16:]
        self.thinking = self.thinking and not closes
        return phase, closes


class _Replay:
    """The pure SwiR policy over the estimated entropies, step by step (as `swir.replay`)."""

    def __init__(self, settings: DecodeSettings) -> None:
        self.cfg, self.max_new = settings.swir, settings.max_new_tokens
        self.state, self.t, self.over = SwirState(), 0, False

    def step(self, entropy: float | None, token: int, closes: bool, is_math: bool) -> tuple:
        """(latent, switch, forced_explicit, ref_entropy) for this step."""
        if entropy is None or self.over:
            return False, None, False, (self.state.ref_h if self.t else None)
        chosen = _END_THINK if closes else token
        self.state, d = policy_step(
            self.state, self.t, entropy, chosen, is_math=is_math, ids=_REPLAY_IDS, cfg=self.cfg,
            max_new_tokens=self.max_new,
        )  # fmt: skip
        self.t += 1
        self.over = d.budget_done  # SwiR would have ended the answer here
        return d.latent, d.switch, d.forced_explicit, self.state.ref_h


class _Stream:
    """One streamed answer: SSE chunks in, `Step`s out, and the run's summary."""

    def __init__(self, backend: OpenAIBackend, settings: DecodeSettings) -> None:
        self.b, self.settings = backend, settings
        opens = backend.options.opens_thinking
        if opens is None:
            opens = settings.thinking and bool(_THINKING_NAME.search(backend.model))
        self.opens = opens
        self.phases = _Phases(opens)
        self.replay = _Replay(settings) if backend.switch_marks == "replay" else None
        server_swir = backend.switch_marks == "server" and settings.method == "swir"
        self.trace: _ServerTrace | None = _ServerTrace(backend.tokenizer) if server_swir else None
        self.steps: list[Step] = []
        self.estimates: list[EntropyEstimate | None] = []  # per step: point, bounds
        self.stop: StopReason | None = None
        self.error: str | None = None
        self.finish: str | None = None
        self.prompt_tokens = 0
        self.t0, self.t_first = time.perf_counter(), None

    def started(self) -> Started:
        s = self.settings
        swir = s.method == "swir"
        cap = s.swir.max_switch_count if swir else None
        return Started(
            s.method,
            0,
            s.max_new_tokens,
            cap,
            self.opens,
            entropy="exact" if self.trace is not None else "estimate",
            switch_marks=self.b.switch_marks,
        )

    def feed(self, chunk: dict) -> Iterator[Step]:
        if self.trace is not None:
            self.trace.add(chunk.get("swir") or [])
        usage = chunk.get("usage") or {}
        self.prompt_tokens = _int_or_none(usage.get("prompt_tokens")) or self.prompt_tokens
        choices = chunk.get("choices") or []
        if not choices:
            return
        choice = choices[0]
        delta = choice.get("delta") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
        content = delta.get("content") or ""
        entries = (choice.get("logprobs") or {}).get("content") or []
        for text, from_reasoning, entry in _pieces(entries, reasoning, content):
            if self.trace is not None and self.trace.closing(len(self.steps)):
                continue  # the EOS the server emitted where the answer budget ran out: not a step
            yield self._step(text, from_reasoning, entry)
        self.finish = choice.get("finish_reason") or self.finish

    def _step(self, text: str, from_reasoning: bool | None, entry: dict | None) -> Step:
        token = str((entry or {}).get("token") or "")
        token_id = _token_id(token)
        phase, closes = self.phases.step(text, from_reasoning, token)
        estimate = _entry_estimate(entry, self.b._vocab) if entry else None
        entropy = estimate.point if estimate else None
        self.estimates.append(estimate)
        latent, switch, forced, ref = False, None, False, None
        if self.replay is not None:
            is_math = self.b.step_is_math(token_id, text or token)
            latent, switch, forced, ref = self.replay.step(entropy, token_id, closes, is_math)
        step = Step(len(self.steps), token_id, text, entropy, ref, latent, switch, forced, False, phase)
        if self.trace is not None:
            step = self.trace.apply(step)
        self.steps.append(step)
        self.t_first = self.t_first or time.perf_counter()
        return step

    def fail(self, message: str) -> None:
        self.stop, self.error = "error", message

    def check_complete(self, url: str) -> None:
        """Set the stop reason from the server's finish_reason; a stream without one was cut."""
        if self.stop is not None:
            return
        if self.finish is None:
            n = len(self.steps)
            self.fail(
                f"The stream from {url} ended before the answer was complete; the {n} tokens received are kept."
            )
        elif self.finish == "stop":
            self.stop = "eos"
        elif self.finish == "length":
            self.stop = "max_new_tokens"
        else:
            self.fail(f"The server at {url} ended the answer early (finish_reason={self.finish!r}).")

    def summary(self) -> Summary:
        end, n, steps = time.perf_counter(), len(self.steps), self.steps
        first = self.t_first
        rate = (n - 1) / (end - first) if first and n > 1 and end > first else None
        latent = sum(s.latent for s in steps)
        stop = self.stop or "error"
        if self.trace is not None and self.trace.budget_end and stop == "eos":
            stop = "answer_budget"
        return Summary(
            tokens=n, latent_steps=latent, explicit_steps=n - latent, stop_reason=stop,
            to_explicit_switches=sum(s.switch == "to_explicit" for s in steps),
            to_latent_switches=sum(s.switch == "to_latent" for s in steps),
            injected_tokens=sum(s.injected for s in steps),
            ttft_s=(first - self.t0) if first else None, tokens_per_s=rate,
            prompt_tokens=self.prompt_tokens, elapsed_s=end - self.t0,
        )  # fmt: skip


class _ServerTrace:
    """The vllm-swir extension's per-step records (`"swir"` on the chunks), by step index.

    Records may arrive before their token's chunk; a step with no record yet stays as streamed."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer, self.records, self.budget_end = tokenizer, {}, False

    def add(self, records: list) -> None:
        for r in records:
            if isinstance(r, dict) and isinstance(r.get("t"), int):
                self.records[r["t"]] = r
                self.budget_end = self.budget_end or r.get("end") == "answer_budget"

    def closing(self, t: int) -> bool:
        return bool(self.records.get(t, {}).get("closing"))

    def apply(self, step: Step) -> Step:
        r = self.records.get(step.t)
        if r is None:
            return step
        mix = tuple((int(i), self._text(int(i)), float(p)) for i, p in r.get("mix") or ())
        return replace(
            step, token_id=int(r.get("token_id", step.token_id)), entropy=r.get("entropy"),
            ref_entropy=r.get("ref_entropy"), latent=r.get("mode") == "latent", switch=r.get("switch"),
            forced_explicit=bool(r.get("forced")), injected=bool(r.get("injected")), mix=mix,
        )  # fmt: skip

    def _text(self, token_id: int) -> str:
        return self.tokenizer.decode([token_id]) if self.tokenizer is not None else ""


def _pieces(entries: list[dict], reasoning: str, content: str) -> list[tuple[str, bool | None, dict | None]]:
    """(text, from the reasoning field?, logprob entry) for each token of one chunk.

    One step per log-probability entry. The chunk's text is split along the
    tokens when their strings add up to it; otherwise (ids instead of strings,
    a parser that dropped `</think>`) the last token of the chunk carries it.
    """
    whole = reasoning + content
    if not entries:
        out: list[tuple[str, bool | None, dict | None]] = []
        if reasoning:
            out.append((reasoning, True, None))
        if content:
            out.append((content, False, None))
        return out
    texts = [str(e.get("token") or "") for e in entries]
    if "".join(texts) != whole:
        texts = [""] * (len(entries) - 1) + [whole]
    out, pos = [], 0
    for text, entry in zip(texts, entries, strict=True):
        source = None if not text else pos < len(reasoning)
        out.append((text, source, entry))
        pos += len(text)
    return out


def _entry_estimate(entry: dict, vocab: int | None) -> EntropyEstimate | None:
    """The estimate from one logprobs entry: its top_logprobs plus the chosen token if missing."""
    top = entry.get("top_logprobs") or []
    if isinstance(top, dict):  # the legacy completions shape {token: logprob}
        top = [{"token": k, "logprob": v} for k, v in top.items()]
    values = {str(t.get("token")): t.get("logprob") for t in top if t.get("logprob") is not None}
    if not values:
        return None
    chosen = str(entry.get("token"))
    if chosen not in values and entry.get("logprob") is not None:
        values[chosen] = entry["logprob"]
    try:
        return estimate_entropy([float(v) for v in values.values()], vocab)
    except ValueError:
        return None


def _token_id(token: str) -> int:
    """The id in vLLM's `return_tokens_as_token_ids` form ("token_id:N"); -1 when unknown."""
    if token.startswith("token_id:"):
        try:
            return int(token[9:])
        except ValueError:
            return -1
    return -1


def _sse_chunks(resp: httpx.Response, url: str) -> Iterator[dict]:
    """The JSON objects of a server-sent-events stream, up to `[DONE]`."""
    for line in resp.iter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            obj = json.loads(data)
        except json.JSONDecodeError as err:
            raise BackendError(f"The server at {url} sent a chunk that is not JSON: {data[:120]!r}.") from err
        if isinstance(obj, dict) and obj.get("error") and not obj.get("choices"):
            raise BackendError(f"The server at {url} reported an error mid-answer: {_message(obj)}.")
        if isinstance(obj, dict):
            yield obj


# ---------------------------------------------------------------- the request's parts


def _sampling(settings: DecodeSettings) -> dict:
    if settings.greedy:
        return {"temperature": 0.0}
    s = settings.sampling
    out: dict[str, Any] = {"temperature": s.temperature, "top_p": s.top_p, "min_p": s.min_p}
    if s.top_k > 0:
        out["top_k"] = s.top_k
    if settings.seed is not None:
        out["seed"] = settings.seed
    return out


def _image_part(path: str, limits: MediaLimits) -> dict:
    """The image after our own validation and bounding, as a PNG (or JPEG when large) data URL."""
    image = load_image(path, limits)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    mime = "image/png"
    if buf.tell() > 2 * MB:
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=90)
        mime = "image/jpeg"
    return {"type": "image_url", "image_url": {"url": _b64_url(buf.getvalue(), mime)}}


def _frame_parts(path: str, limits: MediaLimits) -> list[dict]:
    """A video as its sampled frames (JPEG images), after a line that says what they are."""
    from PIL import Image

    clip = load_video(path, limits)
    times = ", ".join(f"{t:.1f}" for t in clip.timestamps)
    parts: list[dict] = [
        {"type": "text", "text": f"Frames of the video {os.path.basename(path)} at {times} seconds:"}
    ]
    for frame in clip.frames:  # [H, W, 3] each
        buf = io.BytesIO()
        Image.fromarray(frame).save(buf, format="JPEG", quality=85)
        parts.append({"type": "image_url", "image_url": {"url": _b64_url(buf.getvalue(), "image/jpeg")}})
    return parts


def _data_url(path: str, mime: str) -> str:
    with open(path, "rb") as f:
        return _b64_url(f.read(), mime)


def _b64_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# ---------------------------------------------------------------- the SwiReasoning extension


def swir_xargs(tokenizer: Any, settings: DecodeSettings) -> dict:
    """The `vllm_xargs.swireasoning` object: the vLLM fork's fields as its README documents them
    (signal-token ids computed here from the model's tokenizer, the policy's knobs), plus `variant`,
    which the vllm-swir extension reads (serving/vllm-swir). Ids follow the variant, as in the local
    loop: the reference's lookups (never None), or the strict real tokens (None where missing)."""
    if tokenizer is None:
        raise ModelUnavailable("The SwiReasoning server extension needs the model's tokenizer (--tokenizer).")
    s = settings.swir
    ids = tokens.signal_ids(tokenizer, s)
    body = {
        "variant": s.variant,
        "think_id": ids.think,
        "end_think_id": ids.end_think,
        "line_break_id": ids.newline,
        "eos_token_id": tokenizer.eos_token_id,
        "convergence_ids": list(ids.convergence),
        "termination_ids": list(ids.termination),
        "alpha_0": s.alpha0,
        "beta_0": s.beta0,
        "window_size": s.window,
        "max_switch_count": s.max_switch_count,
        "termination_max_tokens": s.answer_budget,
        "max_new_tokens": settings.max_new_tokens,
        "math_ids": sorted(tokens.math_token_ids(tokenizer)),
    }
    if s.variant == "strict":  # the cap's words wait for the end of a line, as in the local loop
        body |= {"line_end_wait": s.line_end_wait, "line_end_ids": sorted(_line_ends(tokenizer))}
    return body


_LINE_ENDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _line_ends(tokenizer: Any) -> frozenset[int]:
    """The tokenizer's line-end ids, found once per tokenizer (a pass over the vocabulary)."""
    if tokenizer not in _LINE_ENDS:
        _LINE_ENDS[tokenizer] = tokens.line_end_ids_below(tokenizer, len(tokenizer))
    return _LINE_ENDS[tokenizer]


# ---------------------------------------------------------------- errors


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


@contextmanager
def _http_errors(url: str, read_timeout: float | None) -> Iterator[None]:
    """Connection failures and timeouts before any answer -> `BackendError`."""
    try:
        yield
    except httpx.TimeoutException as err:
        raise BackendError(
            f"The server at {url} did not answer within {read_timeout or 0:.0f} s ({type(err).__name__})."
        ) from err
    except httpx.TransportError as err:
        raise BackendError(
            f"Cannot reach the server at {url}: {err or type(err).__name__}. Is it running, and is the address right?"
        ) from err


def _message(obj: Any) -> str:
    """The server's own error message out of the usual JSON shapes."""
    if isinstance(obj, dict):
        for key in ("error", "message", "detail"):
            value = obj.get(key)
            if isinstance(value, dict | list):
                return _message(value)
            if value:
                return str(value)[:500]
    if isinstance(obj, list) and obj:
        return _message(obj[0])
    return str(obj)[:500]


def _http_error(resp: httpx.Response, url: str) -> BackendError:
    try:
        msg = _message(resp.json())
    except ValueError:
        msg = resp.text.strip()[:500] or resp.reason_phrase
    code = resp.status_code
    if code in (401, 403):
        return BackendError(
            f"The server at {url} refused the API key (HTTP {code}: {msg}). Set --api-key or RIO_API_KEY."
        )
    if re.search(r"context length|maximum context|too long|max_model_len|exceeds? the", msg, re.IGNORECASE):
        return BackendError(
            f"The prompt does not fit the served model's context (HTTP {code} from {url}: {msg}). "
            "Shorten the message, clear earlier turns, or lower max new tokens."
        )
    if code == 404:
        return BackendError(
            f"{url} was not found (HTTP 404: {msg}). Check --base-url (it should end in /v1) and --model."
        )
    if code >= 500:
        return BackendError(f"The server at {url} failed (HTTP {code}: {msg}).")
    return BackendError(f"The server at {url} rejected the request (HTTP {code}: {msg}).")


def _cut_message(err: httpx.HTTPError, url: str, n: int, read_timeout: float) -> str:
    if isinstance(err, httpx.TimeoutException):
        why = f"no data for {read_timeout:.0f} s"
    else:
        why = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return f"The stream from {url} broke mid-answer ({why}); the {n} tokens received are kept."


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
