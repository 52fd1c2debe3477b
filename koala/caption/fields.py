"""The six caption fields, their prompts, and how they merge into one paragraph.

Koala-36M captions every clip with six separately generated parts (subject, subject actions,
environment, visual language, camera language, world knowledge; paper §4.2) and merges them into
one paragraph; the released captions open with the overall scene and action, then the subjects,
the background, and end with the camera (docs/koala36m-paper.md §2.2). The paper does not say whether the merge
is a rewrite by a language model or a concatenation, so both are offered (``caption.merge``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from koala.io.tables import CAPTION_FIELDS

BUNDLED_PROMPTS = Path(__file__).with_name("prompts.yaml")


class PromptsError(ValueError):
    """The prompts file is missing, or does not hold exactly the six fields and a rewrite prompt."""


@dataclass(frozen=True)
class Prompts:
    """One prompt per caption field, and the rewrite prompt (with a ``{fields}`` slot)."""

    fields: dict[str, str]
    rewrite: str


def prompts_path(configured: str) -> Path:
    """The prompts file to use: the configured one, or the bundled ``prompts.yaml`` when empty."""
    return Path(configured) if configured else BUNDLED_PROMPTS


def load_prompts(path: str | Path = "") -> Prompts:
    """Read and check a prompts file.

    Raises:
        PromptsError: the file is missing, a field prompt is missing or extra, or the rewrite
            prompt has no ``{fields}`` slot.
    """
    path = prompts_path(str(path))
    if not path.is_file():
        raise PromptsError(f"{path}: no such prompts file; set caption.prompts_file to a YAML file, or leave it empty for the bundled prompts")
    data = yaml.safe_load(path.read_text()) or {}
    fields = data.get("fields") or {}
    missing = [f for f in CAPTION_FIELDS if not str(fields.get(f, "")).strip()]
    extra = [f for f in fields if f not in CAPTION_FIELDS]
    if missing or extra:
        raise PromptsError(f"{path}: the field prompts must be exactly {list(CAPTION_FIELDS)}; missing {missing}, unexpected {extra}")
    rewrite = str(data.get("rewrite", ""))
    if "{fields}" not in rewrite:
        raise PromptsError(f"{path}: the rewrite prompt needs a {{fields}} slot where the six fields go")
    return Prompts(fields={f: str(fields[f]).strip() for f in CAPTION_FIELDS}, rewrite=rewrite.strip())


def check_order(order: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The merge order must name each of the six fields once.

    Raises:
        ValueError: naming the missing or unknown fields.
    """
    order = tuple(order)
    if sorted(order) != sorted(CAPTION_FIELDS):
        missing = [f for f in CAPTION_FIELDS if f not in order]
        unknown = [f for f in order if f not in CAPTION_FIELDS]
        raise ValueError(f"caption.order must list each of {list(CAPTION_FIELDS)} once; missing {missing}, unknown {unknown}")
    return order


def clean(text: str | None) -> str:
    """One field's text as tidy prose: whitespace collapsed, list markers dropped, a final full stop."""
    if not text:
        return ""
    text = re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s+", "", str(text), flags=re.MULTILINE)  # list markers
    text = re.sub(r"\s+", " ", text).strip()
    if text and text[-1] not in ".!?":
        text += "."
    return text[:1].upper() + text[1:]


def merge_template(fields: dict[str, str], order: tuple[str, ...]) -> str:
    """The fields' sentences joined in ``order`` into one paragraph; empty fields say nothing."""
    return " ".join(t for t in (clean(fields.get(name)) for name in check_order(order)) if t)


def rewrite_request(fields: dict[str, str], order: tuple[str, ...], prompts: Prompts) -> str:
    """The rewrite prompt with the non-empty fields filled in, in ``order``, one labelled line each."""
    lines = [f"{name.replace('_', ' ')}: {clean(fields.get(name))}" for name in check_order(order) if clean(fields.get(name))]
    return prompts.rewrite.replace("{fields}", "\n".join(lines))


def word_count(text: str) -> int:
    """Words as the paper counts them for Fig. 4 (whitespace-separated tokens)."""
    return len(str(text).split())
