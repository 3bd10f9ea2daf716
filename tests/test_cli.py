"""`python -m engine`: bad arguments end with one line and status 2; a run writes a full trace."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.cli import main


@pytest.mark.parametrize(
    "argv, message",
    [
        (["   "], "empty"),
        (["hi", "--model", "no-such-preset"], "Unknown model"),
        (["hi", "--max-new-tokens", "0"], "max-new-tokens"),
        (["hi", "--temperature", "0"], "Temperature"),
        (["hi", "--window", "0"], "window"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.model
def test_rejected_media_file_exits_2(tmp_path, capsys, tiny_moe_runtime):
    fake = tmp_path / "clip.mp4"
    fake.write_text("this is not a video")
    assert main(["what is this?", "--model", "tiny-moe", "--video", str(fake)]) == 2
    err = capsys.readouterr().err
    assert "clip.mp4" in err and "Traceback" not in err


@pytest.mark.model
def test_run_writes_the_whole_trace(tmp_path, capsys):
    from engine.models.tiny_moe import ensure_random_tiny_moe

    out, model = tmp_path / "run.json", str(ensure_random_tiny_moe())  # switches within a few tokens
    argv = ["hello there", "--model", model, "--max-new-tokens", "12", "--seed", "5", "--window", "3"]
    assert main([*argv, "--trace", str(out)]) == 0
    trace = json.loads(out.read_text())
    assert trace["method"] == "swir" and trace["model"]["preset"] == model
    assert trace["settings"]["seed"] == 5 and trace["settings"]["window"] == 3
    assert trace["prompt_token_ids"] and all(isinstance(i, int) for i in trace["prompt_token_ids"])
    steps = trace["steps"]
    assert len(steps) == trace["summary"]["tokens"] > 0
    keys = {"t", "token_id", "text", "entropy", "ref_entropy", "mode", "switch", "forced", "injected"}
    keys |= {"phase", "computed"}
    assert all(set(s) == keys | ({"mix"} if s["mode"] == "latent" else set()) for s in steps)
    latent = [s for s in steps if s["mode"] == "latent"]
    assert latent and all(len(s["mix"]) == 5 and s["mix"][0][2] >= s["mix"][1][2] for s in latent)
    assert [s["t"] for s in steps] == list(range(len(steps)))
    assert {s["mode"] for s in steps} <= {"latent", "explicit"}
    assert "tokens" in capsys.readouterr().err


@pytest.mark.model
def test_the_calculator_flag_reaches_the_run_and_its_digits_are_counted(tmp_path, capsys):
    out = tmp_path / "run.json"
    argv = ["Ana has 38 apples and buys 27 more. How many apples now?", "--model", "smollm2-think",
            "--greedy", "--max-new-tokens", "96", "--trace", str(out)]  # fmt: skip
    assert main([*argv, "--calculator"]) == 0
    trace = json.loads(out.read_text())
    computed = [s for s in trace["steps"] if s["computed"]]
    assert computed and trace["summary"]["computed_tokens"] == len(computed)
    assert f"calculator tokens {len(computed)}" in capsys.readouterr().err
    assert main([*argv, "--no-calculator"]) == 0  # the preset's default is on; the flag turns it off
    assert not any(s["computed"] for s in json.loads(out.read_text())["steps"])


def test_the_switch_cap_is_the_presets_unless_given():
    from engine.cli import parser, settings_from
    from engine.config import DecodeSettings, SwirParams

    preset = DecodeSettings(swir=SwirParams(window=16, max_switch_count=4))
    given = lambda *argv: settings_from(parser().parse_args(["q", *argv]), preset)  # noqa: E731
    assert given().swir.max_switch_count == 4
    assert given("--max-switch-count", "2").swir.max_switch_count == 2
    assert given("--max-switch-count", "none").swir.max_switch_count is None
    assert settings_from(parser().parse_args(["q"]), DecodeSettings()).swir.max_switch_count == 2


def test_module_entry_point_prints_help():
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "--max-switch-count" in proc.stdout
