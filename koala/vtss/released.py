"""The released Koala-36M VTSS scorer: FAST-VQA's fragments branch and VQA head, loaded strictly.

Koala-36M released only a "base version" of its Training Suitability Assessment network
(huggingface.co/Koala-36M/Training_Suitability_Assessment, ``infer.pth``; docs/koala36m-paper.md §2.5): the
original's ``DiViDeAddEvaluator`` with one ``fragments`` branch (the gated-bias video Swin-T of
:mod:`koala.vtss.swin3d`) and a ``VQAHead`` (768 -> 64 -> 1 by 1x1x1 convolutions, GELU between).
The head scores every feature-map position; nothing is pooled inside the model, so a 32x224x224
fragment clip gives a (1, 16, 7, 7) score map, and the scorer averages it afterwards.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import torch
from torch import nn

from koala.vtss.swin3d import SwinSpec, SwinTransformer3D

log = logging.getLogger(__name__)

__all__ = ["CheckpointError", "ReleasedVTSS", "VQAHead", "load_released", "read_state_dict"]


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or not the model it is loaded into."""


class VQAHead(nn.Module):
    """Per-position quality score: dropout, 1x1x1 conv to 64, GELU, dropout, 1x1x1 conv to 1."""

    def __init__(self, in_channels: int = 768, hidden_channels: int = 64, dropout: float = 0.5):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc_hid = nn.Conv3d(in_channels, hidden_channels, 1)
        self.gelu = nn.GELU()
        self.fc_last = nn.Conv3d(hidden_channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, D, H, W) features -> (B, 1, D, H, W) scores."""
        return self.fc_last(self.dropout(self.gelu(self.fc_hid(self.dropout(x)))))


class ReleasedVTSS(nn.Module):
    """State-dict compatible with the released ``DiViDeAddEvaluator`` (fragments branch only).

    Calling it on normalised fragments (B, 3, 32, 224, 224) returns the raw score map
    (B, 1, 16, 7, 7), as the original does with ``reduce_scores=True``.
    """

    def __init__(self, spec: SwinSpec = SwinSpec(), hidden_channels: int = 64):
        super().__init__()
        self.fragments_backbone = SwinTransformer3D(spec)
        self.vqa_head = VQAHead(spec.num_features, hidden_channels)

    def forward(self, fragments: torch.Tensor) -> torch.Tensor:
        return self.vqa_head(self.fragments_backbone(fragments))


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file: its ``state_dict`` entry (the original's layout) or the file itself.

    Raises:
        CheckpointError: no such file, not a torch checkpoint, or no state dict in it.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file (the released one is infer.pth from "
                              "huggingface.co/Koala-36M/Training_Suitability_Assessment)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # Training checkpoints may pickle more than tensors (optimiser state, numpy scalars).
        log.warning("%s: holds more than tensors; loading it with full unpickling (only do this for files you trust)", path)
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # any unpickling failure means the same thing to the user
            raise CheckpointError(f"{path}: not a readable torch checkpoint ({exc})") from None
    except Exception as exc:  # zip/pickle errors of a corrupt or foreign file
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: no state dict of tensors in it (expected a dict with a 'state_dict' key, as infer.pth has)")
    return state


def load_state_strict(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``model`` requiring the same names and shapes, with a readable error."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} {tuple(state[k].shape)} (model: {tuple(own[k].shape)})" for k in own
             if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        def few(names: list[str]) -> str:
            return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

        parts = [f"{len(missing)} missing ({few(missing)})" if missing else "",
                 f"{len(unexpected)} unexpected ({few(unexpected)})" if unexpected else "",
                 f"{len(wrong)} of another shape ({few(wrong)})" if wrong else ""]
        raise CheckpointError(f"{source}: not the released VTSS checkpoint: " + "; ".join(p for p in parts if p))
    model.load_state_dict(state, strict=True)


def load_released(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> ReleasedVTSS:
    """The released VTSS base model from ``infer.pth``, loaded strictly, in eval mode.

    Args:
        path: the checkpoint (a dict whose ``state_dict`` holds the original's parameter names).
        device: where the model lives.

    Returns:
        A :class:`ReleasedVTSS`; call it under ``torch.no_grad()`` on normalised fragments
        (B, 3, 32, 224, 224) for the raw score map (B, 1, 16, 7, 7).

    Raises:
        CheckpointError: missing or unreadable file, or names/shapes that differ from the release.
    """
    state = read_state_dict(path)  # first: a missing or foreign file fails before the 30M-parameter model is built
    model = ReleasedVTSS()
    load_state_strict(model, state, str(path))
    return model.to(device).eval()
