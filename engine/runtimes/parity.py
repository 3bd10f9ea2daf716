"""Teacher-forced agreement of the torch runtime's decode paths, step by step.

Owns: `teacher_forced`, which feeds one input sequence (token ids and soft
embeddings `softmax(logits) @ E`, the latent steps, at fixed steps) through
the eager dynamic-cache path, the single-run static path
(`fast_step.FastStep`) and the batched slot path (`slot_batch.SlotBatch`,
beside companion rows so that the row really shares a batch), and reports
per step the largest |logit difference| and KL(eager || path). Greedy-token
agreement hides near-ties and amplifies them after the first flip; feeding
every path the same inputs does neither. Leaves the paths themselves to their
modules; tests/test_slot_batch.py asserts the float32 CPU numbers,
bench/gpu_bench.py reports the bf16 GPU ones (graphs on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from engine.runtimes.fast_step import FastStep
from engine.runtimes.slot_batch import SlotBatch

Feed = int | torch.Tensor  # a token id, or an input embedding [H]


@dataclass(frozen=True)
class StepDiff:
    max_abs: float  # max |logits - eager logits| over the vocabulary
    kl: float  # KL(softmax(eager) || softmax(path)), nats


def teacher_inputs(rt: Any, inputs: dict, steps: int, latent_every: int = 3) -> tuple[list[Feed], list]:
    """The eager path's own run: greedy tokens, every `latent_every`-th input a soft embedding.
    The inputs and the eager logits `steps x [V]` (the reference)."""
    feeds: list[Feed] = []
    with torch.inference_mode():
        logits, cache = rt.prefill(inputs)  # [V]
        ref = [logits.float().cpu()]
        n = int(inputs["input_ids"].shape[-1])
        for t in range(steps - 1):
            if t % latent_every == latent_every - 1:
                feed: Feed = rt.mix(torch.softmax(logits.float(), -1)[None])[0]  # [H]
                logits = rt.step_embeds(feed, cache, n + t)
            else:
                feed = int(torch.argmax(logits))
                logits = rt.step_ids(feed, cache, n + t)
            feeds.append(feed)
            ref.append(logits.float().cpu())
    return feeds, ref


def single_static(rt: Any, inputs: dict, feeds: list[Feed], graphs: bool) -> list:
    fast = FastStep(rt, graphs=graphs)
    with torch.inference_mode():
        logits, cache = fast.prefill(inputs)
        out, n = [logits.float().cpu()], int(inputs["input_ids"].shape[-1])
        for t, feed in enumerate(feeds):
            if isinstance(feed, int):
                logits = fast.step(cache, n + t, input_ids=torch.tensor([[feed]], device=rt.device))
            else:
                logits = fast.step(cache, n + t, inputs_embeds=feed.to(rt.embed.dtype).view(1, 1, -1))
            out.append(logits.float().cpu())
    return out


def batched_static(rt: Any, inputs: dict, feeds: list[Feed], companions: list[dict], graphs: bool) -> list:
    """The row in a slot batch after `companions` (each fed its own greedy tokens); its logits."""
    batch = SlotBatch(rt, len(companions) + 1, graphs=graphs)
    with torch.inference_mode():
        firsts = [batch.prefill(c) for c in companions] + [batch.prefill(inputs)]
        lengths = [int(x["input_ids"].shape[-1]) for x in [*companions, inputs]]
        out, logits = [firsts[-1].float().cpu()], torch.stack(firsts)  # [B, V]
        for t, feed in enumerate(feeds):
            step_in = [int(torch.argmax(row)) for row in logits[:-1]] + [feed]
            logits = batch.step(step_in, [n + t for n in lengths])  # [B, V]
            out.append(logits[-1].float().cpu())
    return out


def compare(ref: list, got: list) -> list[StepDiff]:
    diffs = []
    for a, b in zip(ref, got, strict=True):
        la, lb = torch.log_softmax(a.double(), -1), torch.log_softmax(b.double(), -1)  # [V]
        diffs.append(StepDiff(float((a - b).abs().max()), float((la.exp() * (la - lb)).sum())))
    return diffs


def teacher_forced(
    rt: Any, inputs: dict, steps: int = 16, companions: list[dict] | None = None, graphs: bool = False
) -> dict[str, list[StepDiff]]:
    """Per path (`single-static`, `batched-static`), each step's difference from the eager path."""
    saved, rt.fast = rt.fast, None  # the eager reference and the slot batch's prefill: the plain path
    try:
        feeds, ref = teacher_inputs(rt, inputs, steps)
        single = single_static(rt, inputs, feeds, graphs)
        batched = batched_static(rt, inputs, feeds, companions or [], graphs)
    finally:
        rt.fast = saved
    return {"single-static": compare(ref, single), "batched-static": compare(ref, batched)}


def worst(diffs: list[StepDiff]) -> StepDiff:
    """The largest difference and KL over a run's steps."""
    return StepDiff(max(d.max_abs for d in diffs), max(d.kl for d in diffs))
