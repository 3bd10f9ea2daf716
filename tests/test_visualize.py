"""rio_app/visualize.py: PNG export, standalone HTML safety, and the shared pure helpers.

Owns: fast checks without a browser (the live chart in Chromium is in
test_trace_chart_browser.py). Traces are built here from a small rule-based
fake run, never from a model.
"""

from __future__ import annotations

import io
import json
import math
from html.parser import HTMLParser

import pytest
from PIL import Image

from engine.events import Step
from rio_app import visualize as viz

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</script><b>x</b>", "a\u2028b&amp;"]


def make_steps(n: int, method: str = "swir") -> list[Step]:
    """Latent for 10 steps, explicit for 10, ...; switches at the boundaries."""
    out = []
    for t in range(n):
        latent = method == "swir" and (t // 10) % 2 == 0
        switch = None
        if method == "swir" and t > 0 and t % 10 == 0:
            switch = "to_latent" if latent else "to_explicit"
        out.append(
            Step(t=t, token_id=t, text=f"w{t} ", entropy=1.0 + math.sin(t / 5),
                 ref_entropy=1.0 if method == "swir" else None, latent=latent,
                 switch=switch, forced_explicit=t % 13 == 0 and latent, injected=t % 97 == 1, phase="thinking")
        )  # fmt: skip
    return out


def make_trace(n: int, method: str = "swir", **settings) -> dict:
    steps = make_steps(n, method)
    return {
        "model": {"preset": "tiny", "source": "fixture"},
        "method": method,
        "settings": {"max_switch_count": 2 if method == "swir" else None, "max_new_tokens": n, **settings},
        "prompt_token_ids": [1, 2, 3],
        "steps": [s.record() for s in steps],
        "summary": {
            "tokens": n,
            "switches": sum(s.switch == "to_explicit" for s in steps),
            "stop_reason": "eos",
        },
    }


# ---------------------------------------------------------------- PNG


@pytest.mark.parametrize("method", ["swir", "cot"])
@pytest.mark.parametrize("n", [0, 1, 100, 2000])
def test_png_is_a_png_of_the_asked_size(n, method):
    data = viz.figure_png(make_trace(n, method), width=800, height=300)
    assert data.startswith(PNG_SIGNATURE)
    assert 5_000 < len(data) < 2_000_000
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (800, 300)


def test_png_without_entropy_and_with_estimate_label():
    trace = make_trace(50, entropy="estimate")
    for s in trace["steps"]:
        s["entropy"] = None
    assert viz.figure_png(trace).startswith(PNG_SIGNATURE)
    assert viz.entropy_label(trace["settings"]) == "estimated entropy (top-k logprobs)"
    assert viz.entropy_label({"entropy": "exact"}) == "entropy"


def test_png_draws_something_different_for_different_runs():
    assert viz.figure_png(make_trace(100)) != viz.figure_png(make_trace(100, "cot"))


def test_title_counts_switches_against_max():
    assert viz.trace_title(make_trace(45)) == "tiny · SwiReasoning · 45 tokens · switches 2 / 2"
    off = make_trace(45)
    off["settings"]["max_switch_count"] = None
    assert viz.trace_title(off).endswith("switches 2 / off")
    assert "switches" not in viz.trace_title(make_trace(45, "cot"))


# ---------------------------------------------------------------- latent_spans


def _mode_steps(modes: str, start: int = 0) -> list[dict]:
    return [{"t": start + i, "mode": "latent" if m == "L" else "explicit"} for i, m in enumerate(modes)]


@pytest.mark.parametrize(
    ("modes", "spans"),
    [
        ("", []),  # no steps, no spans
        ("EEEE", []),  # CoT: all explicit
        ("LLLL", [(0, 4)]),  # all latent: one span to one past the last t
        ("L", [(0, 1)]),  # a single latent step is a span
        ("LLEEL", [(0, 2), (4, 5)]),  # each maximal latent run is one span
        ("ELLE", [(1, 3)]),  # spans are half-open [first t, last t + 1)
    ],
)
def test_latent_spans_rules(modes, spans):
    assert viz.latent_spans(_mode_steps(modes)) == spans


def test_latent_spans_follow_t_not_list_index():
    assert viz.latent_spans(_mode_steps("ELL", start=100)) == [(101, 103)]


def test_latent_spans_break_at_a_gap_in_t():
    steps = _mode_steps("LL") + _mode_steps("LL", start=5)
    assert viz.latent_spans(steps) == [(0, 2), (5, 7)]


def test_latent_spans_same_for_steps_and_records():
    steps = make_steps(35)
    assert viz.latent_spans(steps) == viz.latent_spans([s.record() for s in steps]) == [(0, 10), (20, 30)]


def test_switch_steps_by_direction():
    assert viz.switch_steps(make_steps(45)) == {"to_explicit": [10, 30], "to_latent": [20, 40]}


# ---------------------------------------------------------------- rows


def test_step_row_codes_and_rounding():
    s = Step(t=7, token_id=3, text="x" * 40, entropy=1.23456, ref_entropy=0.5, latent=True,
             switch="to_latent", forced_explicit=True, injected=True, phase="answer")  # fmt: skip
    assert viz.step_row(s) == [7, 1.235, 0.5, 1, 2, 1 | 2 | 4, [], "x" * viz.LIVE_TEXT_LIMIT]
    rec = {
        "t": 0,
        "text": "",
        "entropy": float("nan"),
        "ref_entropy": None,
        "mode": "explicit",
        "switch": "to_explicit",
    }
    assert viz.step_row(rec) == [0, None, None, 0, 1, 0, [], ""]


def test_chunks_round_trip_awkward_text():
    texts = ["a,b,c", "back\\slash\\n", "line\nbreak\r", "", ",", "\\", *HOSTILE]
    steps = [{"t": i, "text": x, "entropy": 0.5 * i, "ref_entropy": None if i % 2 else 1.0,
              "mode": "latent", "switch": None, "forced": i == 1} for i, x in enumerate(texts)]  # fmt: skip
    chunk = viz.encode_steps(steps, text_limit=100)
    assert chunk.count("\n") == len(texts) - 1  # one line per step, text newlines escaped
    assert viz.decode_chunk(chunk) == viz.step_rows(steps, text_limit=100)
    assert viz.decode_chunk("") == []


def test_chunk_numbers_are_short():
    s = {"t": 3, "text": "x", "entropy": 2.0, "ref_entropy": 0.12345, "mode": "explicit", "switch": None}
    assert viz.encode_steps([s]) == "3,2,0.123,0,0,0,,x"
    latent = {**s, "mode": "latent", "mix": [[5, " a,b;c:%", 0.51234], [6, "\n", 0.2]]}
    chunk = viz.encode_steps([latent])
    assert chunk == "3,2,0.123,1,0,0,0.512:%20a%2Cb%3Bc%3A%25;0.2:%0A,x"
    assert viz.decode_chunk(chunk)[0][6] == [[" a,b;c:%", 0.512], ["\n", 0.2]]


def test_meta_from_trace():
    meta = viz.meta_from_trace(make_trace(3, entropy="estimate"), lang="pt-BR", note="not applied")
    assert (meta["method"], meta["max_switch"], meta["estimate"], meta["lang"], meta["note"]) == (
        "swir", 2, True, "pt-BR", "not applied")  # fmt: skip
    assert set(meta["strings"]) == {"en", "pt-BR"}
    assert set(meta["strings"]["en"]) == set(meta["strings"]["pt-BR"])
    assert viz.meta_from_trace(make_trace(3))["run"] != meta["run"]


def test_append_steps_leaves_the_old_value_alone():
    tc = pytest.importorskip("rio_app.trace_chart")
    steps = make_steps(30)
    v0 = tc.chart_value(tc.chart_meta("swir", 2), steps[:10])
    v1 = tc.append_steps(v0, steps[10:20])
    v2 = tc.append_steps(v1, steps[20:])
    assert [len(tc.value_rows(v)) for v in (v0, v1, v2)] == [10, 20, 30]
    assert len(tc.value_chunks(v2)) == 3 and tc.value_chunks(v2)[:2] == tc.value_chunks(v1)  # appended
    assert [len(v) for v in (v0, v1)] == [2, 3]  # old values untouched
    assert tc.value_meta(v2) is tc.value_meta(v0)
    assert tc.value_rows(v2) == viz.step_rows(steps)
    assert tc.append_steps(v2, []) is v2  # nothing new, nothing to send


def test_ending_with_skip_replaces_the_chart_value_whole():
    """The handler's closing `gr.skip()` is diffed against the chart's last value; the browser applies
    that diff in place. It must be one replace of the whole value, never key-by-key deletes that
    would empty the object the chart is about to draw (seen: a run that never appeared)."""
    tc = pytest.importorskip("rio_app.trace_chart")
    import gradio as gr
    from gradio.utils import diff

    value = tc.append_steps(tc.chart_value(tc.chart_meta("swir", 2), make_steps(4)), make_steps(8)[4:])
    skip = gr.skip()
    assert diff(value, skip) == [["replace", [], skip]]
    grown = tc.append_steps(value, make_steps(12)[8:])
    assert [op[0] for op in diff(value, grown)] == ["add"]  # streaming stays an append


# ---------------------------------------------------------------- standalone HTML


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.data: dict[str, str] = {}
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in = dict(attrs).get("id") if tag == "script" else None

    def handle_data(self, data):
        if self._in:
            self.data[self._in] = self.data.get(self._in, "") + data


def _hostile_trace() -> dict:
    trace = make_trace(60)
    for i, text in enumerate(HOSTILE):
        trace["steps"][i + 2]["text"] = text
    return trace


def test_standalone_html_embeds_the_data():
    trace = _hostile_trace()
    page = viz.standalone_html(trace)
    parser = _Tags()
    parser.feed(page)
    value = json.loads(parser.data["rio-trace-data-0"])
    rows = [r for chunk in value[1:] for r in viz.decode_chunk(chunk)]
    assert len(rows) == 60
    assert [r[7] for r in rows[2:6]] == HOSTILE  # hostile text survives exactly, as data
    assert rows[10][4] == 1  # the switch at t=10 is there
    assert value[0]["max_switch"] == 2


def test_standalone_html_never_lets_token_text_become_markup():
    page = viz.standalone_html(_hostile_trace())
    parser = _Tags()
    parser.feed(page)
    assert parser.tags.count("script") == 2  # the data block and the chart code, nothing else
    assert "img" not in parser.tags and "b" not in parser.tags
    lowered = page.lower()
    assert "<script>alert" not in lowered and "<img src=x" not in lowered
    assert lowered.count("</script") == 2
    assert "http://" not in page and "https://" not in page  # no network


def test_standalone_html_escapes_the_title():
    trace = make_trace(5)
    trace["model"]["preset"] = "<b>evil</b>"
    page = viz.standalone_html(trace)
    assert "<b>evil</b>" not in page and "&lt;b&gt;evil&lt;/b&gt;" in page


def test_json_for_script_round_trips():
    value = {"rows": [[0, None, None, 0, 0, 0, t] for t in HOSTILE]}
    text = viz.json_for_script(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


def test_two_runs_on_one_page_and_one_png():
    a, b = make_trace(30), make_trace(50, "cot")
    page = viz.standalone_htmls([a, b], lang="pt-BR")
    parser = _Tags()
    parser.feed(page)
    values = [json.loads(parser.data[f"rio-trace-data-{i}"]) for i in (0, 1)]
    assert [v[0]["method"] for v in values] == ["swir", "cot"]
    assert [sum(len(viz.decode_chunk(c)) for c in v[1:]) for v in values] == [30, 50]
    assert parser.tags.count("script") == 3 and 'lang="pt-BR"' in page
    png = Image.open(io.BytesIO(viz.figures_png([a, b], width=600, height=250)))
    assert png.size == (600, 500)


def test_the_export_summary_line_speaks_the_page_language():
    from rio_app.visualize import standalone_html

    trace = {"method": "swir", "summary": {"tokens": 12, "latent_steps": 3, "explicit_steps": 9, "switches": 1,
                                           "computed_tokens": 2, "stop_reason": "eos", "tokens_per_s": 41.234},
             "steps": []}  # fmt: skip
    pt = standalone_html(trace, lang="pt-BR")
    assert "passos latentes 3" in pt and "tokens calculados 2" in pt and "parou por fim da resposta" in pt
    en = standalone_html(trace, lang="en")
    assert "latent steps 3" in en and "tokens/s 41.23" in en and "stopped by end of answer" in en
    assert "latent_steps" not in en and "stop_reason" not in pt  # no field names
