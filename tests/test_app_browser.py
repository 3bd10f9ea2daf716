"""The whole app in a real Chromium, against the real small models.

Launches `build_app` in-process on a free loopback port (Gradio's own server
thread) around the session's `smollm2_backend` / `tiny_moe_backend` and
drives it with Playwright: a streamed answer with the chart growing (and no
thinking block for a model without `<think>`), the thinking block, an image
answered, a broken video refused at the box while the chat goes on, Stop,
race mode with its exports, the pt-BR page and a phone-width page. With
RIO_SCREENSHOTS=1 the README screenshots are written to docs/screenshots/.
Answers are kept to a few tokens so the file stays short.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("playwright")

from engine.config import DecodeSettings, SamplingParams, SwirParams  # noqa: E402
from rio_app.examples import example_image  # noqa: E402
from rio_app.layout import build_app, launch_kwargs  # noqa: E402
from tests.loopback_proxy import free_port  # noqa: E402

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
RUN_S = 120_000  # ms a short run may take on a busy 2-core machine
SMOL_TOKENS = 24


def _shot(page, name: str, full_page: bool = False) -> None:
    """Write a README screenshot when asked to (RIO_SCREENSHOTS=1)."""
    if os.environ.get("RIO_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name), full_page=full_page, animations="disabled")


def _serve(
    backend, max_new_tokens: int, window: int = 512, allow_model_switch: bool = True, calculator: bool = False,
    cap: int | None = 2, **sampling,
):  # fmt: skip
    # a small switch window makes SwiReasoning switch within a few steps
    # seed 0: sampled runs repeat (the page's seed box used to send 0 whatever it showed)
    settings = DecodeSettings(
        max_new_tokens=max_new_tokens, swir=SwirParams(window=window, max_switch_count=cap),
        sampling=SamplingParams(**sampling), seed=0, calculator=calculator,
    )  # fmt: skip
    demo = build_app(backend, settings=settings, allow_model_switch=allow_model_switch)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_kwargs()
    )
    return demo, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def smol_url(smollm2_backend):
    demo, url = _serve(smollm2_backend, SMOL_TOKENS, window=2, allow_model_switch=False)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def think_url(think_backend):
    # the preset's window, cap and calculator (the page applies them when it loads: a message sent
    # before that must run with the same), argmax
    demo, url = _serve(think_backend, 256, window=16, cap=4, greedy=True, calculator=True)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def trained_moe_url(tiny_moe_backend):
    demo, url = _serve(tiny_moe_backend, 320, window=16, cap=12, greedy=True)  # the preset's, argmax
    yield url
    demo.close()


@pytest.fixture(scope="module")
def tiny_url(random_moe_runtime):
    """The random tiny qwen3_5_moe: images and video, and latent steps within a few tokens."""
    from engine.backends.local import LocalBackend

    backend = LocalBackend(random_moe_runtime, max_batch_rows=2)  # the race runs as two rows of one batch
    demo, url = _serve(backend, 10)
    yield url
    demo.close()
    backend.scheduler.close()


class ShortCoT:
    """A batching backend whose sampled-CoT runs stop after `CAPPED` tokens: in a race the CoT
    row ends well before the SwiReasoning one, by construction (greedy, whatever the weights)."""

    CAPPED = 4

    def __init__(self, backend) -> None:
        self.backend, self.info = backend, backend.info

    def __getattr__(self, name: str):
        return getattr(self.backend, name)

    def chat(self, turns, settings, cancel=None):
        if settings.method == "cot":
            settings = replace(settings, max_new_tokens=self.CAPPED)
        return self.backend.chat(turns, settings, cancel)


RACE_TOKENS = 48  # the SwiReasoning row's length when nothing stops it
LONG_TOKENS = 400


@pytest.fixture(scope="module")
def race_url(random_moe_runtime):
    from engine.backends.local import LocalBackend

    backend = LocalBackend(random_moe_runtime, max_batch_rows=2)
    demo, url = _serve(ShortCoT(backend), RACE_TOKENS, greedy=True)
    yield url
    demo.close()
    backend.scheduler.close()


@pytest.fixture(scope="module")
def long_race_url(smollm2_runtime):
    from engine.backends.local import LocalBackend

    backend = LocalBackend(smollm2_runtime, max_batch_rows=2)
    demo, url = _serve(backend, LONG_TOKENS, greedy=True)  # a long story: only a Stop ends it soon
    yield url
    demo.close()
    backend.scheduler.close()


def _open(browser, url: str, locale: str = "en-US", size: tuple[int, int] = (1400, 900)):
    ctx = browser.new_context(
        locale=locale,
        viewport={"width": size[0], "height": size[1]},
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector("#rio-box textarea", timeout=60_000)
    # the page is built in English and redrawn in the visitor's language by the load event
    lang = "pt-BR" if locale.lower().startswith("pt") else "en"
    page.wait_for_selector(f"#rio-header .rio-header[lang='{lang}']", timeout=30_000)
    return ctx, page


def _send(page, text: str, box: str = "#rio-box") -> None:
    page.locator(f"{box} textarea").fill(text)
    page.locator(f"{box} textarea").press("Enter")


def _points(page, chart: str = "#rio-chart") -> int:
    return int(page.locator(f"{chart} .rio-trace").get_attribute("data-points") or 0)


def _chart(page, chart: str = "#rio-chart") -> dict:
    return page.locator(f"{chart} .rio-trace").evaluate("e => ({...e.dataset})")


def _wait_done(page) -> None:
    # the running card is a .rio-card too: wait for the run's own
    page.wait_for_selector("#rio-summary .rio-card:not(.rio-card-running)", timeout=RUN_S)
    page.wait_for_function("!document.querySelector('#rio-box textarea').disabled", timeout=30_000)


def test_streamed_answer_with_growing_chart(browser, smol_url):
    ctx, page = _open(browser, smol_url)
    _send(page, "Name three colours.")
    page.wait_for_function(
        "+document.querySelector('#rio-chart .rio-trace').dataset.points >= 2", timeout=RUN_S
    )
    first = _points(page)
    page.wait_for_function(
        f"+document.querySelector('#rio-chart .rio-trace').dataset.points > {first}", timeout=RUN_S
    )
    _wait_done(page)
    n = _points(page)
    assert n == SMOL_TOKENS or "end of answer" in page.locator("#rio-summary").inner_text()
    # SmolLM2 has no <think>: it answers directly, with no thinking block
    assert page.locator("#rio-chat .thought-group").count() == 0
    answer = page.locator("#rio-chat .bot").last.inner_text()
    assert len(answer.strip()) > 3
    assert "tokens" in page.locator("#rio-summary").inner_text()
    # a short run: the overview is the same line, one segment per step, not blocks
    chart = _chart(page)
    assert chart["overview"] == "line" and int(chart["overviewMarks"]) == n - 1
    assert chart["viewStart"] == "0" and int(chart["viewSteps"]) == n
    ctx.close()


def test_the_default_model_thinks_and_finds_the_number(browser, think_url):
    """smollm2-think, SwiReasoning: a held-out problem gets a thinking block and the right number."""
    from engine.eval import load_tasks
    from tests.test_smollm2_think import HELD_OUT, TASKS

    task = next(t for t in load_tasks(TASKS) if t.id == HELD_OUT[0])
    ctx, page = _open(browser, think_url)
    # before the first answer, the header says what this default can and cannot do
    assert "135M demo model" in page.locator("#rio-header .rio-about").inner_text()
    _send(page, task.question)
    _wait_done(page)
    assert page.locator("#rio-chat .thought-group").count() >= 1
    assert task.answer in page.locator("#rio-chat .bot").last.inner_text()
    # the page applied the preset's calculator: its digits are marked in the thinking and the
    # chart, and the model's \boxed{} answer shows framed
    assert int(_chart(page)["computed"]) > 0
    assert page.locator("#rio-chat .rio-boxed").last.inner_text().strip() == task.answer
    computed = page.locator("#rio-chat .rio-computed").first
    for _ in range(3):  # open the finished thinking block (the run's last update may close it again)
        if not computed.is_visible():
            page.locator("#rio-chat .thought-group .arrow").first.click()
            computed.wait_for(timeout=5_000)
        _shot(page, "chat.png")
        if computed.is_visible():
            break
    assert computed.get_attribute("title") == "written by the calculator, not the model"
    ctx.close()


def test_stop_keeps_partial_answer(browser, smol_url):
    ctx, page = _open(browser, smol_url)
    _send(page, "Tell me a long story about the sea.")
    page.wait_for_function(
        "+document.querySelector('#rio-chart .rio-trace').dataset.points >= 2", timeout=RUN_S
    )
    page.locator("#rio-box button.stop-button").click()
    _wait_done(page)
    assert "Stopped" in page.locator("#rio-chat").inner_text()
    assert "you (stop)" in page.locator("#rio-summary").inner_text()
    assert _points(page) < 24
    ctx.close()


def test_thinking_block_and_image_answer(browser, tiny_url):
    ctx, page = _open(browser, tiny_url)
    page.locator("#rio-box input[type=file]").set_input_files(example_image())
    page.wait_for_selector("#rio-box .thumbnail-item, #rio-box img", timeout=30_000)
    _send(page, "Describe this picture.")
    _wait_done(page)
    chat = page.locator("#rio-chat")
    assert chat.locator("img").count() >= 1  # the user's picture stays in the conversation
    title = chat.locator(".thought-group").first.inner_text()
    assert "latent" in title and "explicit" in title
    assert "tokens" in page.locator("#rio-summary").inner_text()
    # a latent token's tooltip lists what its soft embedding mixed (the title survives the sanitizer)
    chat.locator(".thought-group").first.click()
    tips = chat.locator(".rio-latent[title]")
    assert tips.count() >= 1 and "%" in (tips.first.get_attribute("title") or "")
    # the copied conversation names the picture and holds the words, not the latent marks
    page.get_by_role("button", name="Copy conversation").click()
    blocks = page.evaluate("navigator.clipboard.readText()").split("\n\n")
    assert f"You: [{Path(example_image()).name}]" in blocks and "You: Describe this picture." in blocks
    assert any(b.startswith("Assistant (Thinking") for b in blocks)
    assert not any("rio-" in b or "&lt;" in b for b in blocks)
    ctx.close()


def test_trained_tiny_moe_reads_the_expression_in_an_uploaded_picture(browser, trained_moe_url):
    """The trained tiny qwen3_5_moe, a held-out picture: the answer holds the expression's result."""
    from tests.test_tiny_moe import BROWSER_TASK, TASKS, task_line

    task = task_line(*BROWSER_TASK)
    ctx, page = _open(browser, trained_moe_url)
    page.locator("#rio-box input[type=file]").set_input_files(str(TASKS / task["images"][0]))
    page.wait_for_selector("#rio-box .thumbnail-item, #rio-box img", timeout=30_000)
    _send(page, task["question"])
    _wait_done(page)
    assert page.locator("#rio-chat .thought-group").count() >= 1
    assert task["answer"] in page.locator("#rio-chat .bot").last.inner_text()
    ctx.close()


def test_a_picture_on_the_text_default_switches_in_one_click_and_keeps_the_message(
    browser, think_backend, tiny_moe_backend
):
    """The offline default reads text only: an attached picture offers tiny-moe, one click
    loads it, and the message typed before the click is still in the box to send. Sent while
    tiny-moe still loads, the message is held back with the reason, not refused as unreadable."""
    from rio_app.layout import build_page
    from rio_app.state import ModelHolder
    from tests.test_tiny_moe import BROWSER_TASK, TASKS, task_line

    task = task_line(*BROWSER_TASK)
    settings = DecodeSettings(
        max_new_tokens=320, swir=SwirParams(window=16), sampling=SamplingParams(greedy=True)
    )
    loaded, ready = [], threading.Event()

    def loader(name, fallback, max_prompt_tokens=None):
        loaded.append(name)
        ready.wait(60)  # the load lasts until the test has pressed Enter during it
        return tiny_moe_backend

    demo, _page, _h = build_page(ModelHolder(think_backend), settings=settings, load_backend=loader)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_kwargs()
    )
    try:
        ctx, page = _open(browser, f"http://127.0.0.1:{port}/")
        page.locator("#rio-box textarea").fill(task["question"])
        page.locator("#rio-box input[type=file]").set_input_files(str(TASKS / task["images"][0]))
        offer = page.locator("#rio-reader-offer")
        offer.wait_for(state="visible", timeout=30_000)
        assert "tiny-moe" in offer.inner_text() and "smollm2-think" in offer.inner_text()
        offer.click()
        page.wait_for_selector("#rio-reader-offer:has-text('Loading tiny-moe')", timeout=30_000)
        page.locator("#rio-box textarea").press("Enter")
        page.get_by_text("tiny-moe is still loading", exact=False).first.wait_for(timeout=30_000)
        assert page.locator("#rio-chat .message").count() == 0  # nothing was sent
        ready.set()
        page.wait_for_selector("#rio-header .rio-header:has-text('tiny-moe')", timeout=60_000)
        offer.wait_for(state="hidden", timeout=30_000)
        assert loaded == ["tiny-moe"]
        assert page.locator("#rio-box textarea").input_value() == task["question"]  # kept as typed
        page.locator("#rio-box textarea").press("Enter")
        _wait_done(page)
        assert task["answer"] in page.locator("#rio-chat .bot").last.inner_text()
        ctx.close()
    finally:
        demo.close()


def test_broken_video_is_refused_and_chat_goes_on(browser, tiny_url, tmp_path):
    fake = tmp_path / "holiday.mp4"
    fake.write_text("this is only text, not a video\n")
    ctx, page = _open(browser, tiny_url)
    page.locator("#rio-box input[type=file]").set_input_files(str(fake))
    page.wait_for_selector("#rio-box .thumbnail-item, #rio-box .thumbnail-small", timeout=30_000)
    _send(page, "What happens here?")
    error = page.get_by_text("holiday.mp4:", exact=False)
    error.first.wait_for(timeout=30_000)
    assert page.locator("#rio-chat .message").count() == 0  # nothing was sent
    page.locator("#rio-box .thumbnail-item button, #rio-box button.delete-button").first.click()
    _send(page, "Hello")
    _wait_done(page)
    assert page.locator("#rio-chat .bot").count() >= 1
    ctx.close()


def test_race_mode_runs_both_panes_and_exports_both(browser, tiny_url):
    ctx, page = _open(browser, tiny_url)
    page.get_by_role("tab", name="Race mode").click()
    _send(page, "What is 2 + 2?", box="#rio-race-box")
    page.wait_for_selector("#rio-race-card-b .rio-card", timeout=RUN_S)
    assert page.locator("#rio-race-card-a .rio-card").count() == 1
    assert _points(page, "#rio-race-chart-a") > 0 and _points(page, "#rio-race-chart-b") > 0
    page.wait_for_function("document.querySelector('#rio-race-verdict').innerText.length > 0")
    # both panes line up: charts and cards start at the same height
    tops = [
        page.locator(f"#rio-race-{k}").bounding_box()["y"] for k in ("chart-a", "chart-b", "card-a", "card-b")
    ]
    assert abs(tops[0] - tops[1]) < 2 and abs(tops[2] - tops[3]) < 2
    # "Copy both runs": each pane's conversation under its name, in words, then the verdict
    page.get_by_role("button", name="Copy both runs").click()
    page.wait_for_selector("#rio-race-copy[data-copied]", timeout=5_000)
    blocks = page.evaluate("navigator.clipboard.readText()").split("\n\n")
    at_b = blocks.index("CoT:")
    assert blocks[:2] == ["SwiReasoning:", "You: What is 2 + 2?"]
    assert blocks[at_b + 1] == "You: What is 2 + 2?"
    assert all(b.startswith("Assistant") for b in blocks[2:at_b] + blocks[at_b + 2 : -1])
    assert blocks[-1] == page.locator("#rio-race-verdict").inner_text().strip()
    assert "rio-" not in "".join(blocks) and "&lt;" not in "".join(blocks)
    page.locator("#rio-race-exports").click()
    button = page.locator("#rio-race-export_json")
    button.wait_for(timeout=30_000)
    with page.expect_download() as download:
        button.click()
    runs = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))["runs"]
    assert [r["method"] for r in runs] == ["swir", "cot"]
    assert [len(r["steps"]) for r in runs] == [
        _points(page, "#rio-race-chart-a"),
        _points(page, "#rio-race-chart-b"),
    ]
    for key in ("png", "html", "md"):
        assert page.locator(f"#rio-race-export_{key}").is_visible()
    ctx.close()


def test_the_default_model_races_swireasoning_against_greedy_cot(browser, think_url):
    """smollm2-think in the race tab: both panes answer a held-out problem with the calculator on."""
    from engine.eval import load_tasks
    from tests.test_smollm2_think import HELD_OUT, TASKS

    task = next(t for t in load_tasks(TASKS) if t.id == HELD_OUT[-1])
    ctx, page = _open(browser, think_url)
    page.get_by_role("tab", name="Race mode").click()
    page.locator("#rio-race-tab").get_by_label("CoT (greedy)").check()
    chosen = page.locator("#rio-race-tab input[value='cot-greedy']")
    page.locator("#rio-race-box textarea").focus()
    page.mouse.move(0, 0)
    away = chosen.evaluate("e => getComputedStyle(e).backgroundColor")
    chosen.hover()  # the chosen dot stays drawn under the pointer (assets/style.css)
    assert chosen.evaluate("e => getComputedStyle(e).backgroundColor") == away
    _send(page, task.question, box="#rio-race-box")
    for pane in ("a", "b"):
        page.wait_for_selector(f"#rio-race-card-{pane} .rio-card:not(.rio-card-running)", timeout=RUN_S)
    page.wait_for_function("document.querySelector('#rio-race-verdict').innerText.length > 0")
    for pane in ("a", "b"):
        assert int(_chart(page, f"#rio-race-chart-{pane}")["computed"]) > 0
    _shot(page, "race.png", full_page=True)
    ctx.close()


def test_portuguese_page(browser, tiny_url):
    ctx, page = _open(browser, tiny_url, locale="pt-BR")
    tabs = page.locator("button[role=tab]").all_inner_texts()
    assert "Conversa" in tabs and "Modo corrida" in tabs
    assert "Modelo:" in page.locator("#rio-header").inner_text()
    assert "Digite uma mensagem" in (page.locator("#rio-box textarea").get_attribute("placeholder") or "")
    _send(page, "Quanto é 2 + 2?")
    _wait_done(page)
    card = page.locator("#rio-summary").inner_text()
    assert "parado por" in card and "fração latente" in card  # built on the server, in Portuguese
    assert "Pensamento" in page.locator("#rio-chat .thought-group").first.inner_text()
    # the thinking text itself is shown (the block stays open when the run ends inside it)
    page.wait_for_function(
        "(() => { const c = document.querySelector('#rio-chat .thought-group .content');"
        " return c && c.innerText.trim().length > 0 && c.getBoundingClientRect().height > 8; })()",
        timeout=10_000,
    )
    _shot(page, "chat-pt-BR.png")
    ctx.close()


def test_phone_width_page(browser, smol_url):
    ctx, page = _open(browser, smol_url, size=(390, 844))
    _send(page, "Hi!")
    _wait_done(page)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]  # nothing overflows sideways
    chat, chart = page.locator("#rio-chat").bounding_box(), page.locator("#rio-chart canvas").bounding_box()
    assert chat["y"] < chart["y"] and chart["width"] >= 300  # chat first, chart full width below
    # this server was started with model switching off: the picker says so
    assert page.locator("#rio-switch-off").count() == 1
    _shot(page, "chat-phone.png", full_page=True)
    ctx.close()


RACE_WORDS = {  # (tab, "stopped by" line of the card, the visitor's stop, its note in the chat)
    "en-US": ("Race mode", "stopped by", "you (stop)", "Stopped"),
    "pt-BR": ("Modo corrida", "parado por", "você (parar)", "Interrompido"),
}


def _card_tokens(page, key: str) -> int:
    return int(page.locator(f"#rio-race-card-{key} .rio-tile-v").first.inner_text())


@pytest.mark.parametrize("locale", ["en-US", "pt-BR"])
def test_a_race_row_that_ends_first_stops_nothing_else(browser, race_url, locale):
    """The CoT row ends after 4 tokens; the SwiReasoning row goes on to its own end, not 'you (stop)'."""
    tab, stopped_by, by_you, note = RACE_WORDS[locale]
    ctx, page = _open(browser, race_url, locale=locale)
    page.get_by_role("tab", name=tab).click()
    _send(page, "Tell me about the sea.", box="#rio-race-box")
    for key in ("a", "b"):
        page.wait_for_selector(f"#rio-race-card-{key} .rio-card", timeout=RUN_S)
    assert _card_tokens(page, "b") == ShortCoT.CAPPED
    assert _card_tokens(page, "a") > ShortCoT.CAPPED  # the longer row, which ended by itself
    foot = page.locator("#rio-race-card-a .rio-card-foot").inner_text()
    assert stopped_by in foot and by_you not in foot
    assert note not in page.locator("#rio-race-chat-a").inner_text()
    ctx.close()


def test_the_race_stop_ends_both_rows(browser, long_race_url):
    ctx, page = _open(browser, long_race_url)
    page.get_by_role("tab", name="Race mode").click()
    _send(page, "Tell me a long story about the sea.", box="#rio-race-box")
    for chart in ("#rio-race-chart-a", "#rio-race-chart-b"):
        page.wait_for_function(
            f"+document.querySelector('{chart} .rio-trace').dataset.points >= 2", timeout=RUN_S
        )
    page.locator("#rio-race-box button.stop-button").click()
    for key in ("a", "b"):
        page.wait_for_selector(f"#rio-race-card-{key} .rio-card", timeout=RUN_S)
        assert "you (stop)" in page.locator(f"#rio-race-card-{key} .rio-card-foot").inner_text()
        assert _card_tokens(page, key) < LONG_TOKENS
    page.wait_for_function("!document.querySelector('#rio-race-box textarea').disabled", timeout=30_000)
    ctx.close()


VISIBLE_TEXT = """() => { const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const e = n.parentElement, s = n.textContent.trim();
    if (s && e && !e.closest('script, style') && e.getClientRects().length
        && getComputedStyle(e).visibility !== 'hidden') out.push(s);
  }
  for (const e of document.querySelectorAll('[placeholder]'))
    if (e.getClientRects().length) out.push(e.getAttribute('placeholder'));
  for (const e of document.querySelectorAll('.rio-trace')) if (e.dataset.message) out.push(e.dataset.message);
  return out; }"""


def _english_only_strings() -> list[str]:
    """Every string of the app's English tables (page, chart, examples) that its pt-BR
    table words differently, as the literal pieces a page could show."""
    import re

    from rio_app import examples, i18n, visualize

    pairs = [(i18n.EN[k], i18n.PT[k]) for k in i18n.EN]
    pairs += [(visualize.STRINGS["en"][k], visualize.STRINGS["pt-BR"][k]) for k in visualize.STRINGS["en"]]
    media = examples.MEDIA_EXAMPLES
    pairs += [(en, "") for pair in examples.TEXT_EXAMPLES["en"] for en in pair]
    pairs += [(en, "") for kind in ("image", "video") for en in media["en"][kind]]
    pairs += [("", pt) for pair in examples.TEXT_EXAMPLES["pt-BR"] for pt in pair]
    pairs += [("", pt) for kind in ("image", "video") for pt in media["pt-BR"][kind]]
    portuguese = {pt for _, pt in pairs}
    out = set()
    for en, pt in pairs:
        if en == pt or en in portuguese:
            continue
        out.update(p.strip() for p in re.split(r"\\{[a-z_]+\\}", en) if len(p.strip()) >= 4)
    return sorted(out)


def _english_seen(texts: list[str], english: list[str]) -> list[tuple[str, str]]:
    """(English string, the page text holding it): a short string must be a whole text,
    a longer one may sit inside one (so "Chat" does not match "Rio Chat")."""
    return [(en, s) for s in texts for en in english if s == en or (len(en) >= 16 and en in s)]


def test_the_portuguese_page_shows_no_english_string(browser, tiny_url):
    """pt-BR in the browser: the chat (before and after a run), the race and the settings show
    nothing from the English tables (model names and numbers are the same in both)."""
    english = _english_only_strings()
    ctx, page = _open(browser, tiny_url, locale="pt-BR")
    seen = page.evaluate(VISIBLE_TEXT)
    assert "aguardando tokens…" in seen  # the empty chart, in Portuguese
    _send(page, "Quanto é 2 + 2?")
    _wait_done(page)
    seen += page.evaluate(VISIBLE_TEXT)
    # Gradio's own button under each message, worded from the app's table (Gradio has none in pt-BR)
    assert page.get_by_label("Copiar mensagem").count() >= 1
    assert page.get_by_label("Copy message").count() == 0
    assert page.get_by_role("button", name="Copiar conversa").is_visible()  # the app's own, translated
    page.get_by_role("tab", name="Modo corrida").click()
    page.wait_for_selector("#rio-race-intro", state="visible")
    seen += page.evaluate(VISIBLE_TEXT)
    page.get_by_role("tab", name="Conversa").click()
    page.locator(".sidebar .toggle-button").click()
    for accordion in page.locator(".sidebar button.label-wrap").all():
        accordion.click()
    page.get_by_text("Semente (vazio = aleatória)").wait_for()
    # a text box shows the server's seed as set (0 here); empty stays empty (Gradio's Number showed 0)
    assert page.get_by_label("Semente (vazio = aleatória)").input_value() == "0"
    seen += page.evaluate(VISIBLE_TEXT)
    assert "CoT (gulosa)" in seen and "Salário de 5 dias" in seen
    assert _english_seen(seen, english) == []
    ctx.close()
