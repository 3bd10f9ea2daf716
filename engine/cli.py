"""The engine's command line: `python -m engine "question" [options]`.

Owns: parsing options into `DecodeSettings`, streaming a run to the terminal
(thinking and answer separated, tokens of latent steps dimmed when the output
is a terminal), the summary line, and `--trace out.json`. `--backend llamacpp`
runs a GGUF file (or a preset that ships one) with llama.cpp in this process
(`--threads`, `--n-ctx`); `--backend openai`
talks to a vLLM/SGLang/llama.cpp server (`engine/backends/remote.py`) instead of
loading a model; `--model` then names the served model. A user error prints
one line and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import TextIO

from engine.config import METHODS, DecodeSettings, SamplingParams, SwirParams
from engine.errors import RioError
from engine.events import Done, Started, Step
from engine.models.presets import DEFAULT_PRESET, PRESETS, recommended_settings
from engine.prompt import Turn
from engine.runtimes.llamacpp import DEFAULT_N_CTX, LlamaOptions
from engine.trace import TraceRecorder

DIM, RESET, BOLD, UNDERLINE = "\x1b[2m", "\x1b[0m", "\x1b[1m", "\x1b[4m"


BACKENDS = ("local", "llamacpp", "openai")


def env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else None


def env_flag(name: str) -> bool:
    """A yes/no environment variable: 1, true, yes or on."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


EXACT_MIX_HELP = (
    "llama.cpp: the soft mix p @ E in float32 (default: from an int8 copy of E, 3x faster, cosine > 0.9999)"
)


PRESET_CAP = "preset"  # --max-switch-count left to the model's preset


def _switch_count(value: str) -> int | str | None:
    if value.lower() in ("none", "off"):
        return None
    if value == PRESET_CAP:
        return PRESET_CAP
    return int(value)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m engine", description="Ask a model; decode with SwiReasoning or CoT."
    )
    ap.add_argument("question")
    ap.add_argument("--model", default=os.environ.get("RIO_MODEL"),
                    help=f"preset ({', '.join(PRESETS)}), hub id or local folder; with --backend openai, "
                    "the served model name (default: the only one served)")  # fmt: skip
    ap.add_argument("--backend", choices=BACKENDS, default=os.environ.get("RIO_BACKEND", "local"),
                    help="local: load the model here with torch; llamacpp: run a GGUF here with llama.cpp; "
                    "openai: an OpenAI-compatible server")  # fmt: skip
    ap.add_argument("--threads", type=int, default=env_int("RIO_THREADS"),
                    help="llama.cpp CPU threads (default: every core)")  # fmt: skip
    ap.add_argument("--mmproj", default=os.environ.get("RIO_MMPROJ"),
                    help="llama.cpp vision projector GGUF (default: an mmproj*.gguf beside the model)")  # fmt: skip
    ap.add_argument("--n-ctx", type=int, default=env_int("RIO_N_CTX") or DEFAULT_N_CTX,
                    help="llama.cpp context length in tokens")  # fmt: skip
    ap.add_argument(
        "--exact-mix", action="store_true", default=env_flag("RIO_EXACT_MIX"), help=EXACT_MIX_HELP
    )
    ap.add_argument("--base-url", default=os.environ.get("RIO_BASE_URL"), help="e.g. http://host:8000/v1")
    ap.add_argument("--api-key", default=os.environ.get("RIO_API_KEY"))
    ap.add_argument("--swir-extension", action="store_true",
                    help="the server runs SwiReasoning (vLLM fork's vllm_xargs extension); needs --tokenizer")  # fmt: skip
    ap.add_argument("--tokenizer", default=os.environ.get("RIO_TOKENIZER"),
                    help="local folder or cached hub id of the model's Hugging Face tokenizer (for a "
                    "remote server, or a GGUF whose own tokenizer transformers cannot read)")  # fmt: skip
    ap.add_argument("--method", choices=METHODS, default="swir")
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--greedy", action="store_true", help="SwiR/CoT choose tokens by argmax")
    ap.add_argument("--alpha0", type=float)
    ap.add_argument("--beta0", type=float)
    ap.add_argument("--window", type=int)
    ap.add_argument("--max-switch-count", type=_switch_count, default=PRESET_CAP,
                    help="an integer, or none (default: the preset's; 2 for a model that is not a preset)")  # fmt: skip
    ap.add_argument("--line-end-wait", type=int,
                    help="strict policy: steps the cap's words may wait for the model to end its line "
                    "(default 48; 0 = at once, as the reference)")  # fmt: skip
    ap.add_argument("--reference-quirks", action="store_true",
                    help="the reference implementation's policy exactly (re-armed termination, injected "
                    "</think> does not lock, unknown-token anchors), for parity checks")  # fmt: skip
    ap.add_argument("--temperature", type=float)
    ap.add_argument("--top-p", type=float)
    ap.add_argument("--top-k", type=int)
    ap.add_argument("--min-p", type=float)
    ap.add_argument("--no-thinking", action="store_true", help="enable_thinking=False in the chat template")
    ap.add_argument("--system", default="", help="a system prompt before the question")
    ap.add_argument("--suffix", action="store_true", help="append the step-by-step / boxed-answer request")
    ap.add_argument("--calculator", action=argparse.BooleanOptionalAction, default=None,
                    help="the engine writes the result after each `=` of arithmetic in the thinking "
                    "(default: the preset's; local and llama.cpp backends)")  # fmt: skip
    ap.add_argument("--image", action="append", default=[], help="an image file (repeatable)")
    ap.add_argument("--video", action="append", default=[], help="a video file (repeatable)")
    ap.add_argument("--trace", type=Path, help="write the whole run as JSON here")
    ap.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda when present)")
    return ap


def settings_from(args: argparse.Namespace, base: DecodeSettings) -> DecodeSettings:
    """A preset's recommended settings (`recommended_settings`), overridden by whatever the
    user passed."""
    sampling, swir = base.sampling, base.swir

    def pick(value, default):
        return default if value is None else value

    sampling = SamplingParams(
        temperature=pick(args.temperature, sampling.temperature),
        top_p=pick(args.top_p, sampling.top_p),
        top_k=pick(args.top_k, sampling.top_k),
        min_p=pick(args.min_p, sampling.min_p),
        greedy=args.greedy,
    )
    swir = SwirParams(
        alpha0=pick(args.alpha0, swir.alpha0),
        beta0=pick(args.beta0, swir.beta0),
        window=pick(args.window, swir.window),
        max_switch_count=swir.max_switch_count
        if args.max_switch_count == PRESET_CAP
        else args.max_switch_count,
        line_end_wait=pick(args.line_end_wait, swir.line_end_wait),
        variant="reference" if args.reference_quirks else "strict",
    )
    return DecodeSettings(
        method=args.method, max_new_tokens=args.max_new_tokens, sampling=sampling, swir=swir,
        seed=args.seed, thinking=not args.no_thinking, step_by_step_suffix=args.suffix, system_prompt=args.system,
        calculator=pick(args.calculator, base.calculator),
    ).validate()  # fmt: skip


def stream(events, out: TextIO, color: bool, recorder: TraceRecorder) -> Done | None:
    """Print a run as it streams; return its `Done`. Latent steps are dimmed unless
    their marks are a replay (where SwiR would have switched, not applied); what the
    calculator wrote is underlined."""
    phase, done, dim_latent = None, None, True
    for ev in events:
        recorder.add(ev)
        if isinstance(ev, Started):
            dim_latent = ev.switch_marks == "applied"
            if ev.thinking:
                phase = "thinking"
                out.write(f"{BOLD}[thinking]{RESET}\n" if color else "[thinking]\n")
        elif isinstance(ev, Step):
            if phase == "thinking" and ev.phase == "answer":
                out.write(f"\n{BOLD}[answer]{RESET}\n" if color else "\n[answer]\n")
            phase = ev.phase
            dim = color and dim_latent and ev.latent
            mark = DIM if dim else UNDERLINE if color and ev.computed else ""
            out.write(f"{mark}{ev.text}{RESET}" if mark else ev.text)
            out.flush()
        elif isinstance(ev, Done):
            done = ev
    out.write("\n")
    return done


def summary_line(done: Done) -> str:
    s = done.summary
    rate = f"{s.tokens_per_s:.1f} tok/s" if s.tokens_per_s else "-"
    ttft = f"{s.ttft_s:.2f}s" if s.ttft_s is not None else "-"
    return (
        f"tokens {s.tokens} (latent {s.latent_steps}, explicit {s.explicit_steps}), "
        f"switches {s.to_explicit_switches}, stop: {s.stop_reason}, TTFT {ttft}, {rate}"
        + (f", calculator tokens {s.computed_tokens}" if s.computed_tokens else "")
    )


def early_close_note(done: Done) -> str | None:
    """The CLI's word on a run whose thinking may have been closed too early, or that stayed
    latent from its start long enough for its thinking to read as noise."""
    s = done.summary
    if s.long_latent_opening and not s.early_close:
        return (f"note: the run stayed latent for its first {s.opening_latent_steps} steps (its first step was "
                "nearly certain); the words of latent steps are guesses. Retry with --method cot to compare.")  # fmt: skip
    if not s.early_close:
        return None
    if s.stop_reason == "answer_budget":
        why = f"the answer budget ran out after the termination words ({s.answer_tokens} answer tokens)"
    else:
        why = f"the switch cap closed the thinking ({s.thinking_end} words) and only {s.answer_tokens} answer tokens followed"
    return f"note: {why}; the thinking may have ended early. Retry with --method cot to compare."


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if not args.question.strip():
            raise RioError("The question is empty.")
        if args.max_new_tokens < 1:
            raise RioError("--max-new-tokens must be at least 1.")
        if args.backend == "openai":
            if not args.base_url:
                raise RioError(
                    "--backend openai needs --base-url (or RIO_BASE_URL), e.g. http://host:8000/v1."
                )
            return run(args)
        args.model = args.model or DEFAULT_PRESET
        known = args.model in PRESETS or Path(args.model).exists() or "/" in args.model
        if not known and not (args.backend == "llamacpp" and args.model.endswith(".gguf")):
            raise RioError(
                f"Unknown model {args.model!r}: use a preset ({', '.join(PRESETS)}), a hub id or a folder."
            )
        return run(args)
    except RioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def llama_options(args: argparse.Namespace) -> LlamaOptions | None:
    """The llama.cpp options when the backend is llamacpp, else None (torch)."""
    if args.backend != "llamacpp":
        return None
    return LlamaOptions(
        n_ctx=args.n_ctx, threads=args.threads, tokenizer=args.tokenizer, mmproj=args.mmproj,
        exact_mix=args.exact_mix,
    )  # fmt: skip


def load(args: argparse.Namespace):
    """The backend the options name: a local model (torch or llama.cpp), or a connection to a server."""
    if args.backend == "openai":
        from engine.backends.remote import RemoteOptions, connect

        opts = RemoteOptions(swir_extension=args.swir_extension, tokenizer=args.tokenizer)
        return connect(args.base_url, args.model, args.api_key, options=opts)
    from engine.backends.local import load_backend

    return load_backend(args.model, fallback=False, device=args.device, llama=llama_options(args))


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args, recommended_settings(PRESETS.get(args.model or "")))
    backend = load(args)
    if settings.method not in backend.info.methods:
        print(f"note: {backend.info.name} does not run {settings.method}; running cot. "
              f"{backend.info.note}", file=sys.stderr)  # fmt: skip
        settings = settings.with_method("cot")
    backend.check_media(args.image, args.video)
    turn = Turn("user", args.question, tuple(args.image), tuple(args.video))
    model = {"preset": args.model or backend.info.name, "source": backend.info.source}
    recorder = TraceRecorder(model, settings)
    cancel = threading.Event()
    events = backend.chat([turn], settings, cancel)
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    try:
        done = stream(events, sys.stdout, color, recorder)
    finally:  # a stream cut mid-answer still writes what arrived
        if args.trace:
            args.trace.write_text(recorder.to_json(indent=1), encoding="utf-8")
            print(f"trace written to {args.trace}", file=sys.stderr)
    if done:
        print(summary_line(done), file=sys.stderr)
        if note := early_close_note(done):
            print(note, file=sys.stderr)
    return 0
