"""The five real clips that ship with the official Koala-36M VTSS scorer.

They come from a local mirror folder (named by an environment variable; CI and these machines
point it at ../shared/data/koala_tsa_samples) or, failing that, from the official repository
over the network. Either way every file is checked against its published sha256.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pandas as pd

from koala.config import SamplesConfig
from koala.io.atomic import atomic_path, sha256_file
from koala.io.tables import LABELS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleClip:
    name: str
    sha256: str
    vtss_label: float  # the human-derived label shipped beside the clip (video_name.txt)

    @property
    def video_id(self) -> str:
        return Path(self.name).stem


# Released with the official scorer: file, sha256, and its label from video_name.txt.
SAMPLE_CLIPS: tuple[SampleClip, ...] = (
    SampleClip("-KuN4XkUQBI_1.mp4", "d75ae007b6a50876ebe96aaba39ad29d51cb6fad41e1f6aed6a677d76eee40b1", 4.15),
    SampleClip("0psDrM3mxx0_155.mp4", "11544f85c47f0d80e61f02cb146bb9269c9d7d34241d5c9508094f34a87c0a90", 3.0),
    SampleClip("J3JqVnOGfYA_3.mp4", "5cbd4fbcc95523eefe8c909d469fa509370c60a44e91659627c7545eef8e98c3", 1.0),
    SampleClip("RIeEULN2r2U_18.mp4", "8ce8ce9fced924872ef525efb1a734c92ca06494747c110700bd5795891c5eaf", 4.0),
    SampleClip("rKn-vWDMkwQ_33.mp4", "20ef440cc82414a67d9448c9974ba91a604f02974733f57a8669b7eef61c713b", 3.27),
)


class SamplesUnavailable(RuntimeError):
    """The sample clips could not be obtained; the message says how to provide them."""


def fetch_samples(cfg: SamplesConfig, *, env: Mapping[str, str] | None = None) -> list[Path]:
    """Put the five sample clips in ``cfg.out_dir``, verified; return their paths.

    Order of sources: a verified copy already there, the mirror folder named by
    ``$<cfg.mirror_env>``, then a download from ``cfg.base_url``.

    Raises:
        SamplesUnavailable: a clip could not be had from any source, or a checksum failed.
    """
    env = os.environ if env is None else env
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mirror = env.get(cfg.mirror_env, "").strip()
    mirror_dir = Path(mirror) if mirror else None
    if mirror_dir is not None and not mirror_dir.is_dir():
        raise SamplesUnavailable(f"${cfg.mirror_env}={mirror} is not a folder; point it at a folder holding the sample .mp4 files")
    paths, failures = [], []
    for clip in SAMPLE_CLIPS:
        dest = out / clip.name
        if dest.exists() and sha256_file(dest) == clip.sha256:
            paths.append(dest)
            continue
        if mirror_dir is not None:
            src = mirror_dir / clip.name
            if not src.exists():
                failures.append(f"{clip.name}: not in the mirror folder {mirror_dir}")
                continue
            _copy_verified(src, dest, clip)
            log.info("copied %s from the mirror %s", clip.name, mirror_dir)
            paths.append(dest)
            continue
        try:
            _download(cfg.base_url + clip.name, dest, clip)
            paths.append(dest)
        except SamplesUnavailable:
            raise
        except Exception as exc:  # network errors come in many types (requests, urllib, OSError)
            failures.append(f"{clip.name}: download from {cfg.base_url + clip.name} failed ({type(exc).__name__}: {exc})")
    if failures:
        how = (
            f"Set ${cfg.mirror_env} to a folder holding the five clips "
            "(on the project machines: ../shared/data/koala_tsa_samples), or run with network access."
        )
        raise SamplesUnavailable("cannot get the Koala sample clips:\n  " + "\n  ".join(failures) + "\n" + how)
    return paths


def _copy_verified(src: Path, dest: Path, clip: SampleClip) -> None:
    got = sha256_file(src)
    if got != clip.sha256:
        raise SamplesUnavailable(f"{src}: sha256 {got} does not match the published {clip.sha256}; the mirror copy is damaged")
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def _download(url: str, dest: Path, clip: SampleClip) -> None:
    import pooch  # imported here: only the network path needs it

    log.info("downloading %s", url)
    try:  # straight into the destination folder: no second copy in pooch's cache under $HOME
        fetched = pooch.retrieve(url, known_hash=f"sha256:{clip.sha256}", fname=f".{dest.name}.download",
                                 path=dest.parent, progressbar=False)
    except ValueError as exc:  # pooch raises ValueError on a hash mismatch
        raise SamplesUnavailable(f"{url}: {exc}") from None
    os.replace(fetched, dest)  # pooch wrote and checked it whole; the rename is atomic


def labels_table() -> pd.DataFrame:
    """The published suitability labels of the sample clips (LABELS schema)."""
    return pd.DataFrame(
        {
            "video_id": [c.video_id for c in SAMPLE_CLIPS],
            "vtss_label": [c.vtss_label for c in SAMPLE_CLIPS],
            "label_source": ["koala_release_video_name.txt"] * len(SAMPLE_CLIPS),
        },
        columns=LABELS.names,
    )
