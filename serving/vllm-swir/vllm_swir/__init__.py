"""SwiReasoning inside stock vLLM: a worker extension and an HTTP middleware.

Owns nothing of the rule itself: every step's decision is `engine.swir.policy_step`, imported
from the rio-chat checkout (its core imports with the standard library alone). Rooms:

- `knobs`: the per-request body (`vllm_xargs.swireasoning`), validated field by field;
- `rows`: one request's policy state and its trace records (pure Python);
- `runner`: the V1 model-runner mixin (read logits, apply the policy, build the soft input
  as a tensor-parallel partial mix + all-reduce, feed it at the next step);
- `worker`: `SwirWorker`, the `--worker-cls` that installs the mixin on the platform's worker;
- `http`: `SwirMiddleware`, the `--middleware` that checks the knobs (HTTP 400), isolates the
  request's prefix-cache blocks and streams the per-step trace beside the answer;
- `channel`: the trace files the worker appends to and the middleware tails.
"""
