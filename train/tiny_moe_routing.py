"""Is the trained tiny-moe's routing alive? Per layer, which experts get tokens on held-out data.

    python -m train.tiny_moe_routing [--model models/tiny-moe] [--n 40]

Owns: running held-out examples of every kind (`train.tiny_moe_data`, the held-out split)
through the model, teacher-forced on their reference answers, recording each layer's top-k
expert choices for every real token (prompt, vision and answer tokens alike), and a table per
layer: experts that receive at least 1% of the assignments, the largest and smallest share,
and the normalised entropy of the shares (1.0 = perfectly even, 0 = one expert takes all).
Leaves the encoding to `tiny_moe_train.encode`.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

import torch

from engine.models import tiny_moe
from train import tiny_moe_data as data
from train.tiny_moe_train import TrainConfig, encode


@torch.no_grad()
def expert_counts(model, processor, n: int, seed: int = 11) -> torch.Tensor:
    """[layers, experts] top-k assignment counts over `n` held-out examples of each kind."""
    text = model.config.text_config
    counts = torch.zeros(text.num_hidden_layers, text.num_experts)
    cfg = TrainConfig(p_suffix=0.0, p_no_think=0.0, p_jpeg=0.0)
    for i, kind in enumerate(data.KINDS):
        for ex in data.heldout_examples(kind, n, seed * 100 + i):
            item = encode(ex, processor, random.Random(0), cfg)
            inputs = {k: v for k, v in item.items() if k not in ("labels", "kind")}
            model.model.rope_deltas = None
            out = model(**inputs, output_router_logits=True, use_cache=False)
            for layer, logits in enumerate(out.router_logits):  # [T, E]
                chosen = logits.topk(text.num_experts_per_tok, -1).indices.reshape(-1)
                counts[layer] += torch.bincount(chosen, minlength=text.num_experts).float()
    return counts


def table(counts: torch.Tensor) -> str:
    rows = ["| layer | experts with ≥ 1% | largest share | smallest share | evenness (entropy / log E) |",
            "|---|---|---|---|---|"]  # fmt: skip
    for layer, c in enumerate(counts):
        share = c / c.sum()
        entropy = float(-(share.clamp(min=1e-12).log() * share).sum()) / math.log(len(share))
        used = int((share >= 0.01).sum())
        rows.append(
            f"| {layer} | {used} of {len(share)} | {share.max():.1%} | {share.min():.1%} | {entropy:.3f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.tiny_moe_routing", description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=tiny_moe.shipped_path())
    ap.add_argument("--n", type=int, default=40, help="held-out examples per kind")
    ap.add_argument("--json", type=Path, help="also write the counts here")
    args = ap.parse_args(argv)
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(args.model, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(args.model)
    counts = expert_counts(model, processor, args.n)
    print(table(counts))
    if args.json:
        args.json.write_text(json.dumps({"counts": counts.tolist(), "n_per_kind": args.n}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
