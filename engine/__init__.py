"""The engine: everything about models, usable without the UI; imports neither gradio nor rio_app.

The decoding core lives here at the top level and loads no model: `config`,
`events`, `errors`, `swir` (the pure policy), `sampling`, `tokens`, `steps`
(the step interface every runtime implements), `decode` (the loop), `trace`,
and beside them `media`, `prompt`, `eval` and `cli` (`python -m engine`).
The rooms: `runtimes/` runs a model, `models/` says what a model is,
`backends/` is what the app talks to. Imports run one way, core <- models <-
runtimes <- backends <- eval/cli, with no circle (tests/test_import_graph.py).
"""
