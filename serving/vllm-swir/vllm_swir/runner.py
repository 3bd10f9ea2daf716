"""SwiReasoning in vLLM's V1 model runner (`GPUModelRunner`, and `CPUModelRunner`, its subclass).

Owns: `SwirRunnerMixin`, put in front of the runner's class by `worker.py`. Three seams:

- `_update_states`: a request whose `SamplingParams.extra_args` holds `swireasoning` gets a
  `rows.SwirRow`; a finished or cancelled one loses it (and its stored soft inputs) at once.
- `_sample`: the full-vocabulary logits of the SwiR rows are read *before* vLLM's sampler
  (p = softmax at temperature 1, H in nats, as `engine.sampling`); vLLM samples as usual; the
  policy (`engine.swir.policy_step`) then picks the token to emit, which replaces the sampled
  one in the sampler output (an injected word is an ordinary output token to vLLM's
  bookkeeping, detokenizer and stop checks), and the next input's mix. The soft input
  `w * p @ E + (1 - w) * E[anchor]` is built per tensor-parallel rank from its vocabulary
  shard (`p[shard] @ E_shard`, the anchor row added by the rank that holds it) and summed by
  one float32 all-reduce. Only a step where some row's next input is soft builds it (most
  steps are explicit: `[n, V] @ [V, H]` reads the whole embedding, about a fifth of a
  SmolLM2 step on a CPU). At tensor-parallel 1 that is the rank's own decision. At TP > 1
  every rank must enter the same collectives, and the decisions rest on floats, so the ranks
  first sum one flag ("a row of mine needs a mix") in a one-element all-reduce that each of
  them enters whenever the step sampled a SwiR row (a fact of the scheduler's output, the
  same on every rank); the mix and its all-reduce follow when the sum is not 0.
- `_preprocess`: stored soft inputs are written over the embedded tokens at their positions.
  Stored per position, they are written again when a preempted request is recomputed.

Plain requests pass through untouched: with no SwiR row in the batch each seam returns
vLLM's own result. Needs the embedding path (`inputs_embeds`): multimodal models always take
it, text models with `--enable-prompt-embeds`. A text model that runs eagerly (no
torch.compile, no CUDA graphs: `--enforce-eager` or `-cc.mode=none`) gets vLLM's token-id
path back in every step that feeds no soft input and no prompt embedding: the model embeds
its ids itself, as in stock vLLM. At TP > 1 the path is chosen on facts the same on every
rank (no SwiR request in the step), since the two paths run the embedding's collective in
different places. A compiled model is traced once, with the arguments of its first call
(`inputs_embeds` here: vLLM skips the guards that would retrace it), and CUDA graphs replay
the buffers of the call they captured: there every step keeps the embedding path.
Leaves HTTP, validation messages and prefix-cache isolation to `http.py`.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from vllm_swir import channel
from vllm_swir.knobs import KnobError, from_extra_args
from vllm_swir.rows import Action, SwirRow

log = logging.getLogger("vllm_swir")
MIX_SHOWN = 5  # top tokens of a latent step's distribution in its trace record


def _eager(runner: Any) -> bool:
    """The model runs as Python calls it: not traced by torch.compile, no CUDA graphs."""
    from vllm.config import CompilationMode, CUDAGraphMode

    cc = runner.compilation_config
    return cc.mode == CompilationMode.NONE and cc.cudagraph_mode == CUDAGraphMode.NONE


class SwirRunnerMixin:
    """Mixed in front of a `GPUModelRunner` subclass; call `swir_init()` once after the swap."""

    def swir_init(self) -> None:
        from vllm.distributed import (
            get_pp_group,
            get_tensor_model_parallel_rank,
            get_tensor_model_parallel_world_size,
        )

        if get_pp_group().world_size > 1:
            raise RuntimeError("vllm-swir: pipeline parallelism is not supported (use tensor parallelism).")
        if self.speculative_config is not None:
            raise RuntimeError("vllm-swir: speculative decoding is not supported with SwiReasoning.")
        if not (self.supports_mm_inputs or self.enable_prompt_embeds):
            raise RuntimeError(
                "vllm-swir: a text-only model reads token ids, not embeddings; start vLLM with "
                "--enable-prompt-embeds so SwiReasoning can feed its soft inputs."
            )
        self.swir_rows: dict[str, SwirRow] = {}
        self.swir_soft: dict[str, dict[int, torch.Tensor]] = {}  # req -> position -> [H]
        self.swir_keys: dict[str, str] = {}  # req -> trace key
        self.swir_writer = channel.Writer() if get_tensor_model_parallel_rank() == 0 else None
        self.swir_embed: Any = None
        self.swir_tp = get_tensor_model_parallel_world_size()
        self.swir_ids_path = self.enable_prompt_embeds and not self.supports_mm_inputs and _eager(self)

    # ---- admission and release -------------------------------------------
    def _update_states(self, scheduler_output: Any) -> Any:
        for req_id in scheduler_output.finished_req_ids:
            self._swir_drop(req_id)
        out = super()._update_states(scheduler_output)  # type: ignore[misc]
        for new in scheduler_output.scheduled_new_reqs:
            if new.req_id not in self.swir_rows and new.sampling_params is not None:
                self._swir_admit(new.req_id, new.sampling_params)
        return out

    def _swir_admit(self, req_id: str, sp: Any) -> None:
        try:
            req = from_extra_args(sp.extra_args)
        except KnobError as err:  # the middleware answers 400 first; a bare engine logs
            log.error("vllm-swir: request %s runs without SwiReasoning: %s", req_id, err)
            return
        if req is None:
            return
        vocab = self.model_config.get_vocab_size()
        if req.max_id() >= vocab:
            log.error("vllm-swir: request %s names token id %d >= vocab %d", req_id, req.max_id(), vocab)
            return
        # The answer budget ends a run with a token vLLM stops on: EOS, else a stop token id
        # (with ignore_eos and no stop ids the run goes on to max_tokens; its trace says where it ended).
        eos = sp.eos_token_id if sp.eos_token_id is not None else next(iter(sp.stop_token_ids or ()), None)
        max_new = req.max_new_tokens or sp.max_tokens or self.max_model_len
        self.swir_rows[req_id] = SwirRow(req, max_new, eos)
        self.swir_soft[req_id] = {}
        if req.trace and req.trace_key:
            self.swir_keys[req_id] = req.trace_key

    def _swir_drop(self, req_id: str) -> None:
        self.swir_rows.pop(req_id, None)
        self.swir_soft.pop(req_id, None)
        key = self.swir_keys.pop(req_id, None)
        if key is not None and self.swir_writer is not None:
            self.swir_writer.close(key)

    # ---- the next input ----------------------------------------------------
    def _preprocess(self, scheduler_output: Any, num_input_tokens: int, intermediate_tensors: Any = None):
        index, vectors = self._swir_soft_inputs(scheduler_output) if self.swir_soft else ([], [])
        if self.swir_ids_path and self._swir_ids_step(scheduler_output, index):
            # vLLM's own text-model branch: ids in, the model embeds them (see the module notes)
            self.enable_prompt_embeds = False
            try:
                return super()._preprocess(scheduler_output, num_input_tokens, intermediate_tensors)  # type: ignore[misc]
            finally:
                self.enable_prompt_embeds = True
        out = super()._preprocess(scheduler_output, num_input_tokens, intermediate_tensors)  # type: ignore[misc]
        if index:
            inputs_embeds = out[1]  # [T, H], vLLM's buffer for this step
            inputs_embeds[torch.tensor(index, device=inputs_embeds.device)] = torch.stack(vectors)
        return out

    def _swir_soft_inputs(self, scheduler_output: Any) -> tuple[list[int], list[torch.Tensor]]:
        """(index in this step's tokens, stored soft input) of the positions fed a soft input."""
        index, vectors = [], []
        batch = self.input_batch
        for req_id, table in self.swir_soft.items():
            i = batch.req_id_to_index.get(req_id)
            n = scheduler_output.num_scheduled_tokens.get(req_id, 0)
            if i is None or not n or not table:
                continue
            first, start = int(batch.num_computed_tokens_cpu[i]), int(self.query_start_loc.np[i])
            for pos in range(first, first + n):
                vec = table.get(pos)
                if vec is not None:
                    index.append(start + pos - first)
                    vectors.append(vec)
        return index, vectors

    def _swir_ids_step(self, scheduler_output: Any, soft_index: list[int]) -> bool:
        """Whether this step may run on token ids: no soft input (at TP > 1: no SwiR request at all)
        and no prompt embedding a client sent."""
        if self.swir_tp > 1:
            if any(rid in self.swir_rows for rid in scheduler_output.num_scheduled_tokens):
                return False
        elif soft_index:
            return False
        n = scheduler_output.total_num_scheduled_tokens
        return not self.input_batch.req_prompt_embeds or bool(self.is_token_ids.np[:n].all())

    # ---- the step ----------------------------------------------------------
    def _sample(self, logits: torch.Tensor | None, spec_decode_metadata: Any) -> Any:
        picked = self._swir_sampled_rows() if self.swir_rows and logits is not None else []
        if not picked:
            return super()._sample(logits, spec_decode_metadata)  # type: ignore[misc]
        assert logits is not None
        idx = torch.tensor([i for i, _ in picked], device=logits.device)
        p = torch.softmax(logits[idx].float(), dim=-1)  # [n, V], before the sampler touches the logits
        h = -(p * p.clamp(min=1e-12).log()).sum(-1)  # [n] nats
        out = super()._sample(logits, spec_decode_metadata)  # type: ignore[misc]
        sampled = out.sampled_token_ids[idx, 0]  # [n]
        pairs = torch.stack([h.double(), sampled.double()], dim=1).tolist()  # one transfer
        actions = [
            self.swir_rows[rid].step(ent, int(tok))
            for (_, rid), (ent, tok) in zip(picked, pairs, strict=True)
        ]
        self._swir_emit(out, idx, p, [int(tok) for _, tok in pairs], actions)
        soft = self._swir_mix(p, actions)  # [n, H], or None: no row's next input is soft
        if soft is not None:
            for j, ((_, rid), act) in enumerate(zip(picked, actions, strict=True)):
                if act.soft_weight > 0.0:
                    pos = self.requests[rid].num_tokens  # where this step's token is fed
                    self.swir_soft[rid][pos] = soft[j]
        self._swir_trace(picked, p, actions)
        return out

    def _swir_sampled_rows(self) -> list[tuple[int, str]]:
        """(batch index, request id) of the SwiR rows that sample a token this step (a row still in a
        chunked prefill samples nothing)."""
        batch, n = self.input_batch, self.input_batch.num_reqs
        discard = self.discard_request_mask.np[:n]
        return [
            (i, rid) for i, rid in enumerate(batch.req_ids[:n]) if rid in self.swir_rows and not discard[i]
        ]

    def _swir_emit(self, out: Any, idx: torch.Tensor, p: torch.Tensor, sampled: list[int], actions) -> None:
        """Injected or closing tokens replace the sampled ones (and their logprob entries)."""
        moved = [j for j, (a, tok) in enumerate(zip(actions, sampled, strict=True)) if a.token != tok]
        if not moved:
            return
        ids = out.sampled_token_ids
        changed = torch.tensor(moved, device=idx.device)
        tokens = torch.tensor([actions[j].token for j in moved], device=ids.device, dtype=ids.dtype)
        out.sampled_token_ids[idx[changed], 0] = tokens
        lp = out.logprobs_tensors
        if lp is not None:
            rows, toks = idx[changed], tokens.long()
            lp.logprob_token_ids[rows, 0] = toks.to(lp.logprob_token_ids.dtype)
            chosen_p = p[changed].gather(1, toks[:, None])  # [k, 1]
            lp.logprobs[rows, 0] = chosen_p.clamp(min=1e-12).log()[:, 0].to(lp.logprobs.dtype)
            rank = (p[changed] > chosen_p).sum(-1) + 1
            lp.selected_token_ranks[rows] = rank.to(lp.selected_token_ranks.dtype)

    def _swir_mix(self, p: torch.Tensor, actions: list[Action]) -> torch.Tensor | None:
        """`w * p @ E + (1 - w) * E[anchor]` per row `[n, H]` (0 for a row whose next input is a token):
        this rank's vocabulary shard, then one float32 all-reduce over the tensor-parallel group.
        None when no row needs one (at TP > 1: on no rank)."""
        from vllm.distributed import tensor_model_parallel_all_reduce

        need = [j for j, act in enumerate(actions) if act.soft_weight > 0.0]
        group = self.swir_tp > 1
        if group:  # every rank is here: the step sampled a SwiR row
            flag = torch.tensor([float(bool(need))], dtype=torch.float32, device=p.device)
            if float(tensor_model_parallel_all_reduce(flag)[0]) == 0.0:
                return None
        elif not need:
            return None
        emb = self._swir_embedding()
        lo, hi = emb.shard_indices.org_vocab_start_index, emb.shard_indices.org_vocab_end_index
        weight = emb.weight[: hi - lo]  # [Vs, H], rows of token ids lo..hi-1
        partial = torch.zeros(p.shape[0], weight.shape[1], dtype=torch.float32, device=p.device)
        if need:
            rows = torch.tensor(need, device=p.device)
            scale = torch.tensor([actions[j].soft_weight for j in need], dtype=torch.float32, device=p.device)
            mixed = (p[rows, lo:hi].to(weight.dtype) @ weight).float()  # [k, H]
            partial[rows] = mixed * scale[:, None]
            for j in need:
                act = actions[j]
                if act.anchor is not None and act.soft_weight < 1.0 and lo <= act.anchor < hi:
                    partial[j] += (1.0 - act.soft_weight) * weight[act.anchor - lo].float()
        if group:
            partial = tensor_model_parallel_all_reduce(partial)
        return partial.to(self.dtype)

    def _swir_embedding(self) -> Any:
        if self.swir_embed is None:
            from vllm.model_executor.layers.vocab_parallel_embedding import (
                ParallelLMHead,
                VocabParallelEmbedding,
            )

            found = [
                m
                for m in self.get_model().modules()
                if isinstance(m, VocabParallelEmbedding) and not isinstance(m, ParallelLMHead)
            ]
            if not found:
                raise RuntimeError("vllm-swir: the model has no vocabulary-parallel input embedding.")
            weight = getattr(found[0], "weight", None)
            if not isinstance(weight, torch.Tensor) or not weight.is_floating_point():
                raise RuntimeError(
                    "vllm-swir: the input embedding is quantized; the soft mix needs its rows."
                )
            self.swir_embed = found[0]
        return self.swir_embed

    def _swir_trace(self, picked: list[tuple[int, str]], p: torch.Tensor, actions: list[Action]) -> None:
        if self.swir_writer is None:
            return
        latent = [j for j, a in enumerate(actions) if a.record.get("mode") == "latent"]
        if latent:
            vals, ids = torch.topk(p[latent], min(MIX_SHOWN, p.shape[-1]))  # [k, 5]
            pairs = torch.stack([ids.double(), vals.double()], dim=-1).tolist()  # one transfer
            for j, top in zip(latent, pairs, strict=True):
                actions[j].record["mix"] = [[int(i), round(v, 6)] for i, v in top]
        for (_, rid), act in zip(picked, actions, strict=True):
            key = self.swir_keys.get(rid)
            if key is not None:
                self.swir_writer.write(key, [act.record])
