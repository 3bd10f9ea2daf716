"""What runs a model: the runtimes that implement the step interface `engine/decode.py` drives.

Holds the torch runtime (`torch_runtime.py`, transformers) with its fast step
(`fast_step.py`: static cache and captured CUDA graph) and its batch cache
(`batch_cache.py`), the llama.cpp runtime (`llamacpp.py`, GGUF) with its media
(`llamacpp_media.py`, mmproj), the scheduler that decodes many rows in one batch
(`scheduler.py`), and the small leaves they share (`layers.py`: what a loaded
model's layers are; `threads.py`: loads on threads that end).
Leaves the decoding policy and loop to the core (`engine/`), what a model is
and where its files live to `engine/models/`, and the Backend contract to
`engine/backends/`. Nothing here is imported by this file: importing the
package loads no torch.
"""
