"""The settings sidebar as one table: each row is a widget, its field and its converters.

Owns: `SETTINGS` (name, the `DecodeSettings` field it sets, how to build its
widget, how to convert between widget and field values, whether a model's
preset recommends a value for it), `build_widgets` (the widgets, grouped in
accordions, keyed by name), `settings_from_values` (widget values by name ->
validated `DecodeSettings`), its inverse `widget_values`, and `preset_values` (a preset's recommendations
-> widget values by name). Adding a setting is one row here; the layout,
the handlers and the model switch pick it up by name.
Leaves the rest of the page to `layout.py` and what events do to `handlers.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import gradio as gr

from engine.backends.base import BackendInfo
from engine.config import DecodeSettings, SamplingParams, SwirParams
from engine.errors import RioError
from engine.models.presets import recommended_settings
from rio_app.i18n import I18N

METHOD_CHOICES = [
    ("SwiReasoning", "swir"),
    (I18N("method_cot"), "cot"),
    (I18N("method_cot_greedy"), "cot-greedy"),
]
GROUPS = {"": None, "sampling": "sampling_group", "swir": "swir_group"}  # path head -> accordion label


def _same(x: Any) -> Any:
    return x


def _seed(x: Any) -> int | None:
    if x is None or (isinstance(x, str) and not x.strip()):
        return None
    try:
        return int(float(x))
    except ValueError as err:
        raise RioError(f"Seed must be a whole number or empty, not {x!r}.") from err


def method_choices(methods: tuple[str, ...]) -> list[tuple[str, str]]:
    """The decode methods this backend runs for real (a stock remote server: no SwiR)."""
    return [(label, m) for label, m in METHOD_CHOICES if m in methods] or METHOD_CHOICES


def _method_radio(value: str, info: BackendInfo) -> gr.Radio:
    choices = method_choices(info.methods)
    value = value if value in {m for _, m in choices} else choices[0][1]
    return gr.Radio(choices, value=value, label=I18N("method"), info=I18N("method_info"))


@dataclass(frozen=True)
class Setting:
    name: str  # widget key and I18N label key
    path: str  # the DecodeSettings field: "max_new_tokens", "sampling.top_p", "swir.window"
    widget: Callable[[Any, BackendInfo], gr.components.Component]  # (widget value, backend) -> widget
    to_field: Callable[[Any], Any] = _same  # widget value -> field value
    to_widget: Callable[[Any], Any] = _same  # field value -> widget value
    per_preset: bool = False  # a preset recommends its value (applied on load and on a model switch)


def _checkbox(name: str) -> Callable[[Any, BackendInfo], gr.Checkbox]:
    return lambda value, info: gr.Checkbox(value=bool(value), label=I18N(name))


def _calculator_checkbox(value: Any, info: BackendInfo) -> gr.Checkbox:
    """The calculator works where the loop runs here; a remote server decodes on its own."""
    local = info.runtime != "remote"
    return gr.Checkbox(value=bool(value) and local, label=I18N("calculator"), interactive=local)


def _sl(name: str, lo: float, hi: float, step: float) -> Callable[[Any, BackendInfo], gr.Slider]:
    return lambda value, info: gr.Slider(lo, hi, value=value, step=step, label=I18N(name))


SETTINGS: tuple[Setting, ...] = (
    Setting("method", "method", _method_radio, str),
    Setting("max_new_tokens", "max_new_tokens", _sl("max_new_tokens", 1, 8192, 1), int),
    Setting(
        "temperature", "sampling.temperature", _sl("temperature", 0.05, 2.0, 0.05), float, per_preset=True
    ),
    Setting("top_p", "sampling.top_p", _sl("top_p", 0.05, 1.0, 0.01), float, per_preset=True),
    Setting("top_k", "sampling.top_k", _sl("top_k", 0, 200, 1), int, per_preset=True),
    Setting("min_p", "sampling.min_p", _sl("min_p", 0.0, 0.5, 0.01), float, per_preset=True),
    Setting("greedy", "sampling.greedy", _checkbox("greedy"), bool),
    Setting("alpha0", "swir.alpha0", _sl("alpha0", 0.0, 1.0, 0.05), float, per_preset=True),
    Setting("beta0", "swir.beta0", _sl("beta0", 0.0, 1.0, 0.05), float, per_preset=True),
    Setting("window", "swir.window", _sl("window", 1, 1024, 1), int, per_preset=True),
    Setting(
        "max_switch",
        "swir.max_switch_count",
        _sl("max_switch", 0, 16, 1),
        to_field=lambda x: int(x or 0) or None,
        to_widget=lambda x: x or 0,
        per_preset=True,
    ),  # fmt: skip
    Setting(
        "reference_quirks",
        "swir.variant",
        _checkbox("reference_quirks"),
        to_field=lambda x: "reference" if x else "strict",
        to_widget=lambda x: x == "reference",
    ),  # fmt: skip
    Setting("thinking", "thinking", _checkbox("thinking"), bool, per_preset=True),
    Setting("calculator", "calculator", _calculator_checkbox, bool, per_preset=True),
    Setting(  # a text box: Gradio's Number shows and sends 0 for "empty", so every run was seed 0
        "seed",
        "seed",
        lambda value, info: gr.Textbox(value=value, max_lines=1, label=I18N("seed")),
        _seed,
        to_widget=lambda x: "" if x is None else str(x),
    ),  # fmt: skip
    Setting("suffix", "step_by_step_suffix", _checkbox("suffix"), bool),
    Setting(
        "system_prompt",
        "system_prompt",
        lambda value, info: gr.Textbox(value=value, lines=2, max_lines=8, label=I18N("system_prompt")),
        lambda x: str(x or ""),
    ),  # fmt: skip
)
NAMES: tuple[str, ...] = tuple(s.name for s in SETTINGS)


def _field(settings: DecodeSettings, path: str) -> Any:
    obj: Any = settings
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def build_widgets(defaults: DecodeSettings, info: BackendInfo) -> dict[str, gr.components.Component]:
    """Every setting's widget in table order; consecutive rows of one group share an accordion."""
    out: dict[str, gr.components.Component] = {}
    for head, rows in groupby(SETTINGS, key=lambda s: s.path.rpartition(".")[0]):
        with gr.Accordion(I18N(GROUPS[head]), open=False) if GROUPS[head] else nullcontext():
            for s in rows:
                out[s.name] = s.widget(s.to_widget(_field(defaults, s.path)), info)
    return out


def settings_from_values(values: Mapping[str, Any]) -> DecodeSettings:
    """Widget values by setting name -> validated `DecodeSettings` (`RioError` for bad input)."""
    fields: dict[str, dict[str, Any]] = {head: {} for head in GROUPS}
    for s in SETTINGS:
        head, _, leaf = s.path.rpartition(".")
        try:
            fields[head][leaf] = s.to_field(values[s.name])
        except (TypeError, ValueError) as err:
            raise RioError(f"{s.name.replace('_', ' ')}: {values[s.name]!r} is not a valid value.") from err
    top = fields[""]
    return DecodeSettings(
        **top, sampling=SamplingParams(**fields["sampling"]), swir=SwirParams(**fields["swir"])
    ).validate()


def widget_values(settings: DecodeSettings) -> dict[str, Any]:
    """Every widget's value for `settings` (the inverse of `settings_from_values`)."""
    return {s.name: s.to_widget(_field(settings, s.path)) for s in SETTINGS}


def preset_values(preset: Any | None) -> dict[str, Any]:
    """Widget values of the settings a preset recommends (`recommended_settings`)."""
    base = recommended_settings(preset)
    return {s.name: s.to_widget(_field(base, s.path)) for s in SETTINGS if s.per_preset}
