"""The app's handlers against a scripted fake backend (no model, no browser)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import gradio as gr
import pytest

from engine.backends.base import BackendInfo
from engine.config import METHODS, DecodeSettings, SamplingParams, SwirParams
from engine.errors import MediaError, RioError
from engine.events import Done, Started, Step, Summary
from engine.models.presets import PRESETS
from rio_app import handlers as H
from rio_app.convert import conversation_markdown, history_to_turns, user_messages
from rio_app.layout import build_page
from rio_app.render import plain_text, render_runs
from rio_app.settings import NAMES, settings_from_values, widget_values
from rio_app.state import ModelHolder, Session
from rio_app.trace_chart import value_rows

# (text, latent, phase): three thinking steps, the closing marker, two answer steps
SCRIPT = [
    ("Let ", True, "thinking"),
    ("me ", True, "thinking"),
    ("see", False, "thinking"),
    ("</think>", False, "thinking"),
    ("The answer ", False, "answer"),
    ("is 4.", False, "answer"),
]
MIX = ((7, " me", 0.6), (8, " us", 0.3))


def summary(n, latent, stop="eos", **kw):
    return Summary(n, latent, n - latent, 1, stop, 0.01, 100.0, **kw)


class FakeBackend:
    """Plays SCRIPT; `on_step(i, cancel)` runs after step i; `fail_at` raises a RioError there."""

    def __init__(self, modalities=("text",), on_step=None, fail_at=None, script=SCRIPT, done=None):
        self.info = BackendInfo("fake", "fake:", frozenset(modalities), "cpu", METHODS)
        self.on_step, self.fail_at, self.script, self.done = on_step, fail_at, script, done
        self.calls: list[tuple] = []

    def check_media(self, images, videos):
        if (images or videos) and "image" not in self.info.modalities:
            raise MediaError(f"{(images or videos)[0]}: this model reads text only.")

    def chat(self, turns, settings, cancel=None):
        self.calls.append((list(turns), settings))
        yield Started(settings.method, 3, settings.max_new_tokens, 2, True, prompt_ids=(1, 2, 3))
        n = latent = 0
        for i, (text, is_latent, phase) in enumerate(self.script):
            if cancel is not None and cancel.is_set():
                yield Done(summary(n, latent, "cancelled"))
                return
            if i == self.fail_at:
                raise RioError("prompt.txt: too long for this model (5000 > 4096 tokens).")
            switch = "to_explicit" if i == 2 else None
            mix = MIX if is_latent else ()
            yield Step(i, 100 + i, text, 1.0 + i / 10, 1.2, is_latent, switch, False, False, phase, mix)
            n, latent = n + 1, latent + is_latent
            if self.on_step:
                self.on_step(i, cancel)
        yield Done(self.done or summary(n, latent))


def defaults(**over) -> list:
    values = widget_values(DecodeSettings(max_new_tokens=16, seed=7))
    values["window"] = 8
    values.update(over)
    return [values[n] for n in NAMES]


@pytest.fixture(autouse=True)
def no_throttle(monkeypatch):
    monkeypatch.setattr(H, "YIELD_EVERY_S", 0.0)


def make(backend, loader=None):
    _demo, page, h = build_page(ModelHolder(backend), load_backend=loader)
    return page, h


def run_chat(backend, history, session=None, **over):
    """`respond` as an API client calls it: a history, a fresh session."""
    page, h = make(backend)
    session = session or Session()
    return list(h.respond(None, history, session, *defaults(**over))), session, page


def chats(outs, page):
    return [o[page.chat.chatbot] for o in outs if isinstance(o.get(page.chat.chatbot), list)]


class Visitor:
    """One browser tab: the page's handlers, a session and what the chat displays."""

    def __init__(self, backend, loader=None):
        self.page, self.h = make(backend, loader)
        self.session, self.display = Session(), []

    def send(self, text, files=(), **over):
        """Submit the box (take the message, then respond); return the final chat."""
        taken = self.h.take_message({"text": text, "files": list(files)}, self.display, self.session)
        return self.respond(taken[self.page.chat.chatbot], **over)

    def respond(self, history, **over):
        self.outs = list(self.h.respond(None, history, self.session, *defaults(**over)))
        self.display = chats(self.outs, self.page)[-1]
        return self.display


def user(text):
    return [{"role": "user", "content": text}]


def test_streaming_order_and_thinking_metadata():
    outs, session, page = run_chat(FakeBackend(), user("2+2?"))
    frames = chats(outs, page)
    # the first frame shows a placeholder before any token; then the thinking grows
    assert frames[0][-1]["content"] == "…"
    thinking = [c[1] for c in frames if c[1].get("metadata")]
    assert thinking[0]["metadata"]["status"] == "pending"
    assert "Let" in plain_text(thinking[0]["content"])
    final = frames[-1]
    meta = final[1]["metadata"]
    assert meta["status"] == "done" and meta["duration"] >= 0
    assert "2 latent / 2 explicit" in meta["title"] and meta["title"].endswith("· 1 switch")
    assert plain_text(final[1]["content"]) == "Let me see"  # the </think> marker is never shown
    assert plain_text(final[2]["content"]) == "The answer is 4."
    assert session.last_run is not None and len(session.last_run.trace["steps"]) == len(SCRIPT)
    assert session.last_run.trace["prompt_token_ids"] == [1, 2, 3]  # from the run's Started event


@pytest.mark.parametrize(
    ("lang", "n", "title", "note"),
    [
        ("en", 1, "1 latent / 5 explicit steps · 1 switch", "after 1 switch, not by the model, and only 1 answer token followed"),
        ("en", 2, "2 latent / 5 explicit steps · 2 switches", "after 2 switches, not by the model, and only 2 answer tokens followed"),
        ("pt-BR", 1, "1 passo latente / 5 explícitos · 1 troca", "após 1 troca, não pelo modelo, e só 1 token de resposta veio"),
        ("pt-BR", 0, "0 passos latentes / 5 explícitos · 0 trocas", "após 0 trocas, não pelo modelo, e só 0 tokens de resposta vieram"),
    ],
)  # fmt: skip
def test_counted_words_agree_with_their_count(lang, n, title, note):
    from rio_app.i18n import t

    assert t("thinking_title", lang, latent=n, explicit=5, switches=n).endswith(title)
    assert note in t("early_close_forced", lang, cap=n, tokens=n)


def test_latent_tokens_are_marked_with_their_mix_and_model_text_is_escaped():
    html = render_runs([("<script>x</script> ", False), ("soft", True, "' a' 60%"), (" `a<b`", False)])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<span class="rio-latent" title="&#x27; a&#x27; 60%">soft</span>' in html
    assert "`a<b`" in html  # code is left to the Markdown renderer, which escapes it
    assert plain_text(html) == "<script>x</script> soft `a<b`"
    final = run_chat(FakeBackend(), user("hi"))
    thinking = chats(final[0], final[2])[-1][1]["content"]
    assert thinking.count('title="&#x27; me&#x27; 60% · &#x27; us&#x27; 30%"') == 2  # one per latent token


def test_a_boxed_answer_shows_framed_and_goes_back_as_the_model_wrote_it():
    html = render_runs([("So \\boxed{", False), ("42", True, "'42' 90%"), ("} and `\\boxed{1}` <i>", False)])
    assert '<span class="rio-boxed">42</span>' in html and "`\\boxed{1}`" in html  # code stays code
    assert plain_text(html) == "So \\boxed{42} and `\\boxed{1}` <i>"
    typed = 'I typed \\boxed{5} and <span class="rio-boxed">9</span>'  # a visitor's text is never framed
    from rio_app.render import render_user

    assert 'rio-boxed">5' not in render_user(typed) and plain_text(render_user(typed)) == typed


def test_digits_the_calculator_wrote_are_marked_as_its_own():
    script = [("12 × 11 =", False, "thinking"), (" 132", False, "thinking"), ("</think>", False, "thinking"),
              ("It is 132.", False, "answer")]  # fmt: skip

    class Computing(FakeBackend):
        def chat(self, turns, settings, cancel=None):
            for ev in super().chat(turns, settings, cancel):
                yield (
                    Step(**{f: getattr(ev, f) for f in Step.__slots__} | {"computed": True})
                    if (isinstance(ev, Step) and ev.text == " 132")
                    else ev
                )

    outs, session, page = run_chat(Computing(script=script), user("12 × 11?"))
    thinking = chats(outs, page)[-1][1]["content"]
    assert (
        '<span class="rio-computed" title="written by the calculator, not the model"> 132</span>' in thinking
    )
    assert plain_text(thinking) == "12 × 11 = 132"  # the history the model reads back is plain text
    assert [s["computed"] for s in session.last_run.trace["steps"]] == [False, True, False, False]


def test_the_calculator_is_a_preset_setting_and_reaches_the_run():
    from rio_app.settings import preset_values

    assert preset_values(PRESETS["smollm2-think"])["calculator"] is True
    assert preset_values(PRESETS["qwen3.5-9b"])["calculator"] is False
    backend = FakeBackend()
    run_chat(backend, user("2+2?"), calculator=True)
    assert backend.calls[-1][1].calculator
    remote = FakeBackend()
    remote.info = BackendInfo(
        "served", "http://x/v1", frozenset({"text"}), "remote", METHODS, runtime="remote"
    )
    page, h = make(remote)
    assert page.settings["calculator"].interactive is False
    update = h.model_updates(remote, "en")[page.settings["calculator"]]
    assert update["value"] is False and update["interactive"] is False


@pytest.mark.parametrize(
    "typed",
    [
        "what is `&lt;` in HTML?",
        'a code span `<span class="rio-note">x</span>` stays',
        "I typed <think> and </think> on purpose",
        "<b>bold</b> & `x < y` and ```\nfenced <i>\n```",
        "a lone ` backtick and &amp; entity",
        "emoji 🌀 and 😀, accents ção",
    ],
)
def test_user_text_round_trips_through_the_display(typed):
    shown = user_messages({"text": typed, "files": []})[0]["content"]
    assert plain_text(shown) == typed
    assert history_to_turns(user(shown))[0].text == typed


def test_the_model_reads_the_turns_as_typed_not_the_display():
    backend = FakeBackend()
    v = Visitor(backend)
    typed = 'what is `&lt;` vs <think>? and `<span class="rio-note">`'
    v.send(typed)
    v.send("and then?")
    turns = backend.calls[-1][0]
    assert [t.role for t in turns] == ["user", "assistant", "user"]
    assert turns[0].text == typed  # exactly as typed
    assert turns[1].text == "The answer is 4." and turns[1].thinking == "Let me see"
    assert turns[2].text == "and then?"


def test_retry_undo_and_clear_trim_the_session_like_the_display():
    backend = FakeBackend()
    v = Visitor(backend)
    v.send("q1")
    v.send("q2")
    kept = v.h.retry(v.display, v.session)
    assert [m["role"] for m in kept] == ["user", "assistant", "assistant", "user"]
    assert [t.text for t in v.session.turns] == ["q1", "The answer is 4.", "q2"]
    v.respond(kept)
    assert [t.text for t in backend.calls[-1][0]] == ["q1", "The answer is 4.", "q2"]
    undone = v.h.undo(v.display, v.session)
    assert undone[v.page.chat.box]["value"]["text"] == "q2"
    assert [t.text for t in v.session.turns] == ["q1", "The answer is 4."]
    assert len(undone[v.page.chat.chatbot]) == 3
    v.h.clear(v.session)
    assert v.session.turns == [] and v.session.last_run is None


def test_chart_grows_by_appending_and_the_run_ends_with_an_empty_update():
    outs, _, page = run_chat(FakeBackend(), user("hi"))
    charts = [value_rows(o[page.chat.chart]) for o in outs if page.chat.chart in o]
    counts = [len(rows) for rows in charts]
    assert counts == sorted(counts) and counts[-1] == len(SCRIPT)
    for prev, nxt in zip(charts, charts[1:], strict=False):
        assert nxt[: len(prev)] == prev  # only appended
    assert outs[-1] == {page.chat.chatbot: gr.skip()}
    cards = [o[page.chat.card] for o in outs if page.chat.card in o]
    assert "Running" in cards[0] and "rio-tile" not in cards[0]  # sent once, with the first frame
    assert len(cards) == 2 and ">6<" in cards[1] and "end of answer" in cards[1]


def test_stop_mid_run_keeps_partial_text_and_marks_it_stopped():
    def press_stop(i, cancel):
        if i == 4:
            cancel.set()

    outs, _, page = run_chat(FakeBackend(on_step=press_stop), user("hi"))
    final = chats(outs, page)[-1]
    answer = final[-1]["content"]
    assert plain_text(answer) == "The answer"  # kept what was produced, dropped the rest
    assert "Stopped" in answer and "rio-note" in answer
    assert final[1]["metadata"]["status"] == "done"


def test_stop_handler_sets_the_flag_the_engine_checks():
    session = Session()
    flag = session.new_run()
    make(FakeBackend())[1].stop(session)
    assert flag.is_set()


def test_a_run_ended_by_an_unloaded_model_says_so_not_that_you_stopped_it():
    done = summary(2, 0, "unloaded")
    outs, _session, page = run_chat(FakeBackend(script=SCRIPT[:5], done=done), user("2+2?"))
    final = chats(outs, page)[-1]
    assert "Stopped: the model was unloaded" in final[-1]["content"]
    assert "before you stopped it" not in final[-1]["content"]


def test_backend_error_becomes_a_note_and_history_stays():
    history = user("first") + [{"role": "assistant", "content": "ok"}] + user("second")
    outs, _, page = run_chat(FakeBackend(fail_at=3), history)
    final = chats(outs, page)[-1]
    assert final[:3] == history
    assert "too long for this model" in final[-1]["content"]
    assert any("too long" in o.get(page.chat.card, "") for o in outs)


def test_bad_settings_warn_and_leave_the_chat_alone():
    outs, _, page = run_chat(FakeBackend(), user("hi"), seed="abc")
    assert outs == [H.nothing(page.chat.chatbot)]


def test_a_sampled_run_without_a_seed_gets_one_that_it_records():
    backend = FakeBackend()
    v = Visitor(backend)
    v.send("hi", seed=None)
    seed = backend.calls[-1][1].seed
    assert seed is not None and v.session.last_run.trace["settings"]["seed"] == seed


@pytest.mark.parametrize(
    ("method", "stop", "offered"),
    [
        ("swir", "eos", True),
        ("swir", "max_new_tokens", True),
        ("cot", "eos", False),
        ("swir", "cancelled", False),
    ],
)
def test_retry_with_cot_follows_every_finished_swir_answer(method, stop, offered):
    """Not only an early close: a SwiR run can also go wrong inside its latent spans."""
    v = Visitor(FakeBackend(done=summary(6, 2, stop)))
    v.send("2+2?", method=method)
    last = v.outs[-2]
    assert "rio-card-warn" not in last[v.page.chat.card]
    assert last[v.page.chat.retry_cot]["visible"] is offered


def test_early_close_is_said_in_the_chat_and_the_card_and_offers_retry_with_cot():
    forced = summary(6, 2, thinking_end="convergence", answer_tokens=2)
    backend = FakeBackend(done=forced)
    v = Visitor(backend)
    final = v.send("2+2?", seed=11)
    assert "closed by the switch cap" in final[-1]["content"]
    last = v.outs[-2]
    assert "rio-card-warn" in last[v.page.chat.card] and last[v.page.chat.retry_cot]["visible"] is True
    kept = v.h.retry_with_cot(v.display, v.session)
    v.respond(kept)
    settings = backend.calls[-1][1]
    assert settings.method == "cot" and settings.seed == 11
    assert [t.text for t in backend.calls[-1][0]] == ["2+2?"]  # the same question, answer dropped
    v.respond(v.h.retry(v.display, v.session))
    assert backend.calls[-1][1].method == "swir"  # only the one retry is CoT


def test_a_run_latent_from_its_start_says_why_in_the_chat_and_the_card():
    from dataclasses import replace
    from html import escape

    from rio_app.i18n import t

    v = Visitor(FakeBackend(done=replace(summary(40, 31), opening_latent_steps=31)))
    final = v.send("2+2?")
    text = t("latent_opening", "en", n=31)
    assert "first 31 steps" in text and "primeiros 31 passos" in t("latent_opening", "pt-BR", n=31)
    assert text in final[-1]["content"]
    last = v.outs[-2]
    assert escape(text) in last[v.page.chat.card] and last[v.page.chat.retry_cot]["visible"] is True


def test_greedy_retry_with_cot_is_cot_greedy():
    from rio_app.handlers import cot_of

    assert cot_of(DecodeSettings(sampling=SamplingParams(greedy=True))).method == "cot-greedy"
    assert cot_of(DecodeSettings(seed=3)).method == "cot"


def test_race_gives_each_pane_its_own_run_with_one_seed():
    backend = FakeBackend()
    page, h = make(backend)
    outs = list(h.race(None, {"text": "2+2?", "files": []}, "cot-greedy", Session(), *defaults(seed=None)))
    assert [c[1].method for c in backend.calls] == ["swir", "cot-greedy"]
    seeds = {c[1].seed for c in backend.calls}
    assert len(seeds) == 1 and None not in seeds
    a, b = page.race.panes
    a_frames = [i for i, o in enumerate(outs) if isinstance(o.get(a.chat), list)]
    b_frames = [i for i, o in enumerate(outs) if isinstance(o.get(b.chat), list)]
    assert a_frames and b_frames and a_frames[-1] < b_frames[0]  # one after the other
    assert not any(b.chat in outs[i] for i in a_frames)
    assert any("rio-card" in o.get(a.card, "") for o in outs)
    assert any("rio-card" in o.get(b.card, "") for o in outs)
    assert "same number of tokens" in outs[-2][page.race.verdict]
    assert outs[-1] == H.nothing(page.race.verdict)


def test_race_marks_a_run_whose_thinking_closed_early():
    forced = summary(6, 2, thinking_end="termination", answer_tokens=3)
    page, h = make(FakeBackend(done=forced))
    outs = list(h.race(None, {"text": "2+2?", "files": []}, "cot", Session(), *defaults()))
    assert outs[-2][page.race.verdict].count("closed early") == 2


class OutOfTokensCoT(FakeBackend):
    """SwiReasoning answers (unless `both`); CoT reaches max new tokens inside its thinking."""

    both = False

    def chat(self, turns, settings, cancel=None):
        if settings.method == "swir" and not self.both:
            yield from super().chat(turns, settings, cancel)
            return
        self.calls.append((list(turns), settings))
        yield Started(settings.method, 3, settings.max_new_tokens, 2, True, prompt_ids=(1, 2, 3))
        for i in range(8):
            yield Step(i, 100 + i, "x ", 0.5, 1.2, False, None, False, False, "thinking", ())
        yield Done(summary(8, 0, "max_new_tokens"))


def test_race_names_the_only_run_that_answered():
    page, h = make(OutOfTokensCoT())
    outs = list(h.race(None, {"text": "2+2?", "files": []}, "cot-greedy", Session(), *defaults()))
    verdict = outs[-2][page.race.verdict]
    # CoT used more tokens (8 against 6) and wrote nothing: not "fewer tokens", but who answered
    assert verdict == "Only SwiReasoning wrote an answer. · CoT: no answer (stopped inside its thinking)"
    backend = OutOfTokensCoT()
    backend.both = True
    page, h = make(backend)
    outs = list(h.race(None, {"text": "2+2?", "files": []}, "cot-greedy", Session(), *defaults()))
    assert outs[-2][page.race.verdict] == "Neither run wrote an answer."


def test_check_message_refuses_media_at_the_box_for_a_text_model(tmp_path):
    img = tmp_path / "cat.png"
    img.write_bytes(b"\x89PNG")
    h = make(FakeBackend())[1]
    box, *_ = h.check_message(None, {"text": "what?", "files": [str(img)]}, [], None)
    assert box["is_valid"] is False and "reads text only" in box["message"]
    ok, *_ = h.check_message(None, {"text": "hi", "files": []}, [], None)
    assert ok["is_valid"] is True
    empty, *_ = h.check_message(None, {"text": "  ", "files": []}, [], None)
    assert empty["is_valid"] is False
    # while a model is loading (the offer's click), the upload waits for it instead
    h.holder.loading = "tiny-moe"
    wait, *_ = h.check_message(None, {"text": "what?", "files": [str(img)]}, [], None)
    assert wait["is_valid"] is False and "tiny-moe is still loading" in wait["message"]


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


def test_settings_table_round_trips_and_refuses_bad_values():
    s = settings_from_values(
        dict(zip(NAMES, defaults(max_switch=0, seed="", method="cot-greedy"), strict=True))
    )
    assert s.swir.max_switch_count is None and s.seed is None and s.greedy
    with pytest.raises(RioError):
        settings_from_values(dict(zip(NAMES, defaults(seed="x1"), strict=True)))
    quirks = settings_from_values(dict(zip(NAMES, defaults(reference_quirks=True), strict=True)))
    assert quirks.swir.variant == "reference"
    full = DecodeSettings(method="cot", max_new_tokens=99, seed=5, thinking=False, step_by_step_suffix=True)
    assert settings_from_values(widget_values(full)) == full


def test_greedy_is_a_setting_that_reaches_the_run():
    """SwiReasoning greedy (what the model card measures) can be chosen on the page, and a page
    built with greedy settings runs greedy (before, the widgets dropped it: runs were sampled)."""
    greedy = DecodeSettings(sampling=SamplingParams(greedy=True))
    assert settings_from_values(widget_values(greedy)).greedy
    backend = FakeBackend()
    _demo, page, h = build_page(ModelHolder(backend), settings=greedy)
    values = [page.settings[n].value for n in NAMES]
    list(h.respond(None, user("2+2?"), Session(), *values))
    assert backend.calls[-1][1].method == "swir" and backend.calls[-1][1].greedy


def test_the_seed_box_starts_empty_so_runs_draw_their_seed():
    page, h = make(FakeBackend())
    assert page.settings["seed"].value == ""
    values = {n: page.settings[n].value for n in NAMES}
    assert settings_from_values(values).seed is None
    assert settings_from_values(values | {"seed": " 12 "}).seed == 12


def test_page_settings_follow_the_table():
    page, _ = make(FakeBackend())
    assert list(page.settings) == list(NAMES)


def test_markdown_export_and_files():
    backend = FakeBackend()
    v = Visitor(backend)
    final = v.send("2+2?")
    md = conversation_markdown(final)
    assert "**user:**\n\n2+2?" in md
    assert "<details><summary>Thinking" in md and "Let me see" in md
    assert "**assistant:**\n\nThe answer is 4." in md
    buttons = v.h.exports(v.session, final)
    paths = [buttons[v.page.chat.downloads[k]]["value"] for k in H.EXPORT_KINDS]
    assert all(b["visible"] for b in buttons.values())
    trace = json.loads(Path(paths[0]).read_text(encoding="utf-8"))
    assert [s["text"] for s in trace["steps"]] == [t for t, _, _ in SCRIPT]
    assert trace["steps"][0]["mix"] == [[7, " me", 0.6], [8, " us", 0.3]] and "mix" not in trace["steps"][2]
    assert Path(paths[1]).read_bytes()[:4] == b"\x89PNG"
    assert "<html" in Path(paths[2]).read_text(encoding="utf-8").lower()
    assert Path(paths[3]).read_text(encoding="utf-8") == md


def test_the_model_picker_speaks_the_visitor_language(monkeypatch):
    from engine.models import presets
    from rio_app.handlers import model_choices

    monkeypatch.setattr(presets, "memory_gb", lambda: (16.0, 0.0))  # this machine: 16 GB, no GPU

    en, pt = dict((v, k) for k, v in model_choices("en")), dict((v, k) for k, v in model_choices("pt-BR"))
    assert en.keys() == pt.keys() == PRESETS.keys()
    assert (
        "fine-tuned here to think" in en["smollm2-think"]
        and "ajustado aqui para pensar" in pt["smollm2-think"]
    )
    assert "ajuste fino incluído (offline)" in pt["smollm2-think"]
    assert "needs a GPU" in en["rio-3.5-open"] and "precisa de uma GPU" in pt["rio-3.5-open"]


def test_model_switch_keeps_the_old_model_until_the_new_one_is_ready():
    old, new = FakeBackend(), FakeBackend(modalities=("text", "image"))
    new.info = BackendInfo("tiny-moe", "fake:", frozenset({"text", "image"}), "cpu", METHODS)
    holder = ModelHolder(old)
    seen = []

    def loader(name, fallback, max_prompt_tokens=None):
        seen.append(holder.backend)  # still the old one while loading
        return new

    _demo, page, h = build_page(holder, load_backend=loader)
    outs = list(h.load_model(None, "tiny-moe", progress=lambda *a, **k: None))
    assert seen == [old] and holder.backend is new
    assert "loaded" in outs[-1][page.status]
    tiny = PRESETS["tiny-moe"]  # its recommendations replace the old model's settings
    assert outs[-1][page.settings["window"]]["value"] == tiny.swir.window != SwirParams().window
    assert outs[-1][page.settings["temperature"]]["value"] == tiny.sampling.temperature

    def failing(name, fallback, max_prompt_tokens=None):
        raise RioError("needs a GPU")

    _demo, page, h = build_page(holder, load_backend=failing)
    outs = list(h.load_model(None, "qwen3.5-27b", progress=lambda *a, **k: None))
    assert holder.backend is new and "needs a GPU" in outs[-1][page.status]


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
    outs, _, page = run_chat(FakeBackend(script=SCRIPT[:3]), user("hi"))
    final = chats(outs, page)[-1]
    think, note = final[1], final[2]
    assert "status" not in think["metadata"] and think["metadata"]["duration"] >= 0  # open, not spinning
    assert plain_text(think["content"]) == "Let me see"
    assert "stopped inside its reasoning" not in note["content"]  # it ended by EOS, not by the cap
    assert "ended inside its reasoning" in note["content"] and "rio-note" in note["content"]
    assert plain_text(note["content"]) == ""  # the note never goes back to the model
    assert len(final) == 3


def test_thinking_cut_by_max_tokens_says_so_in_the_page_language():
    class Req:
        headers = {"accept-language": "pt-BR,pt;q=0.9"}

    backend = FakeBackend(script=SCRIPT[:3], done=summary(3, 2, "max_new_tokens"))
    page, h = make(backend)
    outs = list(h.respond(Req(), user("oi"), Session(), *defaults()))
    assert "máximo de tokens novos" in chats(outs, page)[-1][-1]["content"]


def test_model_without_thinking_gets_no_thinking_block():
    answer_only = [("Blue", True, "answer"), (", red", False, "answer"), (".", False, "answer")]
    outs, _, page = run_chat(FakeBackend(script=answer_only), user("colours?"))
    for chat in chats(outs, page):
        assert not any(m.get("metadata") for m in chat)
    final = chats(outs, page)[-1]
    assert len(final) == 2 and plain_text(final[1]["content"]) == "Blue, red."
    assert '<span class="rio-latent" title=' in final[1]["content"]


def test_race_exports_hold_both_runs():
    backend = FakeBackend()
    page, h = make(backend)
    session = Session()
    outs = list(h.race(None, {"text": "2+2?", "files": []}, "cot", session, *defaults()))
    a, b = page.race.panes
    chat_a = [o[a.chat] for o in outs if a.chat in o][-1]
    chat_b = [o[b.chat] for o in outs if b.chat in o][-1]
    buttons = h.race_exports(None, session, chat_a, chat_b)
    assert len(buttons) == 4 and all(u["visible"] for u in buttons.values())
    paths = [Path(buttons[page.race.downloads[k]]["value"]) for k in H.EXPORT_KINDS]
    runs = json.loads(paths[0].read_text(encoding="utf-8"))["runs"]
    assert [r["method"] for r in runs] == ["swir", "cot"]
    assert all(len(r["steps"]) == len(SCRIPT) for r in runs)
    assert paths[1].read_bytes()[:4] == b"\x89PNG"
    html_page = paths[2].read_text(encoding="utf-8")
    assert "rio-trace-data-0" in html_page and "rio-trace-data-1" in html_page
    md = paths[3].read_text(encoding="utf-8")
    assert md.count("The answer is 4.") == 2 and "# SwiReasoning · swir" in md and "# CoT · cot" in md
    hidden = h.race_exports(None, Session(), [], [])
    assert all(u["visible"] is False for u in hidden.values())


def test_method_menu_offers_only_what_the_backend_runs():
    def offered(backend) -> set[str]:
        demo = build_page(backend)[0]
        radios = [b for b in demo.blocks.values() if isinstance(b, gr.Radio)]
        return {v for r in radios for _, v in r.choices}

    assert "swir" in offered(FakeBackend())
    remote = FakeBackend()
    remote.info = BackendInfo("served", "http://x/v1", frozenset({"text"}), "remote", ("cot", "cot-greedy"))
    assert {"cot", "cot-greedy"} <= offered(remote) and "swir" not in offered(remote)


def test_each_backend_limits_reach_the_page_and_the_checks(tmp_path):
    from engine.media import MB, MediaLimits

    backend = FakeBackend(modalities=("text", "image"))
    backend.info = BackendInfo(
        "fake",
        "fake:",
        frozenset({"text", "image"}),
        "cpu",
        METHODS,
        limits=MediaLimits(image_max_bytes=3 * MB),
    )
    assert "3 MB" in H.limits_line(backend, "en")
    assert H.limits_line(FakeBackend(), "en") == ""  # a text model: no upload limits to read


def test_race_on_a_batching_backend_streams_both_panes_side_by_side():
    backend = FakeBackend()
    backend.info = BackendInfo("fake", "fake:", frozenset({"text"}), "cpu", METHODS, max_batch_rows=2)
    page, h = make(backend)
    session = Session()
    outs = list(h.race(None, {"text": "2+2?", "files": []}, "cot", session, *defaults(seed=4)))
    assert sorted(c[1].method for c in backend.calls) == ["cot", "swir"]
    a, b = page.race.panes
    assert any("rio-card" in o.get(a.card, "") for o in outs) and any(
        "rio-card" in o.get(b.card, "") for o in outs
    )
    assert [r["method"] for r in session.race_runs] == ["swir", "cot"]  # pane order, whatever finished first
    assert "same number of tokens" in outs[-2][page.race.verdict]


def _batching_fake(**kw) -> FakeBackend:
    backend = FakeBackend(**kw)
    backend.info = BackendInfo("fake", "fake:", frozenset({"text"}), "cpu", METHODS, max_batch_rows=2)
    return backend


def test_the_race_stop_ends_both_rows_and_only_the_race():
    holder: dict = {}
    backend = _batching_fake(on_step=lambda i, cancel: i == 1 and holder["h"].stop_race(holder["session"]))
    page, h = make(backend)
    session = Session()
    holder.update(h=h, session=session)
    chat_flag = session.new_run()
    taken = h.take_race({"text": "2+2?", "files": []}, session)
    box = taken[page.race.box]
    assert box["stop_btn"] is True and box["submit_btn"] is False  # the race can be stopped
    outs = list(h.race(None, {"text": "2+2?", "files": []}, "cot", session, *defaults(seed=4)))
    assert [r["summary"]["stop_reason"] for r in session.race_runs] == ["cancelled", "cancelled"]
    assert all("you (stop)" in o[p.card] for o in outs for p in page.race.panes if p.card in o)
    assert not chat_flag.is_set()  # the chat's run goes on


def test_a_chat_stop_leaves_a_running_race_alone():
    session = Session()
    race_flag = session.new_run("race")
    session.new_run()
    make(FakeBackend())[1].stop(session)
    assert session.cancel.is_set() and not race_flag.is_set()


def test_the_race_says_how_it_runs_on_this_backend():
    page, h = make(_batching_fake())
    assert "two rows of one batch" in h.model_updates(h.holder.backend, "en")[page.race.intro]
    assert "duas linhas de um mesmo lote" in h.model_updates(h.holder.backend, "pt-BR")[page.race.intro]
    page, h = make(FakeBackend())
    assert "one after the other" in h.model_updates(h.holder.backend, "en")[page.race.intro]


def test_a_picture_on_a_text_model_offers_the_local_model_that_reads_it(tmp_path):
    from PIL import Image

    img = tmp_path / "sum.png"
    Image.new("RGB", (32, 16), "white").save(img)
    message = {"text": "What does it say?", "files": [str(img)]}
    reader = FakeBackend(modalities=("text", "image", "video"))
    reader.info = BackendInfo("tiny-moe", "fake:", frozenset({"text", "image", "video"}), "cpu", METHODS)
    holder = ModelHolder(FakeBackend())
    loaded = []

    def loader(name, fallback, max_prompt_tokens=None):
        loaded.append(name)
        return reader

    _demo, page, h = build_page(holder, load_backend=loader)
    offer = h.offer_reader(None, message)
    assert offer["visible"] is True and "tiny-moe" in offer["value"] and "images" in offer["value"]
    assert h.offer_reader(None, {"text": "no picture", "files": []})["visible"] is False
    outs = list(h.switch_to_reader(None, message, progress=lambda *a, **k: None))
    assert loaded == ["tiny-moe"] and holder.backend is reader
    assert outs[-1][page.chat.reader_offer]["visible"] is False and outs[-1][page.pick]["value"] == "tiny-moe"
    box_updates = [o[page.chat.box] for o in outs if page.chat.box in o]
    assert box_updates and all("value" not in u for u in box_updates)  # the message stays in the box
    assert h.offer_reader(None, message)["visible"] is False  # the new model reads it


def test_no_reader_offer_where_switching_is_off(tmp_path):
    from PIL import Image

    img = tmp_path / "sum.png"
    Image.new("RGB", (32, 16), "white").save(img)
    _demo, page, h = build_page(ModelHolder(FakeBackend(), allow_switch=False))
    assert h.offer_reader(None, {"text": "?", "files": [str(img)]})["visible"] is False


def test_the_header_says_what_the_projects_own_models_are_for():
    """The offline models trained or shipped here say under the model line what they can do (a
    newcomer's first answers come from them), in the page's language; other models say nothing."""
    from types import SimpleNamespace

    from rio_app.i18n import EN, PT

    own = {key.removeprefix("about_") for key in EN if key.startswith("about_")}
    assert own == {"smollm2-think", "smollm2-offline", "tiny-moe"} and own <= set(PRESETS)
    for name in own:
        info = BackendInfo(name, f"builtin:{name}", frozenset({"text"}), "cpu", METHODS)
        for lang, table in (("en", EN), ("pt-BR", PT)):
            html = H.header_html(SimpleNamespace(info=info), lang)
            assert f'<div class="rio-about">{table[f"about_{name}"]}</div>' in html
        assert PT[f"about_{name}"] != EN[f"about_{name}"]
    hub = BackendInfo("Qwen/Qwen3.5-0.8B", "Qwen/Qwen3.5-0.8B", frozenset({"text"}), "cpu", METHODS)
    assert "rio-about" not in H.header_html(SimpleNamespace(info=hub), "en")
