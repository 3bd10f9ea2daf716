"""Per-run trace records: collect events, export JSON, derive summary numbers.

Owns: `TraceRecorder` (events in, the CLI's JSON schema out) and
`segment_stats` (latent segments and forced-answer counts that the summary
card shows). Leaves drawing to `rio_app/visualize.py`.

Schema 1: {"model": {"preset", "source"}, "method", "settings": {every knob,
"entropy": "exact"|"estimate", "switch_marks"}, "prompt_token_ids": [...],
"steps": [{"t", "token_id", "text", "entropy", "ref_entropy", "mode",
"switch", "forced", "injected", "phase", and on latent steps "mix":
[[token_id, text, p], ...]}], "summary": {...}, "stats": {...}}. "mode" is
"latent" for a latent step (the model read a soft embedding next), "forced"
marks a forced-explicit step.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from engine.config import DecodeSettings
from engine.events import Done, Event, Started, Step

SCHEMA_VERSION = 1


def settings_record(settings: DecodeSettings) -> dict:
    """Every knob of a run, flat, as the trace stores it."""
    d = {"method": settings.method, "max_new_tokens": settings.max_new_tokens, "seed": settings.seed}
    d.update(asdict(settings.sampling))
    d["greedy"] = settings.greedy  # cot-greedy implies it
    d.update(asdict(settings.swir))
    d["thinking"] = settings.thinking
    d["step_by_step_suffix"] = settings.step_by_step_suffix
    d["system_prompt"] = settings.system_prompt
    return d


class TraceRecorder:
    """Feed it a run's events; ask for the trace dict or JSON at any time.

    The prompt ids, the entropy kind and the switch marks come from the run's
    `Started` event."""

    def __init__(self, model: dict, settings: DecodeSettings) -> None:
        self.model = dict(model)
        self.settings = settings
        self.started: Started | None = None
        self.steps: list[Step] = []
        self.done: Done | None = None

    def add(self, event: Event) -> None:
        if isinstance(event, Step):
            self.steps.append(event)
        elif isinstance(event, Started):
            self.started = event
        elif isinstance(event, Done):
            self.done = event

    def to_dict(self) -> dict:
        started = self.started
        settings = settings_record(self.settings)
        settings["entropy"] = started.entropy if started else "exact"
        settings["switch_marks"] = started.switch_marks if started else "applied"
        return {
            "schema": SCHEMA_VERSION,
            "model": self.model,
            "method": self.settings.method,
            "settings": settings,
            "prompt_token_ids": list(started.prompt_ids) if started else [],
            "steps": [s.record() for s in self.steps],
            "summary": self.done.summary.record() if self.done else None,
            "stats": segment_stats(self.steps),
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


def segment_stats(steps: Sequence[Step]) -> dict:
    """Latent segments (runs of consecutive latent steps) and forced-answer tokens.

    `after_forced_tokens` counts the tokens the model chose after the first
    injected convergence/termination word: how much of a run's length is
    owed to a forced answer rather than to latent steps.
    """
    lengths, run = [], 0
    for s in steps:
        if s.latent:
            run += 1
        elif run:
            lengths.append(run)
            run = 0
    if run:
        lengths.append(run)
    first_inj = next((i for i, s in enumerate(steps) if s.injected), None)
    after = 0 if first_inj is None else sum(not s.injected for s in steps[first_inj:])
    n = len(steps)
    return {
        "latent_segments": len(lengths),
        "mean_latent_segment": sum(lengths) / len(lengths) if lengths else 0.0,
        "latent_share": sum(lengths) / n if n else 0.0,
        "after_forced_tokens": after,
        "injected_tokens": sum(s.injected for s in steps),
        "forced_explicit_steps": sum(s.forced_explicit for s in steps),
    }
