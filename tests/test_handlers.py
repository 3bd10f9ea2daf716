"""The app's handlers against a scripted fake backend (no model, no browser)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import gradio as gr
import pytest

from engine.backend import BackendInfo
from engine.config import METHODS, DecodeSettings
from engine.errors import MediaError, RioError
from engine.events import Done, Started, Step, Summary
from rio_app import handlers as H
from rio_app.convert import (
    SETTING_NAMES,
    conversation_markdown,
    history_to_turns,
    settings_from_values,
)
from rio_app.render import plain_text, render_runs
from rio_app.state import ModelHolder, Session
from rio_app.trace_chart import value_rows

# (text, mode, phase): three thinking steps, the closing marker, two answer steps
SCRIPT = [
    ("Let ", "latent", "thinking"),
    ("me ", "latent", "thinking"),
    ("see", "explicit", "thinking"),
    ("</think>", "explicit", "thinking"),
    ("The answer ", "explicit", "answer"),
    ("is 4.", "explicit", "answer"),
]


class FakeBackend:
    """Plays SCRIPT; `on_step(i, cancel)` runs after step i; `fail_at` raises a RioError there."""

    def __init__(self, modalities=("text",), on_step=None, fail_at=None, script=SCRIPT):
        self.info = BackendInfo("fake", "fake:", frozenset(modalities), "cpu", METHODS)
        self.on_step, self.fail_at, self.script = on_step, fail_at, script
        self.calls: list[tuple] = []

    def check_media(self, images, videos):
        if (images or videos) and "image" not in self.info.modalities:
            raise MediaError(f"{(images or videos)[0]}: this model reads text only.")

    def chat(self, turns, settings, cancel=None):
        self.calls.append((list(turns), settings))
        yield Started(settings.method, 3, settings.max_new_tokens, 2, True)
        n = latent = 0
        for i, (text, mode, phase) in enumerate(self.script):
            if cancel is not None and cancel.is_set():
                yield Done(Summary(n, latent, n - latent, 1, "cancelled", 0.01, 100.0))
                return
            if i == self.fail_at:
                raise RioError("prompt.txt: too long for this model (5000 > 4096 tokens).")
            switch = "to_explicit" if i == 2 else None
            yield Step(i, 100 + i, text, 1.0 + i / 10, 1.2, mode, switch, False, False, phase)
            n, latent = n + 1, latent + (mode == "latent")
            if self.on_step:
                self.on_step(i, cancel)
        yield Done(Summary(n, latent, n - latent, 1, "eos", 0.01, 100.0))


def defaults(**over) -> list:
    s = DecodeSettings()
    values = {
        "method": s.method,
        "max_new_tokens": 16,
        "temperature": 0.6,
        "top_p": 0.95,
        "top_k": 20,
        "min_p": 0.0,
        "alpha0": 1.0,
        "beta0": 0.7,
        "window": 8,
        "max_switch": 2,
        "thinking": True,
        "seed": 7,
        "suffix": False,
    }
    values.update(over)
    return [values[n] for n in SETTING_NAMES]


@pytest.fixture(autouse=True)
def no_throttle(monkeypatch):
    monkeypatch.setattr(H, "YIELD_EVERY_S", 0.0)


def run_chat(backend, history, session=None, **over):
    h = H.Handlers(ModelHolder(backend))
    session = session or Session()
    return list(h.respond(None, history, session, *defaults(**over))), session


def user(text):
    return [{"role": "user", "content": text}]


def test_streaming_order_and_thinking_metadata():
    outs, session = run_chat(FakeBackend(), user("2+2?"))
    chats = [o[0] for o in outs if isinstance(o[0], list)]
    # the first frame shows a placeholder before any token; then the thinking grows
    assert chats[0][-1]["content"] == "…"
    thinking = [c[1] for c in chats if c[1].get("metadata")]
    assert thinking[0]["metadata"]["status"] == "pending"
    assert "Let" in plain_text(thinking[0]["content"])
    final = chats[-1]
    meta = final[1]["metadata"]
    assert meta["status"] == "done" and meta["duration"] >= 0
    assert "2 latent / 2 explicit" in meta["title"] and "1 switches" in meta["title"]
    assert plain_text(final[1]["content"]) == "Let me see"  # the </think> marker is never shown
    assert plain_text(final[2]["content"]) == "The answer is 4."
    assert session.last_run is not None and len(session.last_run.trace["steps"]) == len(SCRIPT)


def test_latent_tokens_are_marked_and_model_text_is_escaped():
    html = render_runs([("<script>x</script> ", False), ("soft", True), (" `a<b`", False)])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<span class="rio-latent">soft</span>' in html
    assert "`a<b`" in html  # code is left to the Markdown renderer, which escapes it
    assert plain_text(html) == "<script>x</script> soft `a<b`"


def test_chart_grows_by_appending_and_final_frame_skips_it():
    outs, _ = run_chat(FakeBackend(), user("hi"))
    charts = [value_rows(o[1]) for o in outs if isinstance(o[1], dict) and "meta" in o[1]]
    counts = [len(rows) for rows in charts]
    assert counts == sorted(counts) and counts[-1] == len(SCRIPT)
    for prev, nxt in zip(charts, charts[1:], strict=False):
        assert nxt[: len(prev)] == prev  # only appended
    assert outs[-1] == (gr.skip(), gr.skip(), gr.skip())
    cards = [o[2] for o in outs if isinstance(o[2], str)]
    assert "Running" in cards[0] and "rio-tile" not in cards[0]  # sent once, with the first frame
    assert len(cards) == 2 and ">6<" in cards[1] and "end of answer" in cards[1]


def test_stop_mid_run_keeps_partial_text_and_marks_it_stopped():
    def press_stop(i, cancel):
        if i == 4:
            cancel.set()

    outs, _ = run_chat(FakeBackend(on_step=press_stop), user("hi"))
    final = [o[0] for o in outs if isinstance(o[0], list)][-1]
    answer = final[-1]["content"]
    assert plain_text(answer) == "The answer"  # kept what was produced, dropped the rest
    assert "Stopped" in answer and "rio-note" in answer
    assert final[1]["metadata"]["status"] == "done"


def test_stop_handler_sets_the_flag_the_engine_checks():
    session = Session()
    flag = session.new_run()
    H.Handlers(ModelHolder(FakeBackend())).stop(session)
    assert flag.is_set()


def test_backend_error_becomes_a_note_and_history_stays():
    history = user("first") + [{"role": "assistant", "content": "ok"}] + user("second")
    outs, _ = run_chat(FakeBackend(fail_at=3), history)
    final = [o[0] for o in outs if isinstance(o[0], list)][-1]
    assert final[:3] == history
    assert "too long for this model" in final[-1]["content"]
    assert any(isinstance(o[2], str) and "too long" in o[2] for o in outs)


def test_bad_settings_warn_and_leave_the_chat_alone():
    outs, _ = run_chat(FakeBackend(), user("hi"), seed="abc")
    assert outs == [(gr.skip(), gr.skip(), gr.skip())]


def test_race_gives_each_pane_its_own_run_with_one_seed():
    backend = FakeBackend()
    h = H.Handlers(ModelHolder(backend))
    outs = list(h.race(None, {"text": "2+2?", "files": []}, "cot-greedy", Session(), *defaults(seed=None)))
    assert [c[1].method for c in backend.calls] == ["swir", "cot-greedy"]
    seeds = {c[1].seed for c in backend.calls}
    assert len(seeds) == 1 and None not in seeds
    a_frames = [o for o in outs if isinstance(o[0], list)]
    b_frames = [o for o in outs if isinstance(o[3], list)]
    assert a_frames and b_frames
    assert outs.index(a_frames[-1]) < outs.index(b_frames[0])  # one after the other
    assert all(o[3] == gr.skip() for o in a_frames) and all(o[0] == gr.skip() for o in b_frames)
    assert any(isinstance(o[2], str) and "rio-card" in o[2] for o in outs)
    assert any(isinstance(o[5], str) and "rio-card" in o[5] for o in outs)
    assert "same number of tokens" in outs[-2][6]


def test_check_message_refuses_media_at_the_box_for_a_text_model(tmp_path):
    img = tmp_path / "cat.png"
    img.write_bytes(b"\x89PNG")
    h = H.Handlers(ModelHolder(FakeBackend()))
    box, *_ = h.check_message(None, {"text": "what?", "files": [str(img)]}, [], None)
    assert box["is_valid"] is False and "reads text only" in box["message"]
    ok, *_ = h.check_message(None, {"text": "hi", "files": []}, [], None)
    assert ok["is_valid"] is True
    empty, *_ = h.check_message(None, {"text": "  ", "files": []}, [], None)
    assert empty["is_valid"] is False


def test_history_in_both_shapes_gives_the_same_turns(tmp_path):
    img = tmp_path / "a.png"
    img.write_bytes(b"x")
    page = [
        {"role": "user", "content": [{"type": "file", "file": {"path": str(img), "mime_type": "image/png"}}]},
        {"role": "user", "content": [{"type": "text", "text": "what is &lt;this&gt;?"}]},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "hmm"}],
            "metadata": {"title": "Thinking"},
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": 'A <span class="rio-latent">dot</span>.'}],
        },
        {"role": "user", "content": [{"type": "text", "text": "and?"}]},
    ]
    api = [
        {"role": "user", "content": (str(img),)},
        {"role": "user", "content": "what is &lt;this&gt;?"},
        {"role": "assistant", "content": "hmm", "metadata": {"title": "Thinking"}},
        {"role": "assistant", "content": 'A <span class="rio-latent">dot</span>.'},
        {"role": "user", "content": "and?"},
    ]
    pairs = [
        [(str(img),), None],
        ["what is &lt;this&gt;?", 'A <span class="rio-latent">dot</span>.'],
        ["and?", None],
    ]
    expected = history_to_turns(page)
    assert [t.role for t in expected] == ["user", "assistant", "user"]
    assert expected[0].images == (str(img),) and expected[0].text == "what is <this>?"
    assert expected[1].text == "A dot." and expected[1].thinking == "hmm"
    assert history_to_turns(api) == expected
    pair_turns = history_to_turns(pairs)
    assert pair_turns[0] == expected[0] and pair_turns[1].text == "A dot." and pair_turns[2] == expected[2]


def test_settings_widgets_to_decode_settings():
    s = settings_from_values(defaults(max_switch=0, seed="", method="cot-greedy"))
    assert s.swir.max_switch_count is None and s.seed is None and s.greedy
    with pytest.raises(RioError):
        settings_from_values(defaults(seed="x1"))


def test_markdown_export_and_files(tmp_path):
    backend = FakeBackend()
    history = user("2+2?")
    outs, session = run_chat(backend, history)
    final = [o[0] for o in outs if isinstance(o[0], list)][-1]
    md = conversation_markdown(final)
    assert "**user:**\n\n2+2?" in md
    assert "<details><summary>Thinking" in md and "Let me see" in md
    assert "**assistant:**\n\nThe answer is 4." in md
    buttons = H.Handlers(ModelHolder(backend)).exports(session, final)
    paths = [b["value"] for b in buttons]
    assert all(b["visible"] for b in buttons)
    trace = json.loads(Path(paths[0]).read_text(encoding="utf-8"))
    assert [s["text"] for s in trace["steps"]] == [t for t, _, _ in SCRIPT]
    assert Path(paths[1]).read_bytes()[:4] == b"\x89PNG"
    assert "<html" in Path(paths[2]).read_text(encoding="utf-8").lower()
    assert Path(paths[3]).read_text(encoding="utf-8") == md


def test_retry_and_undo():
    h = H.Handlers(ModelHolder(FakeBackend()))
    history = user("q1") + [{"role": "assistant", "content": "a1"}] + user("q2")
    history += [
        {"role": "assistant", "content": "t", "metadata": {"title": "T"}},
        {"role": "assistant", "content": "a2"},
    ]
    assert h.retry(history, Session()) == history[:3]
    kept, box = h.undo(history)
    assert kept == history[:2] and box["value"]["text"] == "q2"


def test_model_switch_keeps_the_old_model_until_the_new_one_is_ready():
    old, new = FakeBackend(), FakeBackend(modalities=("text", "image"))
    new.info = BackendInfo("tiny-moe", "fake:", frozenset({"text", "image"}), "cpu", METHODS)
    holder = ModelHolder(old)
    seen = []

    def loader(name, fallback):
        seen.append(holder.backend)  # still the old one while loading
        return new

    outs = list(H.Handlers(holder, loader).load_model(None, "tiny-moe", progress=lambda *a, **k: None))
    assert seen == [old] and holder.backend is new
    assert "loaded" in outs[-1][0]

    def failing(name, fallback):
        raise RioError("needs a GPU")

    outs = list(H.Handlers(holder, failing).load_model(None, "qwen3.5-27b", progress=lambda *a, **k: None))
    assert holder.backend is new and "needs a GPU" in outs[-1][0]


def test_session_survives_state_copy_and_cleans_up():
    import copy

    s = Session()
    assert copy.deepcopy(s) is s
    folder = s.export_dir()
    assert folder.is_dir()
    s.close()
    assert not folder.exists()
    assert isinstance(s.cancel, threading.Event)


def test_run_that_ends_inside_thinking_leaves_the_block_open_with_a_note():
    outs, _ = run_chat(FakeBackend(script=SCRIPT[:3]), user("hi"))
    final = [o[0] for o in outs if isinstance(o[0], list)][-1]
    think, note = final[1], final[2]
    assert "status" not in think["metadata"] and think["metadata"]["duration"] >= 0  # open, not spinning
    assert plain_text(think["content"]) == "Let me see"
    assert "stopped inside its reasoning" not in note["content"]  # it ended by EOS, not by the cap
    assert "ended inside its reasoning" in note["content"] and "rio-note" in note["content"]
    assert plain_text(note["content"]) == ""  # the note never goes back to the model
    assert len(final) == 3


def test_thinking_cut_by_max_tokens_says_so_in_the_page_language():
    class Capped(FakeBackend):
        def chat(self, turns, settings, cancel=None):
            for ev in super().chat(turns, settings, cancel):
                yield Done(Summary(3, 2, 1, 1, "max_new_tokens", 0.01, 1.0)) if isinstance(ev, Done) else ev

    class Req:
        headers = {"accept-language": "pt-BR,pt;q=0.9"}

    h = H.Handlers(ModelHolder(Capped(script=SCRIPT[:3])))
    outs = list(h.respond(Req(), user("oi"), Session(), *defaults()))
    final = [o[0] for o in outs if isinstance(o[0], list)][-1]
    assert "máximo de tokens novos" in final[-1]["content"]


def test_model_without_thinking_gets_no_thinking_block():
    answer_only = [("Blue", "latent", "answer"), (", red", "explicit", "answer"), (".", "explicit", "answer")]
    outs, _ = run_chat(FakeBackend(script=answer_only), user("colours?"))
    for chat in (o[0] for o in outs if isinstance(o[0], list)):
        assert not any(m.get("metadata") for m in chat)
    final = [o[0] for o in outs if isinstance(o[0], list)][-1]
    assert len(final) == 2 and plain_text(final[1]["content"]) == "Blue, red."
    assert '<span class="rio-latent">Blue</span>' in final[1]["content"]


def test_race_exports_hold_both_runs(tmp_path):
    backend = FakeBackend()
    h = H.Handlers(ModelHolder(backend))
    session = Session()
    outs = list(h.race(None, {"text": "2+2?", "files": []}, "cot", session, *defaults()))
    chat_a = [o[0] for o in outs if isinstance(o[0], list)][-1]
    chat_b = [o[3] for o in outs if isinstance(o[3], list)][-1]
    buttons = h.race_exports(None, session, chat_a, chat_b)
    assert len(buttons) == 4 and all(b["visible"] for b in buttons)
    paths = [Path(b["value"]) for b in buttons]
    runs = json.loads(paths[0].read_text(encoding="utf-8"))["runs"]
    assert [r["method"] for r in runs] == ["swir", "cot"]
    assert all(len(r["steps"]) == len(SCRIPT) for r in runs)
    assert paths[1].read_bytes()[:4] == b"\x89PNG"
    page = paths[2].read_text(encoding="utf-8")
    assert "rio-trace-data-0" in page and "rio-trace-data-1" in page
    md = paths[3].read_text(encoding="utf-8")
    assert md.count("The answer is 4.") == 2 and "# SwiReasoning · swir" in md and "# CoT · cot" in md
    assert h.race_exports(None, Session(), [], []) == H.hide_exports()


def test_method_menu_offers_only_what_the_backend_runs():
    from rio_app.layout import build_app

    def offered(backend) -> set[str]:
        demo = build_app(backend)
        radios = [b for b in demo.blocks.values() if isinstance(b, gr.Radio)]
        return {v for r in radios for _, v in r.choices}

    assert "swir" in offered(FakeBackend())
    remote = FakeBackend()
    remote.info = BackendInfo("served", "http://x/v1", frozenset({"text"}), "remote", ("cot", "cot-greedy"))
    assert {"cot", "cot-greedy"} <= offered(remote) and "swir" not in offered(remote)
