"""HTML and JavaScript typed by a visitor or written by a model stay text, in a real Chromium.

The app runs around a scripted backend whose name and tokens are hostile
markup; the visitor sends hostile markup too. A `dialog` handler fails the
test if any `alert` runs; the markup must be visible literally in the chat,
the header, the chart's hover labels and the exported standalone HTML chart.
What the copy buttons put on the clipboard is the words, with no markup, also
where the page has no clipboard API.
"""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("playwright")

from bench.load_test import file_value, serve, settings_values  # noqa: E402
from engine.backends.base import BackendInfo  # noqa: E402
from engine.config import METHODS  # noqa: E402
from engine.events import Done, Started, Step, Summary  # noqa: E402

pytestmark = pytest.mark.browser

SCRIPT_TAG = "<script>alert(1)</script>"
IMG_TAG = "<img src=x onerror=alert(1)>"
TOKENS = [  # (text, mode, phase)
    ("Thinking ", "latent", "thinking"),
    (IMG_TAG, "explicit", "thinking"),
    ("</think>", "explicit", "thinking"),
    ("Answer: ", "explicit", "answer"),
    (SCRIPT_TAG, "explicit", "answer"),
    (" " + IMG_TAG, "explicit", "answer"),
]
WAIT_MS = 60_000
CODE = "`<b>&amp;</b>`"  # a code span: shown and copied byte for byte
BLOCK = "x = '&amp;' < 3"  # a code block: its own copy button copies it as written
VISITOR = f"Hi {SCRIPT_TAG} and {IMG_TAG}, then {CODE}\n```\n{BLOCK}\n```"


class HostileBackend:
    """Plays TOKENS under a hostile model name."""

    info = BackendInfo(IMG_TAG, "test:", frozenset({"text"}), "cpu", METHODS)

    def check_media(self, images, videos):
        return None

    def chat(self, turns, settings, cancel=None):
        yield Started(settings.method, 4, settings.max_new_tokens, 2, True)
        for i, (text, mode, phase) in enumerate(TOKENS):
            yield Step(i, 100 + i, text, 1.0 + i / 5, 1.1, mode == "latent", None, False, False, phase)
        n = len(TOKENS)
        yield Done(Summary(n, 1, n - 1, 0, "eos", 0.01, 50.0))


@pytest.fixture(scope="module")
def hostile_url():
    demo, url = serve(HostileBackend(), 8)
    yield url
    demo.close()


def _no_dialogs(page, fired: list) -> None:
    def on_dialog(dialog):
        fired.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)


def _hover_labels(page) -> list[str]:
    """Move across the chart's canvas and collect every hover label shown."""
    canvas = page.locator("#rio-chart canvas")
    box = canvas.bounding_box()
    labels = []
    for k in range(0, 200):
        x = box["x"] + box["width"] * k / 200
        page.mouse.move(x, box["y"] + box["height"] * 0.4)
        tip = page.locator("#rio-chart .rio-trace-tip")
        if tip.is_visible():
            labels.append(tip.inner_text())
    return labels


def test_markup_from_visitor_and_model_is_shown_as_text(browser, hostile_url):
    ctx = browser.new_context(
        viewport={"width": 1400, "height": 950}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = ctx.new_page()
    fired: list = []
    _no_dialogs(page, fired)
    page.goto(hostile_url)
    page.wait_for_selector("#rio-box textarea", timeout=WAIT_MS)
    page.locator("#rio-box textarea").fill(VISITOR)
    page.locator("#rio-box textarea").press("Enter")
    page.wait_for_selector("#rio-summary .rio-card:not(.rio-card-running)", timeout=WAIT_MS)
    chat = page.locator("#rio-chat")
    text = chat.inner_text()
    assert f"Hi {SCRIPT_TAG} and {IMG_TAG}" in text  # the visitor's message, literally
    assert CODE.strip("`") in text  # shown as code
    assert "Answer: " + SCRIPT_TAG in text
    assert IMG_TAG in page.locator("#rio-header").inner_text()
    assert page.locator("#rio-chat img[src='x'], #rio-header img[src='x'], #rio-chat script").count() == 0
    # The chart has drawn every step before we hover over it (all six come in the run's last updates,
    # which a busy tab receives together: the case where a dict-shaped chart value was lost).
    page.wait_for_function(
        f"+document.querySelector('#rio-chart .rio-trace').dataset.points >= {len(TOKENS)}", timeout=WAIT_MS
    )
    labels = "\n".join(_hover_labels(page))
    assert '"<img src=x onerror' in labels and '"<script>alert' in labels  # long labels are cut
    # copying gives words, not markup: a message's copy button gives the visitor's message exactly
    # as typed (its code span byte for byte) and the answer as shown
    page.locator("#rio-chat .code_wrap button").click()
    assert page.evaluate("navigator.clipboard.readText()").strip() == BLOCK
    copy_message = page.locator("#rio-chat").get_by_label("Copy message")
    copy_message.first.click()
    assert page.evaluate("navigator.clipboard.readText()") == VISITOR
    copy_message.last.click()  # the model's turn: its thinking under the title, then the answer
    turn = page.evaluate("navigator.clipboard.readText()")
    assert turn.startswith("Thinking") and f"  Thinking {IMG_TAG}\n" in turn
    assert turn.endswith(f"\n\nAnswer: {SCRIPT_TAG} {IMG_TAG}") and "rio-" not in turn
    # and the chat's own button the whole conversation, the thinking under its title
    page.get_by_role("button", name="Copy conversation").click()
    page.wait_for_selector("#rio-copy[data-copied]", timeout=5_000)  # the check mark: copied
    copied = page.evaluate("navigator.clipboard.readText()")
    blocks = copied.split("\n\n")
    assert blocks[0] == f"You: {VISITOR}"
    assert blocks[1].startswith("Assistant (Thinking") and blocks[1].endswith(f"): Thinking {IMG_TAG}")
    assert blocks[2] == f"Assistant: Answer: {SCRIPT_TAG} {IMG_TAG}"
    assert "rio-" not in copied and "&lt;" not in copied
    assert fired == []
    ctx.close()


def test_exported_html_chart_keeps_markup_as_text(browser, hostile_url):
    from gradio_client import Client

    client = Client(hostile_url, verbose=False, download_files=False)
    _box, history = client.predict({"text": "go", "files": []}, [], api_name="/take_message")
    job = client.submit(history, *settings_values(8, seed=1), api_name="/respond")
    job.result(timeout=WAIT_MS / 1000)
    chat = [o[0] for o in job.outputs() if isinstance(o[0], list)][-1]
    paths = [file_value(p) for p in client.predict(chat, api_name="/exports")]
    client.close()
    html_path = next(p for p in paths if p.endswith(".html"))
    html = httpx.get(f"{hostile_url}gradio_api/file={html_path}", timeout=60).text
    ctx = browser.new_context()
    page = ctx.new_page()
    fired: list = []
    _no_dialogs(page, fired)
    assert SCRIPT_TAG not in html and IMG_TAG not in html  # escaped wherever it is embedded
    assert "onerror=alert(1)" in html.replace("\\u003c", "<") or "&lt;img" in html  # but present
    page.set_content(html)
    assert page.locator("img[src='x']").count() == 0
    assert fired == []
    ctx.close()


def test_copy_conversation_works_where_the_page_has_no_clipboard_api(browser, hostile_url):
    """Served over plain http to another machine, a page has no navigator.clipboard: the button
    copies through the older copy command, and shows its check mark; a message's own copy button
    copies its words there too, not its Markdown."""
    ctx = browser.new_context()
    ctx.add_init_script(
        "delete Navigator.prototype.clipboard;"  # as in an insecure context: not there at all
        "window.copied = []; document.addEventListener('copy', () => copied.push(document.activeElement.value));"
    )
    page = ctx.new_page()
    page.goto(hostile_url)
    page.wait_for_selector("#rio-box textarea", timeout=WAIT_MS)
    page.locator("#rio-box textarea").fill("fish & chips < 10")
    page.locator("#rio-box textarea").press("Enter")
    page.wait_for_selector("#rio-summary .rio-card:not(.rio-card-running)", timeout=WAIT_MS)
    page.get_by_role("button", name="Copy conversation").click()
    page.wait_for_selector("#rio-copy[data-copied]", timeout=5_000)
    (copied,) = page.evaluate("window.copied")
    assert copied.startswith("You: fish & chips < 10\n\nAssistant (Thinking")
    page.locator("#rio-chat").get_by_label("Copy message").first.click()
    page.wait_for_function("window.copied.length == 2", timeout=5_000)
    assert page.evaluate("window.copied[1]") == "fish & chips < 10"  # not "fish &amp; chips &lt; 10"
    ctx.close()
