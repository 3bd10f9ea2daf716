"""`SwirWorker`: the platform's own V1 worker with SwiReasoning in its model runner.

Owns: the `--worker-cls vllm_swir.worker.SwirWorker` class. It subclasses the worker vLLM
would pick for this platform (`CPUWorker` on a CPU, `Worker` on CUDA), lets it build its model
runner, then puts `runner.SwirRunnerMixin` in front of the runner's class (the same object,
one more base class: nothing of vLLM is copied). Every tensor-parallel rank runs it.

Model runner V2 is a different runner that this extension does not patch: start vLLM with
`VLLM_USE_V2_MODEL_RUNNER=0` (the worker refuses to start otherwise).
"""

from __future__ import annotations

from vllm.platforms import current_platform
from vllm.v1.worker.gpu_model_runner import GPUModelRunner

from vllm_swir.runner import SwirRunnerMixin

if current_platform.is_cpu():
    from vllm.v1.worker.cpu_worker import CPUWorker as _PlatformWorker
else:
    from vllm.v1.worker.gpu_worker import Worker as _PlatformWorker

_CLASSES: dict[type, type] = {}


def with_swir(runner: GPUModelRunner) -> GPUModelRunner:
    """Put the SwiR mixin in front of the runner's class (once per class) and initialise it."""
    base = type(runner)
    cls = _CLASSES.get(base)
    if cls is None:
        cls = _CLASSES[base] = type(f"Swir{base.__name__}", (SwirRunnerMixin, base), {})
    runner.__class__ = cls
    runner.swir_init()  # type: ignore[attr-defined]
    return runner


class SwirWorker(_PlatformWorker):  # type: ignore[misc, valid-type]
    def init_device(self) -> None:
        super().init_device()
        runner = self.model_runner
        if not isinstance(runner, GPUModelRunner):
            raise RuntimeError(
                f"vllm-swir patches the V1 model runner, but this worker built {type(runner).__name__}: "
                "start vLLM with VLLM_USE_V2_MODEL_RUNNER=0."
            )
        with_swir(runner)
