"""`train.average_weights`: the weighted mean of every tensor, the other files copied from the
last folder, and a clear refusal when the checkpoints are not of one model."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from train.average_weights import average, main, write


def _folder(path, tensors, note="x"):
    path.mkdir()
    save_file(tensors, path / "model.safetensors")
    (path / "config.json").write_text(note)
    return path


@pytest.fixture
def three(tmp_path):
    return [
        _folder(
            tmp_path / f"v{i}", {"w": torch.full((2, 3), float(i)), "steps": torch.tensor([7])}, f"config {i}"
        )
        for i in (1, 2, 6)
    ]


def test_equal_weights_give_the_mean_and_copy_the_last_folders_files(three, tmp_path):
    out = tmp_path / "soup"
    write(three, out)
    state = load_file(out / "model.safetensors")
    assert torch.equal(state["w"], torch.full((2, 3), 3.0))
    assert state["w"].dtype == torch.float32
    assert torch.equal(state["steps"], torch.tensor([7]))  # not floating point: kept
    assert (out / "config.json").read_text() == "config 6"


def test_weights_are_normalised_and_the_dtype_is_kept(tmp_path):
    a = _folder(tmp_path / "a", {"w": torch.tensor([1.0, 2.0], dtype=torch.float16)})
    b = _folder(tmp_path / "b", {"w": torch.tensor([3.0, 6.0], dtype=torch.float16)})
    mixed = average([a, b], [1, 3])["model.safetensors"]["w"]
    assert mixed.dtype == torch.float16
    assert mixed.tolist() == [2.5, 5.0]


def test_checkpoints_of_different_models_are_refused(tmp_path):
    a = _folder(tmp_path / "a", {"w": torch.zeros(2)})
    b = _folder(tmp_path / "b", {"w": torch.zeros(3)})
    c = _folder(tmp_path / "c", {"v": torch.zeros(2)})
    d = _folder(tmp_path / "d", {"w": torch.zeros(2), "n": torch.tensor([1])})
    e = _folder(tmp_path / "e", {"w": torch.zeros(2), "n": torch.tensor([2])})
    with pytest.raises(ValueError, match="shape"):
        average([a, b])
    with pytest.raises(ValueError, match="other tensors"):
        average([a, c])
    with pytest.raises(ValueError, match="differs"):
        average([d, e])
    f = _folder(tmp_path / "f", {"w": torch.zeros(2)})
    save_file({"x": torch.zeros(1)}, f / "extra.safetensors")
    with pytest.raises(ValueError, match="other .safetensors files"):
        average([a, f])
    with pytest.raises(ValueError, match="two folders"):
        average([a])
    with pytest.raises(ValueError, match="one non-negative weight"):
        average([a, a], [1.0])


def test_command_line(three, tmp_path):
    out = tmp_path / "soup"
    assert main([*map(str, three[:2]), "--out", str(out), "--weights", "3,1"]) == 0
    assert torch.allclose(load_file(out / "model.safetensors")["w"], torch.full((2, 3), 1.25))


def test_averaging_into_the_last_folder_keeps_its_other_files(three):
    write(three, three[-1])
    assert torch.equal(load_file(three[-1] / "model.safetensors")["w"], torch.full((2, 3), 3.0))
    assert (three[-1] / "config.json").read_text() == "config 6"


def test_only_averages_the_named_part_and_keeps_the_rest_of_the_last_folder(tmp_path):
    a = _folder(
        tmp_path / "a", {"model.visual.w": torch.tensor([0.0, 2.0]), "model.lm.w": torch.tensor([1.0])}
    )
    b = _folder(
        tmp_path / "b", {"model.visual.w": torch.tensor([4.0, 6.0]), "model.lm.w": torch.tensor([9.0])}
    )
    out = tmp_path / "graft"
    assert main([str(a), str(b), "--out", str(out), "--only", "model.visual."]) == 0
    state = load_file(out / "model.safetensors")
    assert state["model.visual.w"].tolist() == [2.0, 4.0]
    assert state["model.lm.w"].tolist() == [9.0]  # the last folder's, not the mean 5.0
    with pytest.raises(ValueError, match="no tensor name starts with 'vision.'"):
        average([a, b], only="vision.")


def test_the_command_line_refuses_in_one_line(tmp_path, capsys):
    a = _folder(tmp_path / "a", {"w": torch.zeros(2)})
    b = _folder(tmp_path / "b", {"w": torch.zeros(3)})
    with pytest.raises(SystemExit):
        main([str(a), str(b), "--out", str(tmp_path / "x")])
    assert "w has another shape" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(a), str(a), "--out", str(tmp_path / "x"), "--only", "vision."])
    assert "no tensor name starts with 'vision.'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # refused before anything is written
