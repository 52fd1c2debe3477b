"""The released VTSS checkpoint: names, strict loading, and exact equivalence with the original."""

from __future__ import annotations

import pytest
import torch

from koala.vtss import CheckpointError, load_released
from koala.vtss.released import ReleasedVTSS


def test_state_dict_matches_the_release_name_for_name_in_order(released_reference):
    """Same names, same order (the weight rule enumerates them), same shapes; 29,971,869 values."""
    state = ReleasedVTSS().state_dict()
    own = [(k, list(v.shape)) for k, v in state.items()]
    assert own == [(n, s) for n, s in released_reference["state_dict"]]
    assert sum(v.numel() for v in state.values()) == released_reference["parameter_count_including_buffers"]


def test_rebuilt_checkpoint_reproduces_the_original_output(rule_checkpoint, released_reference):
    """Acceptance test (issue 6): the reference output was computed by the original implementation
    (FAST-VQA DiViDeAddEvaluator, swin_tiny_grpb) from the same rule-built weights and input."""
    model = load_released(rule_checkpoint)
    assert not model.training
    x = torch.randn((1, 3, 32, 224, 224), generator=torch.Generator().manual_seed(2024))
    with torch.no_grad():
        out = model(x)
    assert list(out.shape) == released_reference["output_shape"]
    expected = torch.tensor(released_reference["output"], dtype=torch.float32).view(out.shape)
    assert torch.allclose(out, expected, atol=1e-4, rtol=0), float((out - expected).abs().max())
    assert abs(float(out.mean()) - released_reference["output_mean"]) < 1e-6


def test_a_renamed_key_is_a_clear_error(tmp_path, rule_checkpoint):
    state = torch.load(rule_checkpoint, weights_only=True)["state_dict"]
    state["vqa_head.fc_middle.weight"] = state.pop("vqa_head.fc_hid.weight")
    bad = tmp_path / "renamed.pth"
    torch.save({"state_dict": state}, bad)
    with pytest.raises(CheckpointError) as err:
        load_released(bad)
    msg = str(err.value)
    assert str(bad) in msg and "not the released VTSS checkpoint" in msg
    assert "vqa_head.fc_hid.weight" in msg and "vqa_head.fc_middle.weight" in msg


def test_a_wrong_shape_is_a_clear_error(tmp_path, rule_checkpoint):
    state = torch.load(rule_checkpoint, weights_only=True)["state_dict"]
    state["vqa_head.fc_last.bias"] = torch.zeros(2)
    bad = tmp_path / "shape.pth"
    torch.save({"state_dict": state}, bad)
    with pytest.raises(CheckpointError, match=r"vqa_head\.fc_last\.bias \(2,\) \(model: \(1,\)\)"):
        load_released(bad)


@pytest.mark.parametrize("content", [None, b"", b"not a checkpoint at all"])
def test_missing_or_unreadable_checkpoint_names_the_file(tmp_path, content):
    path = tmp_path / "infer.pth"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match="infer.pth"):
        load_released(path)


def test_a_checkpoint_without_tensors_is_refused(tmp_path):
    path = tmp_path / "infer.pth"
    torch.save({"state_dict": {"a": 1}}, path)
    with pytest.raises(CheckpointError, match="no state dict of tensors"):
        load_released(path)
