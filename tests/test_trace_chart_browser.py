"""The live trace chart in a real Chromium: streaming growth, hover, hostile text, two charts.

Owns: a browser check of `rio_app/trace_chart.py` + `assets/trace_chart.js`
through a tiny gr.Blocks app on a loopback port. The generator waits on a
threading.Event after its first batch so the test can see the chart mid-run
without sleeping.
"""

from __future__ import annotations

import json
import threading

import pytest

pytest.importorskip("playwright")
gr = pytest.importorskip("gradio")

from engine.events import Step  # noqa: E402
from rio_app.trace_chart import TraceChart, append_steps, chart_meta, chart_value  # noqa: E402
from rio_app.visualize import LIVE_TEXT_LIMIT  # noqa: E402
from tests.loopback_proxy import free_port  # noqa: E402

pytestmark = pytest.mark.browser

HOSTILE = {3: "<img src=x onerror=alert(1)>", 4: "<script>alert(1)</script>", 6: 'a,b\\c\n"d'}
N_A, N_B, N_C, BATCH = 120, 40, 4000, 8
COMPUTED = (15, 16, 17)  # steps of the CoT chart the calculator wrote
MIX = ((11, " the", 0.4123), (12, "<b>x</b>", 0.2), (13, "a,b;c:%", 0.1), (14, "\n", 0.05), (15, "🌀", 0.01))


def _steps(n: int, method: str) -> list[Step]:
    out = []
    for t in range(n):
        latent = method == "swir" and (t // 10) % 2 == 0
        sw = (
            None
            if t == 0 or method != "swir"
            else ("to_explicit" if t % 20 == 10 else "to_latent" if t % 20 == 0 else None)
        )
        out.append(
            Step(t=t, token_id=t, text=HOSTILE.get(t, f"w{t}"), entropy=1.0 + (t % 7) / 5,
                 ref_entropy=1.2 if method == "swir" else None, latent=latent,
                 switch=sw, forced_explicit=False, injected=t == 5, phase="thinking",
                 mix=MIX if latent else (), computed=method == "cot" and t in COMPUTED)
        )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def app():
    gate = threading.Event()

    def run():
        a = chart_value(chart_meta("swir", 2))
        b = chart_value(chart_meta("cot", None))
        c = chart_value(chart_meta("swir", None), _steps(N_C, "swir"))  # a long run, whole
        steps_a, steps_b = _steps(N_A, "swir"), _steps(N_B, "cot")
        for i in range(0, N_A, BATCH):
            a = append_steps(a, steps_a[i : i + BATCH])
            b = append_steps(b, steps_b[i : i + BATCH]) if i < N_B else b
            yield a, b, c
            if i == 0:
                gate.wait(timeout=15)
        yield gr.skip(), gr.skip(), gr.skip()

    with gr.Blocks() as demo:
        with gr.Row():
            chart_a = TraceChart(elem_id="chart-a")
            chart_b = TraceChart(elem_id="chart-b")
        chart_c = TraceChart(elem_id="chart-c")
        go = gr.Button("go", elem_id="go")
        go.click(run, outputs=[chart_a, chart_b, chart_c])
    port = free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", gate
    demo.close()


@pytest.fixture(scope="module")
def page(app, browser):
    # the session's one Playwright (tests/conftest.py): a second sync_playwright
    # in the same thread is refused
    pg = browser.new_page(viewport={"width": 1200, "height": 800})
    yield pg
    pg.close()


def _data(page, chart: str) -> dict:
    return page.locator(f"#{chart} .rio-trace").evaluate("e => ({...e.dataset})")


def _points(page, chart: str) -> int:
    return int(page.get_attribute(f"#{chart} .rio-trace", "data-points") or 0)


def test_streams_hovers_and_keeps_charts_apart(app, page):
    url, gate = app
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.click("#go")
    page.wait_for_function(
        "document.querySelector('#chart-a .rio-trace')?.dataset.points === '8'", timeout=10_000
    )
    mid = _points(page, "chart-a")
    assert _data(page, "chart-a")["overview"] == "line"  # 8 steps: one segment per step, no blocks
    assert _data(page, "chart-a")["overviewMarks"] == "7"
    gate.set()
    page.wait_for_function(
        f"document.querySelector('#chart-a .rio-trace')?.dataset.points === '{N_A}'", timeout=10_000
    )
    page.wait_for_function(
        f"document.querySelector('#chart-b .rio-trace')?.dataset.points === '{N_B}'", timeout=10_000
    )
    assert mid < _points(page, "chart-a")

    # short runs fit the main panel whole; a long one shows its last window and a downsampled overview
    a, c = _data(page, "chart-a"), _data(page, "chart-c")
    assert (a["overview"], a["overviewMarks"], a["viewStart"], a["viewSteps"]) == (
        "line",
        str(N_A - 1),
        "0",
        str(N_A),
    )
    assert c["points"] == str(N_C) and c["overview"] == "bars"
    assert (c["viewStart"], c["viewSteps"]) == (str(N_C - 400), "400")
    assert 100 < int(c["overviewMarks"]) < N_C  # one bar per pixel column

    # the two charts hold their own data and counters
    assert page.inner_text("#chart-a .rio-trace-counter").endswith("/ 2")
    assert page.inner_text("#chart-b .rio-trace-counter") == f"{N_B} tokens"
    assert page.get_attribute("#chart-a .rio-trace", "data-switches") == str(
        sum(t % 20 == 10 for t in range(1, N_A))
    )

    # steps the calculator wrote are counted, and the legend names them only where there are some
    assert page.get_attribute("#chart-b .rio-trace", "data-computed") == str(len(COMPUTED))
    assert "computed (calculator)" in page.inner_text("#chart-b .rio-trace-legend")
    assert page.get_attribute("#chart-a .rio-trace", "data-computed") == "0"
    assert "computed" not in page.inner_text("#chart-a .rio-trace-legend")

    # hover the hostile step of chart A: its text shows literally, as text
    box = page.locator("#chart-a canvas").bounding_box()
    pw = box["width"] - 36 - 10
    for t, text in HOSTILE.items():
        page.mouse.move(box["x"] + 36 + (t + 0.5) / N_A * pw, box["y"] + 60)
        tip = page.locator("#chart-a .rio-trace-tip")
        tip.wait_for(state="visible", timeout=2_000)
        assert tip.get_attribute("data-step") == str(t)
        token = tip.locator(".rio-trace-tip-token").text_content()
        assert token == json.dumps(text[:LIVE_TEXT_LIMIT], ensure_ascii=False)  # rows carry 24 chars
        assert tip.locator("img, script").count() == 0
    # a latent step's tip lists the tokens its soft embedding mixed, as text, with their shares
    page.mouse.move(box["x"] + 36 + (2 + 0.5) / N_A * pw, box["y"] + 60)
    tip = page.locator("#chart-a .rio-trace-tip")
    tip.wait_for(state="visible", timeout=2_000)
    cells = tip.locator(".rio-trace-tip-mix tr").all_inner_texts()
    assert len(cells) == len(MIX)
    assert cells[0].split("\t") == ['" the"', "41.2%"] and cells[1].startswith('"<b>x</b>"')
    assert cells[2].startswith('"a,b;c:%"') and cells[4].startswith('"🌀"')
    assert tip.locator("b, img, script").count() == 0
    # an explicit step has no mix table
    page.mouse.move(box["x"] + 36 + (12 + 0.5) / N_A * pw, box["y"] + 60)
    tip.wait_for(state="visible", timeout=2_000)
    page.wait_for_function("document.querySelector('#chart-a .rio-trace-tip').dataset.step === '12'")
    assert tip.locator(".rio-trace-tip-mix").count() == 0
    assert page.locator("#chart-b .rio-trace-tip").is_hidden()
    assert dialogs == []
