"""tiny-moe v2 data: the renderer split, seeded pictures, the numpy YUV round trip, the render workers."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from train import tiny_moe_data as data
from train import tiny_moe_media as media

TASKS = Path(__file__).resolve().parents[1] / "tasks" / "tiny_moe"


def test_renderer_split_shares_nothing_but_pillows_font_at_other_sizes():
    train, held = set(media.font_names("train")), set(media.font_names("heldout"))
    assert train & held == {media.DEFAULT_FONT}
    assert all(media.is_heldout_font(f) for f in held - {media.DEFAULT_FONT})
    sizes = {s: {n for lo, hi in r for n in range(lo, hi + 1)} for s, r in media.DEFAULT_SIZES.items()}
    assert not sizes["train"] & sizes["heldout"]
    assert not set(media.EXPR_LAYOUTS["train"]) & set(media.EXPR_LAYOUTS["heldout"])
    assert not set(media.SHAPE_LAYOUTS["train"]) & set(media.SHAPE_LAYOUTS["heldout"])


def test_every_font_drawn_writes_digits_and_signs():
    """A face without digits (DejaVu's Display faces, Libertine's initials) would draw missing-glyph
    boxes under a label that reads them as numbers."""
    for split in ("train", "heldout"):
        for name in media.font_names(split)[1:]:
            assert all(media.has_glyph(name, ch) for ch in "0123456789+-"), name
            assert not any(t in name for t in media.TOO_THIN)
    assert not any(n.startswith("texgyretermes") for n in media.font_files())  # a Times clone


def test_packed_fonts_draw_the_same_pictures(tmp_path):
    """The GPU run's small font folder (train/pack_fonts.py) draws what the installed files draw."""
    from train import pack_fonts

    files = media.font_files()
    # STIX General (matplotlib's copy) is drawn differently when a pack drops the letters that
    # FreeType's auto-hinter measures it by
    train = media.font_names("train")[1:]
    names = [n for n in train if n.startswith("STIXGeneral")] + [
        n for n in train if n.startswith("DejaVuSans-")
    ][:2]
    names += [n for n in media.font_names("heldout")[1:]][:2]
    full, packed = tmp_path / "full", tmp_path / "packed"
    full.mkdir()
    packed.mkdir()
    for name in names:
        (full / name).write_bytes(files[name].read_bytes())
        pack_fonts.pack_font(files[name], packed / name)
    assert sum(p.stat().st_size for p in packed.iterdir()) < sum(p.stat().st_size for p in full.iterdir()) / 4

    def pictures(folder):
        media.set_fonts_dir(folder)
        rng, out = random.Random(8), []
        for split in ("train", "heldout"):
            out += [
                np.asarray(media.expression_image(rng.randint(1, 999), "×", 7, rng, split)[0])
                for _ in range(20)
            ]
        return media.font_names("train"), out

    try:
        (names_a, a), (names_b, b) = pictures(full), pictures(packed)
    finally:
        media.set_fonts_dir(None)
    assert names_a == names_b and len(names_a) > 2
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_packing_fonts_from_a_folder_without_fonts_is_refused_in_one_line(tmp_path, capsys):
    from train import pack_fonts

    try:
        for where in (tmp_path / "missing", tmp_path):
            with pytest.raises(SystemExit) as exit_:
                pack_fonts.main(["--out", str(tmp_path / "out"), "--fonts-dir", str(where)])
            assert exit_.value.code == 2
    finally:
        media.set_fonts_dir(None)
    err = capsys.readouterr().err
    assert "is not a folder" in err and "no font to pack in" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["image", "shapes"])
@pytest.mark.parametrize("split", ["train", "heldout"])
def test_pictures_are_seeded(kind, split):
    a = [data.make_example(kind, "en", random.Random(11), split=split) for _ in range(2)]
    assert a[0].id == a[1].id
    assert np.array_equal(np.asarray(a[0].images[0]), np.asarray(a[1].images[0]))


def test_shape_rows_count_every_square_once():
    rng = random.Random(4)
    for split in ("train", "heldout"):
        for _ in range(60):
            n, others = rng.randint(1, 9), rng.randint(0, 6)
            scene = media.shapes_scene(n, others, rng, split)
            assert sum(scene.rows()) == n and len(scene.shapes) == n + others
            for sh in scene.shapes:
                assert sh.x >= 0 and sh.x + sh.s <= scene.w and sh.y >= 0 and sh.y + sh.s <= scene.h


def test_expression_characters_read_back_the_expression():
    rng = random.Random(8)
    for _ in range(40):
        a, op, b = data._image_params(rng)
        _, chars = media.expression_image(a, op, b, rng)
        assert "".join(c for c, _ in chars) == f"{a}{op}{b}"
        xs = [x for _, x in chars]
        assert xs == sorted(xs)


def test_lines_beside_expressions_are_training_only_and_never_close_a_frame(monkeypatch):
    sides = [media._rule_sides(random.Random(i)) for i in range(200)]
    assert all(1 <= len(s) <= 3 and len(set(s)) == len(s) for s in sides)
    assert {len(s) for s in sides} == {1, 2, 3}

    def draw(split: str, p: float) -> np.ndarray:
        monkeypatch.setattr(media, "RULES_P", p)
        rng = random.Random(21)
        return np.stack([np.asarray(media.expression_image(12, "+", 34, rng, split)[0].resize((64, 32)))
                         for _ in range(6)])  # fmt: skip

    assert np.array_equal(draw("heldout", 0.0), draw("heldout", 1.0))  # held-out pictures stay as they were
    assert not np.array_equal(draw("train", 0.0), draw("train", 1.0))


def test_numpy_yuv420_round_trip_is_close_to_pyavs():
    av = pytest.importorskip("av")
    frames = media.number_frames((3, 7), random.Random(2), media.SAMPLED_OFFSETS)
    ref = np.stack([av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")
                    .to_ndarray(format="rgb24") for f in frames])  # fmt: skip
    ours = media.yuv420_roundtrip(frames)
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(int) - ref.astype(int)).mean() < 3


def test_unseen_renderer_task_files_load_for_the_eval_harness():
    from engine.eval import load_tasks

    for name, kind in (("image_unseen", "image"), ("shapes_unseen", "shapes")):
        tasks = load_tasks(TASKS / f"{name}.jsonl")
        assert len(tasks) >= 100 and {t.kind for t in tasks} == {kind}
        assert len({t.id for t in tasks}) == len(tasks)
        assert all(Path(p).is_file() for t in tasks for p in t.images)


def test_a_fresh_question_after_earlier_turns_keeps_its_own_answer():
    rng = random.Random(3)
    exs = [data.make_example("after", data.LANGS[i % 2], rng) for i in range(40)]
    for ex in exs:
        fresh = ex.id.removeprefix("after-").split("-")[0]
        assert fresh in ("text", "image", "shapes", "video") and ex.kind == "after"
        assert [h["role"] for h in ex.history] == ["user", "assistant"] * (len(ex.history) // 2)
        assert ex.history[-1]["text"].count("\\boxed{") == 1
        assert ex.question not in data.QUESTIONS["double"]  # never the follow-up
        assert f"\\boxed{{{ex.answer}}}" in ex.answer_text
        assert bool(ex.images) == (fresh in ("image", "shapes"))
        assert (ex.frames is not None) == (fresh == "video")
    assert {len(ex.history) for ex in exs} == {2, 4}  # a plain earlier turn, or a doubling exchange
    assert any(h.get("images") for ex in exs for h in ex.history)  # some earlier turns hold a picture

    long = [data.make_example("after_long", data.LANGS[i % 2], rng) for i in range(40)]
    assert all(ex.id.startswith("afterlong-") and ex.kind == "after" for ex in long)
    assert max(len(ex.history) for ex in long) >= 6  # up to three exchanges, small talk among them
    talk = {u for pairs in data.SMALL_TALK.values() for u, _ in pairs}
    assert any(h["text"] in talk for ex in long for h in ex.history)
    assert all(ex.question not in data.QUESTIONS["double"] for ex in long)


def test_after_task_files_hold_fresh_questions_after_text_turns():
    from engine.eval import load_tasks

    for name in ("after", "after_long"):
        tasks = load_tasks(TASKS / f"{name}.jsonl")
        assert len(tasks) >= 60 and {t.kind for t in tasks} == {"after"}
        assert len({t.id for t in tasks}) == len(tasks)
        assert all(t.history and all(not h.images for h in t.history) for t in tasks)
        assert all(Path(p).is_file() for t in tasks for p in (*t.images, *t.videos))
        kinds = {t.id.split("-")[1] for t in tasks}
        assert kinds == {"text", "image", "shapes", "video"}
    assert max(len(t.history) for t in load_tasks(TASKS / "after_long.jsonl")) >= 8


def test_a_question_after_another_models_turns_comes_from_held_out_problems_and_prompts():
    from train import arith_data, chat_prompts

    rng = random.Random(5)
    exs = [data.make_example("after_other", data.LANGS[i % 2], rng, heldout=True) for i in range(40)]
    held_prompts = {p for _, p in chat_prompts.split_prompts(data.CHAT_SPLIT_SEED)[1]}
    problems = {p.question: p for lang in data.LANGS for p in data._foreign_problems(lang, True)}
    asked = [h["text"] for ex in exs for h in ex.history if h["role"] == "user"]
    assert {len(ex.history) for ex in exs} == {2, 4} and all(ex.kind == "after" for ex in exs)
    assert all(q in held_prompts or q in problems for q in asked)
    assert any(q in held_prompts for q in asked) and any(q in problems for q in asked)
    assert all(arith_data.is_heldout(problems[q].kind, problems[q].params) for q in asked if q in problems)
    assert all(ex.question not in data.QUESTIONS["double"] for ex in exs)
    train = [data.make_example("after_other", data.LANGS[i % 2], rng, render=False) for i in range(40)]
    assert not {h["text"] for ex in train for h in ex.history} & {*held_prompts, *problems}
    answers = [h["text"] for ex in exs for h in ex.history[1::2]]
    assert any("\\boxed{" in a for a in answers)
    assert any(a.endswith(".") and "\\boxed" not in a for a in answers)  # some shown without it

    tasks = (TASKS / "after_other.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(tasks) == data.AFTER_OTHER_COUNT and all('"history"' in t for t in tasks)


def test_render_workers_give_the_batches_of_the_loop():
    import multiprocessing

    from engine.models import tiny_moe
    from train import tiny_moe_train as tt

    cfg = tt.TrainConfig(vision_batch=6)
    processor = tiny_moe.make_processor(tiny_moe.make_tokenizer(), cfg.image_tokens)
    tt._WORKER.update(cfg=cfg, processor=processor)
    inline = tt.Ahead(None, tt._vision_job, 3, 2)
    with multiprocessing.get_context("fork").Pool(2, initializer=tt._worker_init) as pool:
        forked = tt.Ahead(pool, tt._vision_job, 3, 2)
        for _ in range(2):
            (i, a), (j, b) = inline.get(), forked.get()
            assert i == j and a.keys() == b.keys()
            assert np.array_equal(a["pixel_values"], b["pixel_values"])


@pytest.mark.parametrize("value", ["30,20", "0,8", "16"])
def test_a_bad_training_picture_budget_is_refused_in_one_line(value, capsys):
    from train import tiny_moe_train as tt

    with pytest.raises(SystemExit) as exit_:
        tt.main(["--image-tokens", value, "--out", "/nonexistent/never-written"])
    assert exit_.value.code == 2
    assert "--image-tokens needs LO,HI" in capsys.readouterr().err


def _questions(kind: str, seed: int, n: int = 200) -> list[str]:
    rng = random.Random(seed)
    return [data.make_example(kind, data.LANGS[i % 2], rng, heldout=False, render=False).question
            for i in range(n)]  # fmt: skip


def test_questions_in_a_visitors_words_are_drawn_only_when_training_asks(monkeypatch):
    everyday = {q for pair in data.EVERYDAY_QUESTIONS.values() for side in pair for q in side}
    before = _questions("image", 5) + _questions("shapes", 6)
    assert not everyday & set(before)  # off by default: the held-out files draw as they always did
    monkeypatch.setattr(data, "P_EVERYDAY", 0.5)
    drawn = _questions("image", 5) + _questions("shapes", 6)
    share = sum(q in everyday for q in drawn) / len(drawn)
    assert 0.35 < share < 0.65
    # questions that do not name the task reach both picture kinds, so the picture has to decide
    assert {"What's the answer?", "Qual é a resposta?"} <= set(drawn)


def test_wording_task_file_asks_held_out_pictures_in_words_training_never_uses():
    from engine.eval import load_tasks

    taught = {q for table in (data.QUESTIONS,) for pair in table.values() for q in pair}
    taught |= {q for table in (data.PARAPHRASES, data.EVERYDAY_QUESTIONS) for pair in table.values()
               for side in pair for q in side}  # fmt: skip
    heldout = {q for pair in data.HELDOUT_QUESTIONS.values() for side in pair for q in side}
    assert not taught & heldout
    tasks = load_tasks(TASKS / "wording.jsonl")
    assert len(tasks) == 60 and {t.kind for t in tasks} == {"image", "shapes"}
    assert {t.question for t in tasks} <= heldout and all(Path(p).is_file() for t in tasks for p in t.images)
    by_id = {t.id: t for t in load_tasks(TASKS / "image.jsonl") + load_tasks(TASKS / "shapes.jsonl")}
    assert all(by_id[t.id.removesuffix("-w")].answer == t.answer for t in tasks)


def test_the_training_flag_sets_the_share_of_everyday_questions(monkeypatch, capsys):
    from train import tiny_moe_train as tt

    seen = []
    monkeypatch.setattr(tt, "train", lambda cfg, out, *a, **k: seen.append(cfg) or out)
    assert tt.main(["--everyday-questions", "0.3", "--out", "/nonexistent/never-written"]) == 0
    assert seen[0].everyday_questions == 0.3 and tt.TrainConfig().everyday_questions == 0.0
    with pytest.raises(SystemExit) as exit_:
        tt.main(["--everyday-questions", "1.5", "--out", "/nonexistent/never-written"])
    assert exit_.value.code == 2
    assert "--everyday-questions needs a share between 0 and 1" in capsys.readouterr().err
