"""Train the tiny qwen3_5_moe from scratch on the synthetic tasks, on a CPU, in one command.

    python -m train.tiny_moe_train --seed 0 --out models/tiny-moe

Owns: turning `train.tiny_moe_data` examples into model inputs exactly as the app builds them
(the chat template with the generation prompt, then the trace, `</think>`, the answer and
`<|im_end|>`; images as PIL pictures and clips as the frames 2-fps sampling takes, through the
same processor), length-bucketed batches under a token budget, the loss (cross-entropy on the
assistant's tokens plus a per-layer load-balancing loss on the router), the optimiser and its
schedule, resumable checkpoints (`.cache/tiny_moe_train/`, pickles that never leave this
machine), a short greedy check on held-out examples, and writing the finished folder with
`engine.models.tiny_moe.save_checkpoint` (safetensors) plus `training_log.jsonl`.
Leaves the tasks to `tiny_moe_data.py`, the architecture and files to `engine/models/tiny_moe.py`.
Everything is seeded: the same seed and step count give the same data and initial weights.
"""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning: on 2 cores shared with another job, spinning
# made the gated delta net's batched triangular solves 5x slower (set before torch loads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import asdict, dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from engine.config import STEP_BY_STEP_SUFFIX  # noqa: E402
from engine.media import VideoClip  # noqa: E402
from engine.models import tiny_moe  # noqa: E402
from train import tiny_moe_data as data  # noqa: E402
from train import tiny_moe_media as media  # noqa: E402

IGNORE = -100
CKPT_DIR = Path(".cache/tiny_moe_train")


@dataclass(frozen=True)
class TrainConfig:
    """The recipe; the defaults are what `models/tiny-moe/` was trained with."""

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
    weights: tuple[tuple[str, float], ...] = (
        ("text", 0.2),
        ("image", 0.32),
        ("shapes", 0.16),
        ("video", 0.18),
        ("double", 0.14),
    )
    threads: int = 2


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
    """The `VideoMetadata` the app builds for a clip file of these numbers (engine.media)."""
    n = len(frames) // len(media.SAMPLED_OFFSETS)
    step = 1.0 / 2  # the app's 2 frames per second
    clip = VideoClip(
        frames=frames,
        timestamps=tuple(i * step for i in range(len(frames))),
        source_fps=float(media.CLIP_FPS),
        duration_s=n * media.FRAMES_PER_NUMBER / media.CLIP_FPS,
        total_frames=n * media.FRAMES_PER_NUMBER,
        width=frames.shape[2],
        height=frames.shape[1],
        rotation=0,
    )
    return clip.metadata()


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


def batches(cfg: TrainConfig, processor, start_pool: int = 0) -> Iterator[tuple[int, dict]]:
    """(pool index, batch) forever: each pool is seeded by (seed, index), encoded, sorted by
    length, cut under the token budget and shuffled."""
    pad_id = processor.tokenizer.pad_token_id
    for k in range(start_pool, 10**9):
        rng = random.Random(f"{cfg.seed}/{k}")
        weights = dict(cfg.weights)
        stream = data.stream(rng.getrandbits(32), weights)
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
        for g in groups:
            yield k, collate(g, pad_id)


# ---------------------------------------------------------------- loss


def balance_loss(router_logits: tuple[torch.Tensor, ...], mask: torch.Tensor, top_k: int) -> torch.Tensor:
    """Mean over layers of the Switch load-balancing loss (1.0 when perfectly even)."""
    m = mask.reshape(-1).float()  # [B*T]
    total = torch.zeros(())
    for logits in router_logits:  # [B*T, E]
        probs = logits.float().softmax(-1)
        chosen = torch.zeros_like(probs).scatter(1, probs.topk(top_k, -1).indices, 1.0)
        frac = (chosen * m[:, None]).sum(0) / (m.sum() * top_k)  # [E] share of assignments
        prob = (probs * m[:, None]).sum(0) / m.sum()  # [E] mean router probability
        total = total + probs.shape[-1] * (frac * prob).sum()
    return total / len(router_logits)


EXPR_CLASSES = ("", *"0123456789", "+", "-", "×")  # class 0: no character centred in the column


class VisionHeads(torch.nn.Module):
    """Training-only readouts of the vision tower's output tokens (never shipped): the
    characters centred in each token column of an expression picture (two slots, left to
    right), the shape in each cell of a shapes picture, the number in each frame pair of a clip."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.expr = torch.nn.Linear(hidden, 2 * len(EXPR_CLASSES))
        self.shapes = torch.nn.Linear(hidden, 4)
        self.video = torch.nn.Linear(hidden, 10)


def _expr_targets(target: tuple, grid: list[int]) -> torch.Tensor:
    """[columns, 2] class ids: the characters whose centres fall in each merged-token column."""
    _, canvas_w, chars = target
    cols = grid[2] // 2
    scale = grid[2] * 16 / canvas_w  # the processor resized the picture to grid_w x 16 pixels
    slots = [[] for _ in range(cols)]
    for c, x in chars:
        slots[min(cols - 1, max(0, int(x * scale // 32)))].append(EXPR_CLASSES.index(c))
    return torch.tensor([(s + [0, 0])[:2] for s in slots])


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
            logits = heads.expr(tokens.mean(0)).view(-1, len(EXPR_CLASSES))  # [cols * 2, C]
            losses.append(F.cross_entropy(logits, _expr_targets(target, grid).view(-1)))
        elif tokens.shape[:2] == (media.GRID, media.GRID):
            kinds = torch.tensor([("", "square", "circle", "triangle").index(k) for k in target[1]])
            losses.append(F.cross_entropy(heads.shapes(tokens.reshape(-1, tokens.shape[-1])), kinds))
    videos = feats.get("video")
    for f, grid, numbers in zip(
        videos or (), batch.get("video_grid_thw", ()), batch["video_targets"], strict=True
    ):
        groups = f.view(int(grid[0]), -1, f.shape[-1]).mean(1)  # [T/2, H]: one number each
        if groups.shape[0] == len(numbers):
            losses.append(F.cross_entropy(heads.video(groups), torch.tensor(numbers)))
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
    aux = vision_aux_loss(heads, feats, batch)
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


def make_optimizer(modules: list[torch.nn.Module], cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for m in modules for p in m.parameters()]
    decay = [p for p in params if p.ndim >= 2]
    rest = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98), eps=1e-8)


# ---------------------------------------------------------------- stage 1: the vision tower alone

VISION_MIX = (("image", 0.45), ("shapes", 0.2), ("video", 0.35))


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


def pretrain_vision(model, heads: VisionHeads, processor, cfg: TrainConfig) -> list[dict]:
    """Stage 1: the vision tower and the readouts alone, on many small pictures (no language
    model in the loop, so a picture costs a few milliseconds); returns the log."""
    params = [*model.model.visual.parameters(), *heads.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.vision_lr, betas=(0.9, 0.98), weight_decay=cfg.weight_decay)
    rng, log, t0, window = random.Random(f"{cfg.seed}/vision"), [], time.time(), []
    for step in range(cfg.vision_steps):
        frac = step / max(1, cfg.vision_steps)
        for g in opt.param_groups:
            g["lr"] = (
                cfg.vision_lr * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
            )
        batch = vision_batch(processor, rng, cfg, cfg.vision_batch)
        _, feats = _encoder_outputs(model, batch)
        loss = vision_aux_loss(heads, feats, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        opt.step()
        window.append(loss.item())
        if (step + 1) % 50 == 0 or step + 1 == cfg.vision_steps:
            rec = {"vision_step": step + 1, "vision": round(sum(window) / len(window), 4),
                   "wall_s": round(time.time() - t0, 1)}  # fmt: skip
            log.append(rec)
            print(json.dumps(rec), flush=True)
            window = []
    return log


# ---------------------------------------------------------------- a quick greedy check


@torch.no_grad()
def quick_eval(model, processor, n: int, seed: int = 7) -> dict[str, float]:
    """Greedy accuracy on `n` held-out examples per kind (the boxed number)."""
    from engine.eval import last_boxed

    model.eval()
    rng, scores = random.Random(seed), {}
    for kind in data.KINDS:
        right = 0
        for i in range(n):
            ex = data.make_example(kind, data.LANGS[i % 2], rng, heldout=True)
            item = encode(
                ex, processor, random.Random(0), TrainConfig(p_suffix=0.0, p_no_think=0.0, p_jpeg=1.0)
            )
            start = int((item["labels"][0] == IGNORE).sum())
            inputs = {k: v[:, :start] if k in ("input_ids", "attention_mask", "mm_token_type_ids") else v
                      for k, v in item.items() if torch.is_tensor(v) and k != "labels"}  # fmt: skip
            model.model.rope_deltas = None
            out = model.generate(**inputs, max_new_tokens=240, do_sample=False)
            text = processor.tokenizer.decode(out[0, start:], skip_special_tokens=True)
            right += last_boxed(text.split("</think>")[-1]) == ex.answer
        scores[kind] = right / n
    model.train()
    return scores


# ---------------------------------------------------------------- the loop


def _save_state(path: Path, model, heads, opt, step: int, pool: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    state = {"model": model.state_dict(), "heads": heads.state_dict(), "opt": opt.state_dict(), "step": step,
             "pool": pool}  # fmt: skip
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(
    cfg: TrainConfig, out_dir: Path, resume: bool, eval_every: int, eval_n: int, log_every: int
) -> Path:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    processor = tiny_moe.make_processor(tiny_moe.make_tokenizer())
    spec = tiny_moe.TinyMoeSpec(seed=cfg.seed)
    model = tiny_moe.new_model(spec, processor.tokenizer).train()
    heads = VisionHeads(spec.hidden_size)
    opt = make_optimizer([model, heads], cfg)
    ckpt = CKPT_DIR / f"seed{cfg.seed}.pt"
    step, pool = 0, 0
    if resume and ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        heads.load_state_dict(state["heads"])
        opt.load_state_dict(state["opt"])
        step, pool = state["step"], state["pool"] + 1
        print(f"resumed at step {step} (pool {pool})", flush=True)
    t0 = time.time()
    log = [] if step else pretrain_vision(model, heads, processor, cfg)
    tokens, last_ckpt = 0, time.time()
    run = {"ce": 0.0, "balance": 0.0, "vision": [], "n": 0, "kinds": {}}
    stream = batches(cfg, processor, pool)
    while step < cfg.steps:
        pool, batch = next(stream)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        loss, parts = forward_loss(model, heads, batch, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*model.parameters(), *heads.parameters()], cfg.clip)
        opt.step()
        step += 1
        tokens += int(batch["attention_mask"].sum())
        run["ce"] += parts["ce"]
        run["balance"] += parts["balance"]
        run["vision"] += [parts["vision"]] if parts["vision"] is not None else []
        run["n"] += 1
        for kind, value in zip(batch["kinds"], parts["per_example"], strict=True):
            run["kinds"].setdefault(kind, []).append(value)
        if step % log_every == 0 or step == cfg.steps:
            rec = {"step": step, "lr": round(lr_at(step, cfg), 6), "ce": round(run["ce"] / run["n"], 4),
                   "balance": round(run["balance"] / run["n"], 4), "tokens": tokens,
                   "vision": round(sum(run["vision"]) / max(1, len(run["vision"])), 4),
                   "wall_s": round(time.time() - t0, 1),
                   "ce_by_kind": {k: round(sum(v) / len(v), 4) for k, v in sorted(run["kinds"].items())}}  # fmt: skip
            if eval_every and (step % eval_every == 0 or step == cfg.steps):
                rec["greedy_acc"] = quick_eval(model, processor, eval_n)
            log.append(rec)
            print(json.dumps(rec), flush=True)
            run = {"ce": 0.0, "balance": 0.0, "vision": [], "n": 0, "kinds": {}}
        if time.time() - last_ckpt > 300:
            _save_state(ckpt, model, heads, opt, step, pool)
            last_ckpt = time.time()
    _save_state(ckpt, model, heads, opt, step, pool)
    info = {"name": tiny_moe.TINY_MOE_NAME, "trained": True, "command": " ".join(["python -m train.tiny_moe_train", *sys.argv[1:]]),
            "train_config": asdict(cfg), "spec": asdict(spec), "steps": step, "tokens_seen": tokens,
            "wall_s": round(time.time() - t0, 1), "final": log[-1] if log else {}}  # fmt: skip
    model.eval()
    tiny_moe.save_checkpoint(out_dir, model, processor, info)
    (out_dir / "training_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    return out_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.tiny_moe_train", description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=tiny_moe.shipped_path())
    ap.add_argument("--steps", type=int, default=TrainConfig.steps)
    ap.add_argument("--vision-steps", type=int, default=TrainConfig.vision_steps)
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--batch-tokens", type=int, default=TrainConfig.batch_tokens)
    ap.add_argument("--warmup", type=int, default=TrainConfig.warmup)
    ap.add_argument("--threads", type=int, default=TrainConfig.threads)
    ap.add_argument("--weights", help="task mix, e.g. text=0.2,image=0.4 (default: the recipe's)")
    ap.add_argument("--resume", action="store_true", help="continue from .cache/tiny_moe_train/seed<N>.pt")
    ap.add_argument("--eval-every", type=int, default=0, help="greedy check every N steps (0: only logs)")
    ap.add_argument("--eval-n", type=int, default=10, help="held-out examples per kind in that check")
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args(argv)
    cfg = TrainConfig(seed=args.seed, steps=args.steps, lr=args.lr, batch_tokens=args.batch_tokens,
                      warmup=args.warmup, threads=args.threads, vision_steps=args.vision_steps)  # fmt: skip
    if args.weights:
        mix = tuple((k, float(v)) for k, v in (kv.split("=") for kv in args.weights.split(",")))
        cfg = replace(cfg, weights=mix)
    out = train(cfg, args.out, args.resume, args.eval_every, args.eval_n, args.log_every)
    print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
