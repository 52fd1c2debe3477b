"""The vision-language caption backend: any Hugging Face image-text-to-text model, local weights only.

Each clip contributes ``frames`` uniformly spaced frames; each of the six field prompts is asked
about those frames separately (paper §4.2: every part is generated on its own), and requests from
several clips share ``generate()`` batches. Weights load with ``local_files_only`` so a run never
downloads; a model that is not on disk is a clear error naming the setting to change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from koala.config import VLMCaptionConfig
from koala.io.errors import VideoError
from koala.io.clip_reader import ClipRequest, read_clips
from koala.io.video import cached_probe

log = logging.getLogger(__name__)

BACKEND = "vlm"


class VLMUnavailable(RuntimeError):
    """The configured model's weights are not available locally, or no model is configured."""


def frame_indices(start: int, end: int, count: int) -> np.ndarray:
    """``count`` frame numbers spread uniformly over ``start:end`` (the centre of each equal part)."""
    n = end - start
    if n <= 0:
        raise ValueError(f"empty frame range {start}:{end}")
    count = max(1, min(count, n))
    return start + np.floor((np.arange(count) + 0.5) * n / count).astype(int)


def sample_frames(path: str, start: int, end: int | None, count: int, short_side: int) -> list[np.ndarray]:
    """Uniformly sampled RGB frames (each (H, W, 3) uint8) of a clip, decoded at ``short_side``.

    Raises:
        VideoError: unreadable video or an empty range.
    """
    got = sample_clips([{"clip_id": "clip", "path": path, "start": start, "end": end}], count, short_side)["clip"]
    if isinstance(got, VideoError):
        raise got
    return got


def sample_clips(clips: list[dict], count: int, short_side: int) -> dict[str, list[np.ndarray] | VideoError]:
    """:func:`sample_frames` for many clips, one decode pass per video (:func:`koala.io.clip_reader.read_clips`).

    Args:
        clips: dicts with ``clip_id``, ``path``, ``start``, ``end`` (``None``: the video's end).

    Returns:
        clip_id -> its frames (those decoded of the ``count`` wanted), or the VideoError that kept
        the clip from being read (an unreadable video fails each of its clips).
    """
    out: dict[str, list[np.ndarray] | VideoError] = {}
    by_path: dict[str, list[dict]] = {}
    for c in clips:
        by_path.setdefault(str(c["path"]), []).append(c)
    for path, group in by_path.items():
        try:
            info = cached_probe(path)
        except VideoError as exc:
            out.update({c["clip_id"]: exc for c in group})
            continue
        scale = short_side / min(info.height, info.width)
        height = max(2, int(round(info.height * min(scale, 1.0) / 2)) * 2)
        requests = []
        for c in group:
            start = int(c["start"])
            end = info.num_frames if c["end"] is None else min(int(c["end"]), info.num_frames)
            if end - start < 1:
                out[c["clip_id"]] = VideoError(path, f"clip frames {start}-{end} are empty; nothing to caption")
                continue
            requests.append(ClipRequest(c["clip_id"], frame_indices(start, end, count), height=height))
        try:
            for got in read_clips(path, requests, info=info):
                out[got.key] = list(got.frames)
        except VideoError as exc:  # decoding failed part way: the clips not handed over yet fail with it
            for r in requests:
                out.setdefault(r.key, exc)
    return out


def resolve_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


def resolve_dtype(setting: str, device: str):
    """bf16 on a CUDA device that supports it, else float32, unless a dtype is named."""
    import torch

    if setting == "auto":
        return torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[setting]


@dataclass
class VLMCaptioner:
    """Loads the model once (lazily) and answers batches of (frames, prompt) requests."""

    cfg: VLMCaptionConfig
    generate_calls: int = 0  # for tests and logs: how many generate() batches ran
    _model: object = field(default=None, repr=False)
    _processor: object = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.cfg.model

    def load(self) -> None:
        if self._model is not None:
            return
        if not self.cfg.model:
            raise VLMUnavailable("no caption model configured: set caption.vlm.model to a local model folder or a model id in the local HF cache, or use --backend measured")
        from transformers import AutoModelForImageTextToText, AutoProcessor

        device = resolve_device(self.cfg.device)
        dtype = resolve_dtype(self.cfg.dtype, device)
        try:
            processor = AutoProcessor.from_pretrained(self.cfg.model, local_files_only=True)
            model = AutoModelForImageTextToText.from_pretrained(self.cfg.model, local_files_only=True, dtype=dtype)
        except (OSError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise VLMUnavailable(
                f"caption model {self.cfg.model!r} is not available locally ({first}); koala never downloads at run time: "
                "put the weights in a folder and set caption.vlm.model to it, or pre-fill the HF cache"
            ) from None
        tok = getattr(processor, "tokenizer", None)
        if tok is not None:
            tok.padding_side = "left"  # decoder-only generation continues from the right edge
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
        self._model, self._processor = model.to(device).eval(), processor
        log.info("caption model %s on %s (%s)", self.cfg.model, device, dtype)

    def prompt_text(self, prompt: str, n_images: int) -> str:
        """The model's chat format with ``n_images`` image slots, or image tokens + prompt without one."""
        proc = self._processor
        if getattr(proc, "chat_template", None):
            content = [{"type": "image"} for _ in range(n_images)] + [{"type": "text", "text": prompt}]
            return proc.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)
        token = getattr(proc, "image_token", None) or "<image>"
        return token * n_images + "\n" + prompt

    def generate(self, requests: list[tuple[list[np.ndarray], str]]) -> list[str]:
        """Answers to (frames, prompt) requests, ``batch_size`` per ``generate()`` call, in order."""
        import torch
        from PIL import Image

        self.load()
        out: list[str] = []
        bs = max(1, self.cfg.batch_size)
        for i in range(0, len(requests), bs):
            chunk = requests[i : i + bs]
            texts = [self.prompt_text(p, len(frames)) for frames, p in chunk]
            images = [[Image.fromarray(f) for f in frames] for frames, _ in chunk]  # one list of frames per request
            inputs = self._processor(text=texts, images=images, padding=True, return_tensors="pt")
            inputs = inputs.to(self._model.device)
            if "pixel_values" in inputs:
                inputs["pixel_values"] = inputs["pixel_values"].to(self._model.dtype)
            with torch.inference_mode():
                ids = self._model.generate(**inputs, max_new_tokens=self.cfg.max_new_tokens, do_sample=False)
            self.generate_calls += 1
            new = ids[:, inputs["input_ids"].shape[1] :]
            out += [t.strip() for t in self._processor.batch_decode(new, skip_special_tokens=True)]
        return out

    def rewrite(self, requests: list[str]) -> list[str]:
        """Text-only answers (the rewrite merge), batched like :meth:`generate`."""
        import torch

        self.load()
        tok = getattr(self._processor, "tokenizer", self._processor)
        out: list[str] = []
        bs = max(1, self.cfg.batch_size)
        for i in range(0, len(requests), bs):
            chunk = requests[i : i + bs]
            if getattr(self._processor, "chat_template", None):
                chunk = [self._processor.apply_chat_template([{"role": "user", "content": [{"type": "text", "text": t}]}], add_generation_prompt=True) for t in chunk]
            inputs = tok(chunk, padding=True, return_tensors="pt").to(self._model.device)
            with torch.inference_mode():
                ids = self._model.generate(**inputs, max_new_tokens=self.cfg.max_new_tokens * 2, do_sample=False)
            self.generate_calls += 1
            out += [t.strip() for t in tok.batch_decode(ids[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)]
        return out


_CAPTIONERS: dict[tuple, VLMCaptioner] = {}


def captioner(cfg: VLMCaptionConfig) -> VLMCaptioner:
    """One loaded model per process and configuration (work items reuse it)."""
    key = tuple(sorted(vars(cfg).items()))
    if key not in _CAPTIONERS:
        _CAPTIONERS[key] = VLMCaptioner(cfg)
    return _CAPTIONERS[key]


def caption_clips(clips: list[dict], prompts: dict[str, str], cap: VLMCaptioner) -> list[dict]:
    """Six fields per clip, one prompt each, batched across clips.

    Args:
        clips: dicts with ``clip_id``, ``path``, ``start``, ``end``.
        prompts: field name -> prompt (see :mod:`koala.caption.fields`).

    Returns:
        One dict per clip: ``clip_id``, the six fields, and ``error`` ("" or why the clip failed).
    """
    rows, requests, owners = [], [], []
    sampled = sample_clips(clips, cap.cfg.frames, cap.cfg.frame_short_side)  # one decode pass per video
    for clip in clips:
        try:
            frames = sampled[clip["clip_id"]]
            if isinstance(frames, VideoError):
                raise frames
            if not frames:
                raise VideoError(clip["path"], "no frame could be decoded in the clip's range")
        except VideoError as exc:
            rows.append({"clip_id": clip["clip_id"], "error": str(exc), **{f: "" for f in prompts}})
            continue
        rows.append({"clip_id": clip["clip_id"], "error": "", **{f: "" for f in prompts}})
        for name, prompt in prompts.items():
            requests.append((frames, prompt))
            owners.append((len(rows) - 1, name))
    for (r, name), text in zip(owners, cap.generate(requests) if requests else []):
        rows[r][name] = text
    return rows
