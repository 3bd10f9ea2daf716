"""What the app talks to: the Backend contract and its two kinds.

Holds `base.py` (the `Backend` protocol and `BackendInfo`), `local.py` (a
runtime of `engine/runtimes/` in this process, with the scheduler), `remote.py`
(an OpenAI-compatible server: vLLM, SGLang, llama.cpp's server) and
`entropy_estimate.py` (entropy bounds from a server's top-k log-probabilities).
Leaves the decoding policy and loop to the core (`engine/`), model loading to
`engine/runtimes/` and presets to `engine/models/`. Nothing here is imported by
this file: importing the package loads no torch.
"""
