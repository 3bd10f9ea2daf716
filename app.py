"""Rio Chat's entry point: `python app.py [--model PRESET|ID|FOLDER|FILE.gguf] [--backend local|llamacpp|openai]
[--host H] [--port P] [--share] [--no-model-switch]`.

Owns: reading the arguments (or the environment: RIO_MODEL, RIO_HOST /
GRADIO_SERVER_NAME, RIO_PORT / GRADIO_SERVER_PORT, RIO_ALLOW_MODEL_SWITCH,
RIO_MAX_PROMPT_TOKENS, RIO_BACKEND, RIO_BATCH_ROWS, RIO_THREADS, RIO_N_CTX,
RIO_EXACT_MIX, RIO_TOKENIZER),
loading the backend once (falling back to the offline default, with the
reason shown in the page header) and launching the app. On Hugging Face Spaces, `python app.py`
with no arguments does the same. Leaves the page to `rio_app.layout` and
models to `engine.backends.local`.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import replace
from functools import partial

from engine.cli import BACKENDS, EXACT_MIX_HELP, env_flag, env_int, llama_options
from engine.models.presets import DEFAULT_PRESET
from engine.runtimes.llamacpp import DEFAULT_N_CTX
from rio_app.state import OFF_WORDS, switch_allowed_by_env

DEFAULT_MAX_PROMPT_TOKENS = 32_768  # a public server should not prefill a 262k-token paste
# Measured (docs/RELIABILITY.md): 20 visitors at once on smollm2-offline get their first token
# in 8 s at p95 with 20 rows, 17 s with 8; a step of a small model costs little more for many rows.
# llama.cpp reserves every sequence's whole context when it starts, so it gets fewer by default.
DEFAULT_BATCH_ROWS = {"local": 20, "llamacpp": 8}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    p = argparse.ArgumentParser(description="Rio Chat: SwiReasoning chat with text, images and video.")
    p.add_argument(
        "--model", default=env.get("RIO_MODEL", DEFAULT_PRESET), help="preset name, hub id or local folder"
    )
    p.add_argument(
        "--host",
        default=env.get("RIO_HOST") or env.get("GRADIO_SERVER_NAME") or "127.0.0.1",
        help="address to serve on",
    )
    port = env.get("RIO_PORT") or env.get("GRADIO_SERVER_PORT") or "7860"
    p.add_argument("--port", type=int, default=int(port))
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    p.add_argument(
        "--no-model-switch",
        dest="allow_model_switch",
        action="store_false",
        default=switch_allowed_by_env(),
        help="keep the loaded model: visitors cannot load another one (for public servers; "
        "also RIO_ALLOW_MODEL_SWITCH=0)",
    )
    p.add_argument(
        "--max-prompt-tokens",
        type=int,
        default=int(env.get("RIO_MAX_PROMPT_TOKENS") or DEFAULT_MAX_PROMPT_TOKENS),
        help="refuse longer prompts (a clear message, no prefill); 0 = the model's whole context "
        "(also RIO_MAX_PROMPT_TOKENS)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=env.get("RIO_BACKEND", "local"),
        help="local: run the model here with torch; llamacpp: run a GGUF here with llama.cpp (needs "
        "llama-cpp-python); openai: an OpenAI-compatible server (vLLM, SGLang)",
    )
    p.add_argument(
        "--batch-rows",
        type=int,
        default=env_int("RIO_BATCH_ROWS"),
        help="visitors' runs decoded together in one batch (1: one at a time; default 20, 8 on "
        "llama.cpp); also RIO_BATCH_ROWS",
    )
    p.add_argument("--threads", type=int, default=env_int("RIO_THREADS"), help="llama.cpp CPU threads")
    p.add_argument(
        "--mmproj",
        default=env.get("RIO_MMPROJ"),
        help="llama.cpp vision projector GGUF (default: an mmproj*.gguf beside the model)",
    )
    p.add_argument(
        "--n-ctx", type=int, default=env_int("RIO_N_CTX") or DEFAULT_N_CTX, help="llama.cpp context length"
    )
    p.add_argument("--exact-mix", action="store_true", default=env_flag("RIO_EXACT_MIX"), help=EXACT_MIX_HELP)
    p.add_argument("--base-url", default=env.get("RIO_BASE_URL"), help="the server, e.g. http://host:8000/v1")
    p.add_argument("--api-key", default=env.get("RIO_API_KEY"))
    p.add_argument(
        "--swir-extension",
        action="store_true",
        default=env.get("RIO_SWIR_EXTENSION", "0").strip().lower() not in ("", *OFF_WORDS),
        help="speak the SwiReasoning request extension of the vLLM fork (needs --tokenizer)",
    )
    p.add_argument(
        "--tokenizer",
        default=env.get("RIO_TOKENIZER"),
        help="the model's Hugging Face tokenizer folder (a remote server's signal-token ids, or a GGUF "
        "whose own tokenizer transformers cannot read)",
    )
    args = p.parse_args(argv)
    if args.batch_rows is None:
        args.batch_rows = DEFAULT_BATCH_ROWS.get(args.backend, 1)
    return args


def make_backend(args: argparse.Namespace):
    """The backend to serve: local (with the offline fallback), or a remote server.
    A remote server that cannot be reached falls back to the offline default too."""
    from engine.backends.local import load_backend
    from engine.errors import RioError

    cap = args.max_prompt_tokens or None
    if args.backend == "openai":
        from engine.backends.remote import RemoteOptions, connect

        try:
            options = RemoteOptions(swir_extension=args.swir_extension, tokenizer=args.tokenizer)
            model = None if args.model == DEFAULT_PRESET else args.model
            return connect(args.base_url or "", model, args.api_key, options=options)
        except RioError as err:
            backend = load_backend(DEFAULT_PRESET, max_prompt_tokens=cap, max_batch_rows=args.batch_rows)
            note = f"{err} {backend.info.note or f'Running the offline model {backend.info.name} instead.'}"
            backend.info = replace(backend.info, note=note)
            return backend
    return load_backend(
        args.model,
        fallback=True,
        max_prompt_tokens=cap,
        llama=llama_options(args),
        max_batch_rows=args.batch_rows,
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from engine.backends.local import load_backend
    from rio_app.layout import build_app, launch_kwargs
    from rio_app.state import ModelHolder

    backend = make_backend(args)
    if backend.info.note:
        logging.getLogger("rio").warning(backend.info.note)
    # The holder enforces the choice server-side: the load endpoint stays reachable by API.
    holder = ModelHolder(backend, allow_switch=args.allow_model_switch)
    # a model a visitor switches to runs where and how this one does
    loader = partial(load_backend, llama=llama_options(args), max_batch_rows=args.batch_rows)
    demo = build_app(holder, allow_model_switch=args.allow_model_switch, load_backend=loader)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, **launch_kwargs())


if __name__ == "__main__":
    main()
