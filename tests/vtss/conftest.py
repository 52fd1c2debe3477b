"""The synthetic released checkpoint described in ../shared/docs/released_vtss_reference.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from koala.vtss.swin3d import relative_position_index

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "docs" / "released_vtss_reference.json"


def reference() -> dict:
    if not REFERENCE.is_file():
        pytest.skip(f"{REFERENCE}: the reference file of the released checkpoint is not here")
    return json.loads(REFERENCE.read_text())


def rule_state_dict(names: list[tuple[str, list[int]]]) -> dict[str, torch.Tensor]:
    """Weights by the reference's rule: randn(seed=i) * 0.02 (+1 for 1-D norm weights); index buffers computed."""
    state = {}
    for i, (name, shape) in enumerate(names):
        if name.endswith("relative_position_index"):
            state[name] = relative_position_index((8, 7, 7))
            assert list(state[name].shape) == shape
            continue
        t = torch.randn(shape, generator=torch.Generator().manual_seed(i)) * 0.02
        if len(shape) == 1 and "norm" in name and name.endswith(".weight"):
            t = t + 1.0
        state[name] = t.float()
    return state


@pytest.fixture(scope="session")
def released_reference() -> dict:
    return reference()


@pytest.fixture(scope="session")
def rule_checkpoint(tmp_path_factory, released_reference) -> Path:
    """infer.pth rebuilt by the rule, saved like the original (a dict with 'state_dict')."""
    path = tmp_path_factory.mktemp("ckpt") / "infer.pth"
    torch.save({"state_dict": rule_state_dict(released_reference["state_dict"])}, path)
    return path
