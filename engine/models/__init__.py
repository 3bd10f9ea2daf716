"""What a model is: named presets, the recipes of the models trained here, GGUF export, checkpoint facts.

Holds `presets.py` (named models, whether each can run here), `paths.py` (the
cache, the shipped weights, `data/`: a leaf both presets and recipes read),
the recipes `smollm2_think.py` (the fine-tune: adapter merge) and `tiny_moe.py`
(the tiny qwen3_5_moe), `gguf_export.py` (llama.cpp's converter) and `data/`
(real Qwen3.5 checkpoint facts, the tiny model's tokenizer data).
Leaves loading and running a model to `engine/runtimes/`, and serving it to
`engine/backends/`. Nothing here is imported by this file.
"""
