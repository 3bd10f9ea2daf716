"""Train the tiny qwen3_5_moe on the synthetic tasks, on a CPU or a CUDA GPU, in one command.

    python -m train.tiny_moe_train --seed 0 --out models/tiny-moe                 # CPU, from scratch
    python -m train.tiny_moe_train --seed 0 --out DIR --device cuda --minutes 5   # GPU, bf16, a time budget
    python -m train.tiny_moe_train --init models/tiny-moe --out DIR --minutes 95  # continue trained weights

`models/tiny-moe` holds v2: v1 (the first line) continued with `--init`; its card gives the command.

With `--minutes M` both stages share a wall-clock budget (stage 1 `--vision-frac` of it) and
each stage's learning-rate schedule (warm-up, cosine to 5%) runs over its share of the time, so
training ends cleanly whatever a step costs. Batches are seeded by (seed, pool or step index),
rendered by `--workers` forked processes ahead of the training loop, and come out the same on
any device and worker count; with a time budget the number of steps taken depends on the speed.

Owns: turning `train.tiny_moe_data` examples into model inputs exactly as the app builds them
(the chat template with the generation prompt, then the trace, `</think>`, the answer and
`<|im_end|>`; images as PIL pictures and clips as the frames 2-fps sampling takes, through the
same processor), length-bucketed batches under a token budget, the loss (cross-entropy on the
assistant's tokens plus a per-layer load-balancing loss on the router), the optimiser and its
schedule, resumable checkpoints (`.cache/tiny_moe_train/`, pickles that never leave this
machine; `--ckpt-dir`), a short greedy check on held-out examples (also with the held-out
renderer settings), and writing the finished folder with
`engine.models.tiny_moe.save_checkpoint` (safetensors) plus `training_log.jsonl`.
Leaves the tasks to `tiny_moe_data.py`, the architecture and files to `engine/models/tiny_moe.py`.
Everything is seeded: the same seed and step count give the same data and initial weights.
"""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning: on 2 cores shared with another job, spinning
# made the gated delta net's batched triangular solves 5x slower (set before torch loads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Everything is built here: no Hub look-ups, and no kernel downloads (transformers would otherwise
# try the Hub for the gated delta net's and the short convolution's kernels, and wait on a machine
# without a network); the reference PyTorch paths run on every device.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("USE_HUB_KERNELS", "NO")

import argparse  # noqa: E402
import collections  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import asdict, dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from engine.config import STEP_BY_STEP_SUFFIX  # noqa: E402
from engine.media import trim_margins  # noqa: E402
from engine.models import tiny_moe  # noqa: E402
from train import tiny_moe_data as data  # noqa: E402
from train import tiny_moe_media as media  # noqa: E402

IGNORE = -100
MIN_FONTS = 8  # fewer font files than this: the renderer variety is missing, refuse to train
CKPT_DIR = Path(".cache/tiny_moe_train")


@dataclass(frozen=True)
class TrainConfig:
    """The recipe (CPU defaults; `for_device` enlarges the batches on a GPU)."""

    seed: int = 0
    steps: int = 2400
    batch_tokens: int = 4096  # padded tokens per batch
    lr: float = 2e-3
    min_lr_ratio: float = 0.05
    warmup: int = 200
    weight_decay: float = 0.05
    clip: float = 1.0
    balance_coef: float = 0.01  # per-layer Switch-style load-balancing loss
    vision_coef: float = 1.0  # the auxiliary vision readouts (VisionHeads)
    vision_steps: int = 1200  # stage 1: the vision tower alone on its readouts
    vision_batch: int = 64  # pictures and clips per stage-1 step
    vision_lr: float = 3e-3
    pool: int = 384  # examples encoded, sorted by length and cut into batches at a time
    p_suffix: float = 0.2  # the step-by-step request appended to the question
    p_no_think: float = 0.04  # thinking off: the answer right after the empty think block
    p_jpeg: float = 0.5  # a picture goes through a JPEG save first (the held-out pictures are JPEGs)
    rules_share: float = 0.3  # training expressions drawn with lines beside them (`media.RULES_P`)
    everyday_questions: float = 0.0  # questions drawn from data.EVERYDAY_QUESTIONS (`data.P_EVERYDAY`)
    weights: tuple[tuple[str, float], ...] = (
        ("text", 0.18),
        ("image", 0.34),
        ("shapes", 0.2),
        ("video", 0.14),
        ("double", 0.14),
    )
    threads: int = 2
    device: str = "cpu"
    bf16: bool = False  # autocast to bfloat16 (float32 weights and optimiser state)
    minutes: float = 0.0  # > 0: a wall-clock budget for both stages instead of the step counts
    vision_frac: float = 0.2  # stage 1's share of the budget
    warmup_frac: float = 0.05  # of a stage's budget, with --minutes
    max_steps: int = 0  # > 0: a cap on each stage's steps (a dry run)
    workers: int = 0  # processes rendering batches ahead of the loop (0: in the loop)
    image_tokens: tuple[int, int] = (16, 64)  # the processor's vision-token budget per picture
    # The saved folder's budget: a small picture is enlarged to 36 tokens when read, which
    # reads unseen renderers better than the 28-64 pictures are trained at (chosen on the
    # validation sets drawn with seeds 7 and 8, first 28 for v7's tower, then 36 for v13's
    # averaged one; docs/MODEL-tiny-moe.md, "Reading budget").
    read_tokens: tuple[int, int] = (36, 64)
    # The saved folder reads a picture cropped to its content (`engine.media.trim_margins`): a
    # small label in a wide picture gets the vision tokens a whole picture would (chosen on the
    # same validation sets for v15; the card's "Reading trimmed").
    read_trimmed: bool = True
    # Training pictures cropped the same way before the processor, so the language model learns
    # to read what the folder reads. Needs freeze_vision: the tower's readouts place characters
    # and squares on the whole canvas.
    trim_pictures: bool = False
    experts: str = "auto"  # transformers' experts kernel: grouped_mm, eager, or auto (probe the device)
    init: str = ""  # a trained tiny-moe folder to start from instead of fresh weights
    # The vision tower kept as it is (no stage 1, no readouts, no gradients through it): the
    # language model learns to read a tower made elsewhere, e.g. an average of checkpoints'.
    freeze_vision: bool = False


def for_device(cfg: TrainConfig) -> TrainConfig:
    """Bigger batches on a GPU (the same seeded stream of examples, cut into fewer batches)."""
    if not cfg.device.startswith("cuda"):
        return cfg
    return replace(
        cfg, batch_tokens=4 * cfg.batch_tokens, vision_batch=4 * cfg.vision_batch, pool=4 * cfg.pool
    )


# ---------------------------------------------------------------- examples -> inputs


def messages(ex: data.Example, suffix: bool) -> list[dict]:
    """Chat messages as `engine.prompt.build_messages` makes them for a multimodal model."""
    out = []
    for turn in ex.history:
        parts = [{"type": "image"} for _ in turn.get("images", ())]
        out.append({"role": turn["role"], "content": [*parts, {"type": "text", "text": turn["text"]}]})
    text = f"{ex.question}\n{STEP_BY_STEP_SUFFIX}" if suffix else ex.question
    parts = [{"type": "image"} for _ in ex.images] + ([{"type": "video"}] if ex.frames is not None else [])
    out.append({"role": "user", "content": [*parts, {"type": "text", "text": text}]})
    return out


def clip_metadata(frames) -> object:
    """The `VideoMetadata` the app builds for a clip file of these numbers
    (`engine.media.VideoClip.metadata`, repeated here so that training needs no PyAV)."""
    from transformers.video_utils import VideoMetadata

    n = len(frames) // len(media.SAMPLED_OFFSETS)
    step = 1.0 / 2  # the app's 2 frames per second
    total = n * media.FRAMES_PER_NUMBER
    indices = [min(max(round(i * step * media.CLIP_FPS), 0), total - 1) for i in range(len(frames))]
    return VideoMetadata(
        total_num_frames=total,
        fps=float(media.CLIP_FPS),
        width=frames.shape[2],
        height=frames.shape[1],
        duration=n * media.FRAMES_PER_NUMBER / media.CLIP_FPS,
        video_backend="pyav",
        frames_indices=indices,
    )


def encode(ex: data.Example, processor, rng: random.Random, cfg: TrainConfig) -> dict:
    """Model inputs and labels (the assistant's tokens only) for one example."""
    thinking = rng.random() >= cfg.p_no_think
    prompt = processor.apply_chat_template(
        messages(ex, rng.random() < cfg.p_suffix), tokenize=False, add_generation_prompt=True,
        enable_thinking=thinking,
    )  # fmt: skip
    completion = (
        f"{ex.thinking}\n</think>\n\n{ex.answer_text}<|im_end|>"
        if thinking
        else f"{ex.answer_text}<|im_end|>"
    )
    images = [im for turn in ex.history for im in turn.get("images", ())] + list(ex.images)
    images = [media.jpeg_roundtrip(im, rng) if rng.random() < cfg.p_jpeg else im for im in images]
    if cfg.trim_pictures:
        images = [trim_margins(im) for im in images]
    kwargs: dict = {"text": [prompt + completion], "return_tensors": "pt"}
    if images:
        kwargs["images"] = images
    if ex.frames is not None:
        frames = media.yuv420_roundtrip(ex.frames)
        kwargs |= {"videos": [frames], "video_metadata": [clip_metadata(frames)], "do_sample_frames": False}
    out = dict(processor(**kwargs))
    target = processor.tokenizer(completion, add_special_tokens=False)["input_ids"]
    ids = out["input_ids"][0]
    if ids[-len(target) :].tolist() != target:
        raise RuntimeError(f"the completion of {ex.id} does not tokenize on its own")
    labels = torch.full_like(ids, IGNORE)
    labels[-len(target) :] = ids[-len(target) :]
    out["labels"] = labels[None]
    out["kind"] = ex.kind
    history_images = len(images) - len(ex.images)
    out["vision_targets"] = [None] * history_images + [ex.vision or None for _ in ex.images]
    out["video_targets"] = [ex.numbers] if ex.frames is not None else []
    return out


def collate(items: list[dict], pad_id: int) -> dict:
    """Right-padded batch; pixel inputs concatenated in example order."""
    n = max(it["input_ids"].shape[1] for it in items)

    def pad(key: str, value: int) -> torch.Tensor:
        return torch.cat([F.pad(it[key], (0, n - it[key].shape[1]), value=value) for it in items])  # [B, n]

    batch = {
        "input_ids": pad("input_ids", pad_id),
        "attention_mask": pad("attention_mask", 0),
        "mm_token_type_ids": pad("mm_token_type_ids", 0),
        "labels": pad("labels", IGNORE),
    }
    for key in ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw"):
        parts = [it[key] for it in items if key in it]
        if parts:
            batch[key] = torch.cat(parts)
    batch["kinds"] = [it["kind"] for it in items]
    batch["vision_targets"] = [t for it in items for t in it["vision_targets"]]
    batch["video_targets"] = [t for it in items for t in it["video_targets"]]
    return batch


def pool_batches(cfg: TrainConfig, processor, k: int) -> list[dict]:
    """Pool `k`: `cfg.pool` examples seeded by (seed, k), encoded, sorted by length, cut under
    the token budget and shuffled."""
    pad_id = processor.tokenizer.pad_token_id
    rng = random.Random(f"{cfg.seed}/{k}")
    stream = data.stream(rng.getrandbits(32), dict(cfg.weights))
    items = sorted((encode(next(stream), processor, rng, cfg) for _ in range(cfg.pool)),
                   key=lambda it: it["input_ids"].shape[1])  # fmt: skip
    groups, group = [], []
    for it in items:
        if group and (len(group) + 1) * it["input_ids"].shape[1] > cfg.batch_tokens:
            groups.append(group)
            group = []
        group.append(it)
    groups.append(group)
    rng.shuffle(groups)
    return [collate(g, pad_id) for g in groups]


# ---------------------------------------------------------------- rendering ahead, in processes

_WORKER: dict = {}  # what forked workers inherit: the processor and the recipe


def _worker_init() -> None:
    torch.set_num_threads(1)


PIXELS = ("pixel_values", "pixel_values_videos")  # normalised with mean = std = 0.5: (x / 255 - 0.5) / 0.5


def _numpy(batch: dict) -> dict:
    """A batch as numpy arrays for the trip between processes; the pixels (resized 8-bit values,
    normalised) go back to uint8, a quarter of the bytes, without loss."""
    import numpy as np

    out = {k: (v.numpy() if torch.is_tensor(v) else v) for k, v in batch.items()}
    for k in PIXELS:
        if k in out:
            out[k] = np.clip(np.rint((out[k] * 0.5 + 0.5) * 255), 0, 255).astype(np.uint8)
    return out


def _torch(batch: dict) -> dict:
    import numpy as np

    out = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in batch.items()}
    for k in PIXELS:
        if k in out and out[k].dtype == torch.uint8:
            out[k] = out[k].float().div_(255).sub_(0.5).div_(0.5)
    return out


def _lm_job(k: int) -> list[dict]:
    return [_numpy(b) for b in pool_batches(_WORKER["cfg"], _WORKER["processor"], k)]


def _vision_job(step: int) -> dict:
    cfg = _WORKER["cfg"]
    rng = random.Random(f"{cfg.seed}/vision/{step}")
    return _numpy(vision_batch(_WORKER["processor"], rng, cfg, cfg.vision_batch))


class Ahead:
    """Results of `job(i)` for i = start, start + 1, ... in order, computed `depth` ahead by a
    pool of forked workers (or in the caller's process when there are none). `wait_s` sums the
    time the caller waited."""

    def __init__(self, pool, job: Callable[[int], object], start: int, depth: int) -> None:
        self.pool, self.job, self.next, self.depth = pool, job, start, depth
        self.queue: collections.deque = collections.deque()
        self.wait_s = 0.0

    def get(self) -> tuple[int, object]:
        if self.pool is None:
            i, self.next = self.next, self.next + 1
            t = time.time()
            out = self.job(i)
            self.wait_s += time.time() - t
            return i, out
        while len(self.queue) < self.depth:
            self.queue.append((self.next, self.pool.apply_async(self.job, (self.next,))))
            self.next += 1
        i, res = self.queue.popleft()
        t = time.time()
        out = res.get()
        self.wait_s += time.time() - t
        return i, out


def batches(cfg: TrainConfig, processor, start_pool: int = 0, pool=None) -> Iterator[tuple[int, dict]]:
    """(pool index, batch) forever, from `start_pool` on."""
    _WORKER.update(cfg=cfg, processor=processor)
    ahead = Ahead(pool, _lm_job, start_pool, max(2, 2 * cfg.workers))
    batches.ahead = ahead
    while True:
        k, group = ahead.get()
        for b in group:
            yield k, _torch(b)


# ---------------------------------------------------------------- loss


def balance_loss(router_logits: tuple[torch.Tensor, ...], mask: torch.Tensor, top_k: int) -> torch.Tensor:
    """Mean over layers of the Switch load-balancing loss (1.0 when perfectly even)."""
    m = mask.reshape(-1).float()  # [B*T]
    total = torch.zeros((), device=m.device)
    for logits in router_logits:  # [B*T, E]
        probs = logits.float().softmax(-1)
        chosen = torch.zeros_like(probs).scatter(1, probs.topk(top_k, -1).indices, 1.0)
        frac = (chosen * m[:, None]).sum(0) / (m.sum() * top_k)  # [E] share of assignments
        prob = (probs * m[:, None]).sum(0) / m.sum()  # [E] mean router probability
        total = total + probs.shape[-1] * (frac * prob).sum()
    return total / len(router_logits)


EXPR_CLASSES = ("", *"0123456789", "+", "-", "×")  # class 0: no character centred in the column
EXPR_SLOTS = 3  # characters read out per token column (small print puts three in one)
SQUARE_CLASSES = 4  # squares centred in a token: 0, 1, 2, 3 or more


class VisionHeads(torch.nn.Module):
    """Training-only readouts of the vision tower's output tokens (never shipped): the
    characters centred in each token column of an expression picture (three slots, left to
    right), the squares centred in each token of a shapes picture, the number in each frame
    pair of a clip."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.expr = torch.nn.Linear(hidden, EXPR_SLOTS * len(EXPR_CLASSES))
        self.shapes = torch.nn.Linear(hidden, SQUARE_CLASSES)
        self.video = torch.nn.Linear(hidden, 10)


def _expr_targets(target: tuple, grid: list[int]) -> torch.Tensor:
    """[columns, 2] class ids: the characters whose centres fall in each merged-token column."""
    _, canvas_w, chars = target
    cols = grid[2] // 2
    scale = grid[2] * 16 / canvas_w  # the processor resized the picture to grid_w x 16 pixels
    slots = [[] for _ in range(cols)]
    for c, x in chars:
        slots[min(cols - 1, max(0, int(x * scale // 32)))].append(EXPR_CLASSES.index(c))
    return torch.tensor([(s + [0] * EXPR_SLOTS)[:EXPR_SLOTS] for s in slots])


def _square_targets(scene: media.Scene, grid: list[int]) -> torch.Tensor:
    """[rows * cols] squares centred in each merged token (the picture resized to the grid)."""
    rows, cols = grid[1] // 2, grid[2] // 2
    counts = [0] * (rows * cols)
    for sh in scene.shapes:
        if sh.kind == "square":
            cx, cy = sh.centre
            r = min(rows - 1, int(cy / scene.h * rows))
            c = min(cols - 1, int(cx / scene.w * cols))
            counts[r * cols + c] = min(SQUARE_CLASSES - 1, counts[r * cols + c] + 1)
    return torch.tensor(counts)


def vision_aux_loss(heads: VisionHeads, feats: dict, batch: dict) -> torch.Tensor | None:
    """Mean cross-entropy of the readouts over the pictures and clips of the batch."""
    losses = []
    images = feats.get("image")
    for f, grid, target in zip(
        images or (), batch.get("image_grid_thw", ()), batch["vision_targets"], strict=True
    ):
        grid = grid.tolist()
        tokens = f.view(grid[1] // 2, grid[2] // 2, -1)  # [rows, cols, H]
        if target is None:
            continue
        if target[0] == "expr":
            logits = heads.expr(tokens.mean(0)).view(-1, len(EXPR_CLASSES)).float()  # [cols * slots, C]
            losses.append(F.cross_entropy(logits, _expr_targets(target, grid).view(-1).to(f.device)))
        else:
            logits = heads.shapes(tokens.reshape(-1, tokens.shape[-1])).float()  # [tokens, 4]
            losses.append(F.cross_entropy(logits, _square_targets(target[1], grid).to(f.device)))
    videos = feats.get("video")
    for f, grid, numbers in zip(
        videos or (), batch.get("video_grid_thw", ()), batch["video_targets"], strict=True
    ):
        groups = f.view(int(grid[0]), -1, f.shape[-1]).mean(1)  # [T/2, H]: one number each
        if groups.shape[0] == len(numbers):
            losses.append(
                F.cross_entropy(heads.video(groups).float(), torch.tensor(numbers, device=f.device))
            )
    return torch.stack(losses).mean() if losses else None


def _encoder_outputs(model, batch: dict) -> tuple[dict, dict]:
    """The vision tower run once per modality; its outputs feed both the model and the readouts."""
    outputs, feats = {}, {}
    for kind, pixels, grid in (("image", "pixel_values", "image_grid_thw"),
                               ("video", "pixel_values_videos", "video_grid_thw")):  # fmt: skip
        if pixels in batch:
            get = model.model.get_image_features if kind == "image" else model.model.get_video_features
            outputs[kind] = get(batch[pixels], batch[grid], return_dict=True)
            feats[kind] = outputs[kind].pooler_output  # per picture: [tokens, H]
    return outputs, feats


def forward_loss(model, heads: VisionHeads, batch: dict, cfg: TrainConfig) -> tuple[torch.Tensor, dict]:
    skip = ("labels", "kinds", "vision_targets", "video_targets", "pixel_values", "pixel_values_videos")
    inputs = {k: v for k, v in batch.items() if k not in skip}
    with torch.set_grad_enabled(not cfg.freeze_vision):
        encoded, feats = _encoder_outputs(model, batch)
    out = model(**inputs, mm_encoder_outputs=encoded or None, output_router_logits=True, use_cache=False)
    logits = out.logits[:, :-1].float()  # [B, T-1, V]
    labels = batch["labels"][:, 1:]  # [B, T-1]
    tok_loss = F.cross_entropy(
        logits.transpose(1, 2), labels, ignore_index=IGNORE, reduction="none"
    )  # [B, T-1]
    counts = (labels != IGNORE).sum(1).clamp(min=1)  # [B]
    ce = tok_loss.sum() / counts.sum()
    bal = balance_loss(
        out.router_logits, batch["attention_mask"], model.config.text_config.num_experts_per_tok
    )
    aux = None if cfg.freeze_vision else vision_aux_loss(heads, feats, batch)
    loss = ce + cfg.balance_coef * bal + (cfg.vision_coef * aux if aux is not None else 0.0)
    per_example = (tok_loss.sum(1) / counts).tolist()
    parts = {"ce": ce.item(), "balance": bal.item(), "vision": aux.item() if aux is not None else None,
             "per_example": per_example}  # fmt: skip
    return loss, parts


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def lr_at_fraction(p: float, peak: float, cfg: TrainConfig) -> float:
    """The budgeted schedule: linear warm-up over `warmup_frac`, then cosine to `min_lr_ratio`
    at p = 1 (p: the share of the stage's time used)."""
    if p < cfg.warmup_frac:
        return peak * max(0.02, p / cfg.warmup_frac)
    t = min(1.0, (p - cfg.warmup_frac) / (1 - cfg.warmup_frac))
    return peak * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


class Budget:
    """A stage's end: its step count, or its share of the time (`seconds`), capped by `max_steps`."""

    def __init__(self, steps: int, seconds: float, max_steps: int, used_s: float = 0.0) -> None:
        self.steps, self.seconds, self.max_steps = steps, seconds, max_steps
        self.t0 = time.time() - used_s

    def elapsed(self) -> float:
        return time.time() - self.t0

    def progress(self, step: int) -> float:
        if self.seconds > 0:
            return self.elapsed() / self.seconds
        return step / max(1, self.steps)

    def done(self, step: int) -> bool:
        if self.max_steps and step >= self.max_steps:
            return True
        return self.elapsed() >= self.seconds if self.seconds > 0 else step >= self.steps


def grouped_mm_works(device: str) -> bool:
    """Whether transformers' default experts kernel (grouped matmul) runs forward and backward in
    float32 on `device` (weights stay float32 under autocast); else the model uses the loop."""
    try:
        x = torch.randn(8, 16, device=device, requires_grad=True)
        w = torch.randn(2, 16, 4, device=device, requires_grad=True)
        offs = torch.tensor([4, 8], device=device, dtype=torch.int32)
        mm = getattr(torch.nn.functional, "grouped_mm", None) or torch._grouped_mm
        out = mm(x, w, offs=offs)  # [8, 4]
        (out * torch.randn_like(out)).sum().backward()  # a dense gradient, as in training
        return True
    except Exception:  # noqa: BLE001 - any failure means: do not use it
        return False


def autocast(cfg: TrainConfig):
    if cfg.bf16:
        return torch.autocast(device_type=torch.device(cfg.device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(batch: dict, device: str) -> dict:
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


def make_optimizer(modules: list[torch.nn.Module], cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    rest = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98), eps=1e-8)


# ---------------------------------------------------------------- stage 1: the vision tower alone

VISION_MIX = (("image", 0.5), ("shapes", 0.3), ("video", 0.2))


def vision_batch(processor, rng: random.Random, cfg: TrainConfig, n: int) -> dict:
    """`n` freshly drawn pictures and clips (training split), as pixel inputs with their targets."""
    kinds, weights = zip(*VISION_MIX, strict=True)
    images, image_targets, clips, numbers = [], [], [], []
    for _ in range(n):
        ex = data.make_example(rng.choices(kinds, weights)[0], rng.choice(data.LANGS), rng)
        if ex.frames is not None:
            clips.append(media.yuv420_roundtrip(ex.frames))
            numbers.append(ex.numbers)
        else:
            im = ex.images[0]
            images.append(media.jpeg_roundtrip(im, rng) if rng.random() < cfg.p_jpeg else im)
            image_targets.append(ex.vision)
    batch: dict = {"vision_targets": image_targets, "video_targets": numbers}
    if images:
        batch |= dict(processor.image_processor(images=images, return_tensors="pt"))
    if clips:
        batch |= dict(processor.video_processor(videos=clips, do_sample_frames=False, return_tensors="pt"))
    return batch


def pretrain_vision(model, heads: VisionHeads, processor, cfg: TrainConfig, budget: Budget, pool=None,
                    start: int = 0, save: Callable | None = None) -> list[dict]:  # fmt: skip
    """Stage 1: the vision tower and the readouts alone, on many small pictures (no language
    model in the loop, so a picture costs a few milliseconds); returns the log."""
    params = [*model.model.visual.parameters(), *heads.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.vision_lr, betas=(0.9, 0.98), weight_decay=cfg.weight_decay)
    _WORKER.update(cfg=cfg, processor=processor)
    ahead = Ahead(pool, _vision_job, start, max(2, 2 * cfg.workers))
    log, window, step, t_steps = [], [], start, 0.0
    while not budget.done(step):
        p = budget.progress(step)
        for g in opt.param_groups:
            if budget.seconds > 0:
                g["lr"] = cfg.vision_lr * (0.1 + 0.9 * lr_at_fraction(p, 1.0, replace(cfg, min_lr_ratio=0.0)))
            else:
                g["lr"] = (
                    cfg.vision_lr
                    * min(1.0, (step + 1) / 50)
                    * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))
                )
        _, batch = ahead.get()
        t = time.time()
        batch = to_device(_torch(batch), cfg.device)
        with autocast(cfg):
            _, feats = _encoder_outputs(model, batch)
            loss = vision_aux_loss(heads, feats, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        opt.step()
        window.append(loss.item())
        t_steps += time.time() - t
        step += 1
        if step % 50 == 0 or budget.done(step):
            rec = {"vision_step": step, "vision": round(sum(window) / len(window), 4),
                   "lr": round(opt.param_groups[0]["lr"], 6), "wall_s": round(budget.elapsed(), 1),
                   "step_s": round(t_steps / len(window), 4), "data_wait_s": round(ahead.wait_s, 1),
                   "device": cfg.device}  # fmt: skip
            log.append(rec)
            print(json.dumps(rec), flush=True)
            window, t_steps = [], 0.0
        if save is not None:
            save(1, step, 0, budget.elapsed())
    return log


# ---------------------------------------------------------------- a quick greedy check


def _last_boxed() -> Callable[[str], str | None]:
    """`engine.eval.last_boxed`; where PyAV is missing (engine.eval imports the media module,
    which needs it), the same rule for the plain `\\boxed{digits}` answers of these tasks."""
    try:
        from engine.eval import last_boxed

        return last_boxed
    except ImportError:
        import re

        def boxed(text: str) -> str | None:
            found = re.findall(r"\\boxed\{([^{}]*)\}", text)
            return found[-1].strip() if found else None

        return boxed


CHECKS = (*((k, k, "train") for k in data.KINDS), ("after", "after", "train"),
          ("image_unseen", "image", "heldout"), ("shapes_unseen", "shapes", "heldout"))  # fmt: skip


@torch.no_grad()
def quick_eval(
    model, processor, n: int, seed: int = 7, device: str = "cpu", max_new_tokens: int = 240
) -> dict:
    """Greedy accuracy on `n` held-out examples per kind (the boxed number); `*_unseen` also
    draws them with the held-out renderer settings."""
    last_boxed = _last_boxed()

    model.eval()
    rng, scores = random.Random(seed), {}
    for name, kind, split in CHECKS:
        right = 0
        for i in range(n):
            ex = data.make_example(kind, data.LANGS[i % 2], rng, heldout=True, split=split)
            item = encode(
                ex, processor, random.Random(0), TrainConfig(p_suffix=0.0, p_no_think=0.0, p_jpeg=1.0)
            )
            start = int((item["labels"][0] == IGNORE).sum())
            inputs = {k: (v[:, :start] if k in ("input_ids", "attention_mask", "mm_token_type_ids") else v).to(device)
                      for k, v in item.items() if torch.is_tensor(v) and k != "labels"}  # fmt: skip
            model.model.rope_deltas = None
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
            text = processor.tokenizer.decode(out[0, start:], skip_special_tokens=True)
            right += last_boxed(text.split("</think>")[-1]) == ex.answer
        scores[name] = right / n
    model.train()
    return scores


# ---------------------------------------------------------------- the loop


def _save_state(path: Path, model, heads, opt, stage: int, step: int, pool: int, used_s: float,
                vision_s: float = 0.0) -> None:  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    state = {"model": model.state_dict(), "heads": heads.state_dict(),
             "opt": opt.state_dict() if opt is not None else None, "stage": stage, "step": step,
             "pool": pool, "used_s": used_s, "vision_s": vision_s}  # fmt: skip
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(
    cfg: TrainConfig, out_dir: Path, resume: bool, eval_every: int, eval_n: int, log_every: int,
    ckpt_dir: Path = CKPT_DIR, ckpt_minutes: float = 5.0,
) -> Path:  # fmt: skip
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    media.RULES_P = cfg.rules_share  # before the workers fork, so they draw the same pictures
    data.P_EVERYDAY = cfg.everyday_questions
    t_start = time.time()
    processor = tiny_moe.make_processor(tiny_moe.make_tokenizer(), cfg.image_tokens)
    reader = tiny_moe.make_processor(processor.tokenizer, cfg.read_tokens)  # what the folder ships
    _WORKER.update(cfg=cfg, processor=processor)
    pool = None
    if cfg.workers > 0:  # forked before CUDA starts; workers inherit the processor and the fonts
        pool = multiprocessing.get_context("fork").Pool(cfg.workers, initializer=_worker_init)
    spec = tiny_moe.TinyMoeSpec(seed=cfg.seed)
    model = tiny_moe.new_model(spec, processor.tokenizer).train()
    experts = cfg.experts
    if experts == "auto":
        experts = "grouped_mm" if grouped_mm_works(cfg.device) else "eager"
    model.set_experts_implementation(experts)
    heads = VisionHeads(spec.hidden_size)
    n_params = sum(p.numel() for p in model.parameters())
    model.to(cfg.device)
    heads.to(cfg.device)
    if cfg.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    ckpt = ckpt_dir / f"seed{cfg.seed}.pt"
    stage, step, k_pool, used_s = 1, 0, 0, 0.0
    state = None
    if resume and ckpt.is_file():
        state = torch.load(ckpt, weights_only=False, map_location=cfg.device)
        model.load_state_dict(state["model"])
        heads.load_state_dict(state["heads"])
        stage, step, k_pool, used_s = (
            state.get("stage", 2),
            state["step"],
            state["pool"],
            state.get("used_s", 0.0),
        )
        print(f"resumed in stage {stage} at step {step} (pool {k_pool}, {used_s:.0f} s used)", flush=True)
    elif cfg.init:  # a stopped run continues from its checkpoint, not from the folder again
        load_weights(model, Path(cfg.init))
    if cfg.freeze_vision:
        model.model.visual.requires_grad_(False)
        heads.requires_grad_(False)
    total_s = cfg.minutes * 60
    last_ckpt = [time.time()]
    vision_s = state.get("vision_s", 0.0) if state else 0.0

    def info(**extra) -> dict:
        return {"name": tiny_moe.TINY_MOE_NAME, "trained": True,
                "command": " ".join(["python -m train.tiny_moe_train", *sys.argv[1:]]),
                "train_config": asdict(cfg), "spec": asdict(spec), "parameters": n_params,
                "reading": {"trim_margins": cfg.read_trimmed},
                "torch": torch.__version__, "fonts": sorted(media.font_files()),
                "gpu": torch.cuda.get_device_name() if cfg.device.startswith("cuda") else None, **extra}  # fmt: skip

    def save_every(st: int, sp: int, kp: int, used: float, opt=None) -> None:
        if time.time() - last_ckpt[0] > ckpt_minutes * 60:
            _save_state(ckpt, model, heads, opt, st, sp, kp, used, vision_s)
            if st == 2:  # a usable folder already, should the run be cut short
                _write_folder(out_dir, model, reader, info(partial=True, steps=sp), log)
            last_ckpt[0] = time.time()

    print(json.dumps({"device": cfg.device, "bf16": cfg.bf16, "parameters": n_params, "workers": cfg.workers,
                      "experts": experts,
                      "batch_tokens": cfg.batch_tokens, "vision_batch": cfg.vision_batch,
                      "minutes": cfg.minutes, "fonts": len(media.font_files()),
                      "setup_s": round(time.time() - t_start, 1)}), flush=True)  # fmt: skip
    log: list[dict] = []
    if stage == 1 and not cfg.freeze_vision:
        vb = Budget(cfg.vision_steps, cfg.vision_frac * total_s, cfg.max_steps, used_s)
        log += pretrain_vision(model, heads, processor, cfg, vb, pool, start=step, save=save_every)
        vision_s, step, k_pool, used_s = vb.elapsed(), 0, 0, 0.0
    opt = make_optimizer([model, heads], cfg)
    if state is not None and stage == 2 and state["opt"] is not None:
        opt.load_state_dict(state["opt"])
        k_pool += 1
    lm_s = max(0.0, total_s - vision_s) if total_s > 0 else 0.0
    budget = Budget(cfg.steps, lm_s, cfg.max_steps, used_s)
    tokens, t_steps = 0, 0.0
    run = {"ce": 0.0, "balance": 0.0, "vision": [], "n": 0, "kinds": {}}
    stream = batches(cfg, processor, k_pool, pool)
    while not budget.done(step):
        p = budget.progress(step)
        lr = lr_at_fraction(p, cfg.lr, cfg) if budget.seconds > 0 else lr_at(step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr
        k_pool, batch = next(stream)
        t = time.time()
        batch = to_device(batch, cfg.device)
        with autocast(cfg):
            loss, parts = forward_loss(model, heads, batch, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], cfg.clip)
        opt.step()
        step += 1
        tokens += int(batch["attention_mask"].sum())
        t_steps += time.time() - t
        run["ce"] += parts["ce"]
        run["balance"] += parts["balance"]
        run["vision"] += [parts["vision"]] if parts["vision"] is not None else []
        run["n"] += 1
        for kind, value in zip(batch["kinds"], parts["per_example"], strict=True):
            run["kinds"].setdefault(kind, []).append(value)
        last = budget.done(step)
        if step % log_every == 0 or last:
            rec = {"step": step, "lr": round(lr, 6), "ce": round(run["ce"] / run["n"], 4),
                   "balance": round(run["balance"] / run["n"], 4), "tokens": tokens,
                   "vision": round(sum(run["vision"]) / max(1, len(run["vision"])), 4),
                   "wall_s": round(budget.elapsed(), 1), "step_s": round(t_steps / run["n"], 4),
                   "data_wait_s": round(batches.ahead.wait_s, 1),
                   "ce_by_kind": {k: round(sum(v) / len(v), 4) for k, v in sorted(run["kinds"].items())}}  # fmt: skip
            if eval_every and (step % eval_every == 0):
                rec["greedy_acc"] = quick_eval(model, reader, eval_n, device=cfg.device)
            log.append(rec)
            print(json.dumps(rec), flush=True)
            run, t_steps = {"ce": 0.0, "balance": 0.0, "vision": [], "n": 0, "kinds": {}}, 0.0
        save_every(2, step, k_pool, budget.elapsed(), opt)
    train_s = round(time.time() - t_start, 1)
    if pool is not None:
        pool.terminate()
    _save_state(ckpt, model, heads, opt, 2, step, k_pool, budget.elapsed(), vision_s)
    final: dict = {"step": step, "train_wall_s": train_s, "vision_s": round(vision_s, 1),
                   "lm_s": round(budget.elapsed(), 1)}  # fmt: skip
    model.to("cpu")
    _write_folder(out_dir, model, reader, info(steps=step, tokens_seen=tokens, final=final), log + [final])
    if eval_n:  # on the CPU, after the folder is safe: a tiny model generates as fast there
        t = time.time()
        torch.set_num_threads(min(8, os.cpu_count() or 1))
        final["greedy_acc"] = quick_eval(model, reader, eval_n)
        final["greedy_n"], final["eval_s"] = eval_n, round(time.time() - t, 1)
        print(json.dumps(final), flush=True)
    log.append(final)
    _write_folder(out_dir, model, reader,
                  info(steps=step, tokens_seen=tokens, wall_s=round(time.time() - t_start, 1), final=final), log)  # fmt: skip
    return out_dir


def load_weights(model, folder: Path) -> None:
    """Start from a trained folder's weights (the same architecture and vocabulary, or an error
    that names the tensors that differ); the readout heads are never shipped, so they start fresh."""
    from transformers import Qwen3_5MoeForConditionalGeneration

    trained = Qwen3_5MoeForConditionalGeneration.from_pretrained(folder, dtype=torch.float32)
    try:  # strict: torch names every missing, unexpected or differently shaped tensor
        model.load_state_dict(trained.state_dict())
    except RuntimeError as e:
        raise ValueError(f"{folder} is not this architecture: {e}") from None
    print(f"started from {folder}", flush=True)


def _write_folder(out_dir: Path, model, processor, info: dict, log: list[dict]) -> None:
    """The loadable folder (float32 safetensors, config, processor, tokenizer, template, marker)
    and `training_log.jsonl`; a model on a GPU is copied to the CPU for it."""
    import copy

    on_cpu = next(model.parameters()).device.type == "cpu"
    m = model if on_cpu else copy.deepcopy(model).to("cpu")
    was_training = m.training
    tiny_moe.save_checkpoint(out_dir, m.eval(), processor, info)
    m.train(was_training)
    (out_dir / "training_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.tiny_moe_train", description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=tiny_moe.shipped_path())
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (bfloat16 autocast on CUDA)")
    ap.add_argument(
        "--minutes",
        type=float,
        default=0.0,
        help="wall-clock budget for both stages (default: the step counts)",
    )
    ap.add_argument(
        "--vision-frac", type=float, default=TrainConfig.vision_frac, help="stage 1's share of --minutes"
    )
    ap.add_argument("--max-steps", type=int, default=0, help="cap on each stage's steps (a dry run)")
    ap.add_argument("--steps", type=int, default=TrainConfig.steps)
    ap.add_argument("--vision-steps", type=int, default=TrainConfig.vision_steps)
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--batch-tokens", type=int, help="padded tokens per batch (default 4096, 16384 on CUDA)")
    ap.add_argument("--vision-batch", type=int, help="pictures per stage-1 step (default 64, 256 on CUDA)")
    ap.add_argument("--warmup", type=int, default=TrainConfig.warmup)
    ap.add_argument("--threads", type=int, default=TrainConfig.threads)
    ap.add_argument(
        "--workers",
        type=int,
        help="processes rendering batches (default: 0 on the CPU, the CPU count less 2, at most 14, on CUDA)",
    )
    ap.add_argument("--no-bf16", action="store_true", help="float32 on CUDA too")
    ap.add_argument(
        "--experts",
        choices=("auto", "grouped_mm", "eager"),
        default="auto",
        help="experts kernel (auto: grouped matmul where it runs in float32, else the loop)",
    )
    ap.add_argument("--bf16", action="store_true", help="bfloat16 autocast on the CPU too")
    ap.add_argument(
        "--fonts-dir", type=Path, help=f"font folder (default: ${media.FONTS_ENV} or the system's)"
    )
    ap.add_argument(
        "--rules-share",
        type=float,
        default=TrainConfig.rules_share,
        help="share of training expressions drawn with lines beside them (never the held-out frame)",
    )
    ap.add_argument(
        "--everyday-questions",
        type=float,
        default=TrainConfig.everyday_questions,
        help="share of picture and clip questions asked in a visitor's words (data.EVERYDAY_QUESTIONS)",
    )
    ap.add_argument(
        "--freeze-vision",
        action="store_true",
        help="keep the vision tower as it is (no stage 1): the language model learns to read it",
    )
    ap.add_argument(
        "--trim-pictures",
        action="store_true",
        help="crop training pictures to their content, as the saved folder reads them (needs --freeze-vision)",
    )
    ap.add_argument("--weights", help="task mix, e.g. text=0.2,image=0.4 (default: the recipe's)")
    ap.add_argument(
        "--image-tokens",
        help="LO,HI: the vision-token budget of a training picture (default {},{})".format(
            *TrainConfig.image_tokens
        ),
    )
    ap.add_argument("--resume", action="store_true", help="continue from CKPT_DIR/seed<N>.pt")
    ap.add_argument("--init", type=Path, help="start from this trained tiny-moe folder's weights")
    ap.add_argument("--ckpt-dir", type=Path, default=CKPT_DIR)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0, help="checkpoint interval")
    ap.add_argument(
        "--eval-every", type=int, default=0, help="greedy check every N steps (0: at the end only)"
    )
    ap.add_argument("--eval-n", type=int, default=4, help="held-out examples per check in the greedy checks")
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args(argv)
    if args.fonts_dir:
        if not args.fonts_dir.is_dir():
            ap.error(f"--fonts-dir {args.fonts_dir} is not a folder")
        media.set_fonts_dir(args.fonts_dir)
    fonts = media.font_files()
    if len(fonts) < MIN_FONTS:
        ap.error(f"found {len(fonts)} usable font files in {', '.join(map(str, media._search_dirs()))}; "
                 f"the pictures need at least {MIN_FONTS}: install Debian's fonts-dejavu fonts-liberation "
                 f"{media.MORE_FONT_PACKAGES}, or pass --fonts-dir or set ${media.FONTS_ENV}")  # fmt: skip
    cuda = args.device.startswith("cuda")
    if args.trim_pictures and not args.freeze_vision:
        ap.error(
            "--trim-pictures needs --freeze-vision: the tower's readouts place what they read on the whole picture"
        )
    if args.init and not tiny_moe.is_complete(args.init):
        ap.error(f"--init {args.init} is not a complete tiny-moe folder")
    if cuda and not torch.cuda.is_available():
        ap.error("--device cuda but torch sees no CUDA device")
    workers = (
        args.workers
        if args.workers is not None
        else (min(12, max(1, (os.cpu_count() or 2) - 4)) if cuda else 0)
    )
    cfg = TrainConfig(seed=args.seed, steps=args.steps, lr=args.lr, warmup=args.warmup, threads=args.threads,
                      vision_steps=args.vision_steps, device=args.device, bf16=(cuda and not args.no_bf16) or args.bf16,
                      minutes=args.minutes, vision_frac=args.vision_frac, max_steps=args.max_steps,
                      workers=workers, experts=args.experts, init=str(args.init or ""),
                      rules_share=args.rules_share, everyday_questions=args.everyday_questions,
                      freeze_vision=args.freeze_vision, trim_pictures=args.trim_pictures)  # fmt: skip
    cfg = for_device(cfg)
    if args.batch_tokens:
        cfg = replace(cfg, batch_tokens=args.batch_tokens)
    if args.vision_batch:
        cfg = replace(cfg, vision_batch=args.vision_batch)
    if args.image_tokens:
        parts = args.image_tokens.split(",")
        if (
            len(parts) != 2
            or not all(p.strip().isdigit() for p in parts)
            or not 1 <= int(parts[0]) <= int(parts[1])
        ):
            ap.error("--image-tokens needs LO,HI with 1 <= LO <= HI")
        cfg = replace(cfg, image_tokens=(int(parts[0]), int(parts[1])))
    if not 0.0 <= cfg.everyday_questions <= 1.0:
        ap.error("--everyday-questions needs a share between 0 and 1")
    if args.weights:
        mix = tuple((k, float(v)) for k, v in (kv.split("=") for kv in args.weights.split(",")))
        cfg = replace(cfg, weights=mix)
    out = train(cfg, args.out, args.resume, args.eval_every, args.eval_n, args.log_every, args.ckpt_dir,
                args.ckpt_minutes)  # fmt: skip
    print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
