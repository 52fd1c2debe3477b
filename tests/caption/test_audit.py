"""`koala audit` (koala/caption/audit.py): wrong captions flagged, right ones not, on clips with known camera motion.

The clips are synthetic camera moves (a crop window panning, tilting or zooming) over one real
photograph: a frame of a Koala sample clip when the samples are beside the repository, else
scikit-image's bundled ``coffee`` photo. Each clip is paired with captions that are right and
captions that are deliberately wrong about it; the test measures the audit's precision (flagged
statements that are wrong) and recall (wrong statements flagged).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from koala.caption import audit as A
from koala.cli import main
from koala.config import Params
from koala.filter.release import RELEASE_COLUMNS, format_timestamp
from koala.io.writer import VideoWriter


W, H, FPS, N = 256, 144, 25, 60
SAMPLES_DIR = Path(__file__).resolve().parents[2].parent / "shared/data/koala_tsa_samples"  # as tests/conftest.py


def real_photo() -> np.ndarray:
    """An RGB photograph at least 480 px wide: a sample clip's first frame, else skimage's coffee."""
    sample = SAMPLES_DIR / "0psDrM3mxx0_155.mp4"
    if sample.is_file():
        from koala.io.video import read_all

        return read_all(sample, start=0, end=1)[0]
    from skimage import data

    return data.coffee()


def window(photo: np.ndarray, cx: float, cy: float, scale: float) -> np.ndarray:
    """The W x H view of ``photo`` centred at (cx, cy) (0-1) covering ``scale`` of the largest 16:9 window."""
    ph, pw = photo.shape[:2]
    ww = min(pw, ph * W / H) * 0.6 * scale
    wh = ww * H / W
    x0, y0 = cx * pw - ww / 2, cy * ph - wh / 2
    m = np.array([[W / ww, 0, -x0 * W / ww], [0, H / wh, -y0 * H / wh]], np.float32)
    return cv2.warpAffine(photo, m, (W, H), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)


# Camera moves as the window moves: the camera panning right sees the window slide right (content slides left).
MOVES = {
    "static": lambda t: (0.5, 0.5, 1.0),
    "pan_left": lambda t: (0.62 - 0.24 * t, 0.5, 1.0),
    "pan_right": lambda t: (0.38 + 0.24 * t, 0.5, 1.0),
    "tilt_up": lambda t: (0.5, 0.6 - 0.2 * t, 0.8),
    "zoom_in": lambda t: (0.5, 0.5, 1.0 - 0.35 * t),
    "zoom_out": lambda t: (0.5, 0.5, 0.65 + 0.35 * t),
}


def make_clip(path, photo, move: str, *, subtitle: str = "") -> None:
    with VideoWriter(path, fps=FPS, width=W, height=H, crf=16) as w:
        for i in range(N):
            frame = window(photo, *MOVES[move](i / (N - 1))).copy()
            if subtitle:
                cv2.rectangle(frame, (30, H - 34), (W - 30, H - 8), (0, 0, 0), -1)
                cv2.putText(frame, subtitle, (38, H - 14), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
            w.write(frame)


# (clip, caption, wrong?): every wrong caption is wrong about what the clip shows; every right one is right.
CASES = [
    ("static", "The camera is stationary, holding a fixed view of the scene.", False),
    ("static", "The camera pans to the left across the scene.", True),
    ("static", "The camera slowly zooms in on the table.", True),
    ("static", "A man walks across the frame from left to right.", True),
    ("static", "Subtitles appear at the bottom of the screen.", True),
    ("pan_left", "The camera pans left across the scene.", False),
    ("pan_left", "The camera remains static throughout the clip.", True),
    ("pan_left", "The camera pans from left to right.", True),
    ("pan_right", "The camera slowly pans to the right.", False),
    ("pan_right", "A stationary camera captures the scene.", True),
    ("pan_right", "The camera pans left.", True),
    ("tilt_up", "The camera tilts upward.", False),
    ("tilt_up", "The camera tilts down toward the floor.", True),
    ("zoom_in", "The camera zooms in on the scene.", False),
    ("zoom_in", "The camera zooms out to reveal the room.", True),
    ("zoom_in", "The shot is static.", True),
    ("zoom_out", "The camera pulls back, zooming out.", False),
    ("zoom_out", "The camera pushes in toward the centre.", True),
    ("subtitled", "White subtitles appear at the bottom of the frame.", False),
    ("subtitled", "There is no text on screen.", True),
]


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit_clips")
    photo = real_photo()
    params = Params()
    out = {}
    for move in [*MOVES, "subtitled"]:
        path = folder / f"{move}.mp4"
        make_clip(path, photo, "static" if move == "subtitled" else move, subtitle="HELLO WORLD" if move == "subtitled" else "")
        score_cfg = dataclasses.replace(params.score, decode_short_side=params.audit.decode_short_side, text_frames=params.audit.text_frames)
        out[move] = A.measure(str(path), 0, N, measured_cfg=params.caption.measured, score_cfg=score_cfg)
    return {"folder": folder, "meas": out}


def test_wrong_captions_are_flagged_and_right_ones_are_not(measured):
    cfg = Params().audit
    flagged_wrong = flagged_right = n_wrong = 0
    misses = []
    for clip, caption, wrong in CASES:
        found = A.audit_caption(caption, measured["meas"][clip], cfg)
        assert found, f"no checkable statement found in {caption!r}"
        flagged = any(s["verdict"] == A.CONTRADICTED for s in found)
        n_wrong += wrong
        flagged_wrong += flagged and wrong
        flagged_right += flagged and not wrong
        if flagged != wrong:
            misses.append((clip, caption, [(s["kind"], s["verdict"], s["evidence"]) for s in found]))
    precision = flagged_wrong / max(1, flagged_wrong + flagged_right)
    recall = flagged_wrong / n_wrong
    # Measured: precision 1.0 and recall 1.0 on these 20 statements (13 wrong, 7 right).
    assert precision == 1.0, misses
    assert recall >= 0.9, misses


def test_the_measured_camera_moves_are_the_synthetic_ones(measured):
    for move in MOVES:
        m = measured["meas"][move]
        if move == "static":
            assert A._moving(m) == 0.0, m["camera_phases"]
        else:
            assert m[f"share_{move}"] >= 0.5, (move, m["camera_phases"])


def test_cli_audits_a_release_csv_of_materialised_clips(measured, tmp_path, capsys):
    rows = [{"videoID": clip, "url": "", "timestamp": format_timestamp(0.0, N / FPS), "caption": caption, "clarity_score": 0.9,
             "aesthetic_score": 5.0, "motion_score": 1.0, "video_training_suitability_score": 4.0}
            for clip, caption, _ in CASES[:7]] + [{"videoID": "gone_0", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                                                  "timestamp": "['0:00:00.000', '0:00:01.000']", "caption": "x", "clarity_score": 1,
                                                  "aesthetic_score": 1, "motion_score": 1, "video_training_suitability_score": 1}]
    csv = tmp_path / "koala.csv"
    pd.DataFrame(rows, columns=list(RELEASE_COLUMNS)).to_csv(csv, index=False)
    out = tmp_path / "audit"
    assert main(["audit", str(csv), "--videos", str(measured["folder"]), "--out", str(out)]) == 0
    st = pd.read_parquet(out / "statements.parquet")
    assert set(st.loc[st["verdict"] == A.CONTRADICTED, "videoID"]) <= {"static", "pan_left"}
    assert (st["verdict"] == A.CONTRADICTED).sum() == 5  # the five wrong captions among the first seven cases
    errors = pd.read_parquet(out / "errors.parquet")
    assert list(errors["key"]) == ["gone_0"]
    page = (out / "audit.html").read_text()
    assert "<mark>" in page and "Contradicted statements" in page
    assert "5 contradicted" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["audit", str(bad), "--videos", str(measured["folder"]), "--out", str(out)]) == 2


def test_rows_of_curate_output_are_measured_in_their_source(measured):
    """A koala.csv row from `koala curate` names its source by file URI; the clip is that span of the source."""
    from koala.curate.materialize import Row, source_keys

    src = measured["folder"] / "pan_left.mp4"
    row = Row("pan_left_3", src.as_uri(), "['0:00:00.400', '0:00:02.000']", 0.4, 2.0, "The camera pans left.",
              source_keys("pan_left_3", src.as_uri(), "koala"), "pan_left")
    assert A.locate(row, {}) == (str(src), 10, 50)  # no index needed: the URI's file exists
    assert A.locate(row, {"pan_left_3": "/elsewhere/pan_left_3.mp4"}) == ("/elsewhere/pan_left_3.mp4", 0, None)  # a materialised clip wins


def test_audit_reads_a_curate_clips_table(measured, tmp_path, capsys):
    """Curate's clips.parquet (every clip, kept or not) is audited at its exact frames; a missing video is an error row."""
    folder = measured["folder"]
    table = pd.DataFrame({"clip_id": ["pan_left_0000", "gone_0000"], "video_id": ["pan_left", "gone"], "clip_index": [0, 0],
                          "video": [str(folder / "pan_left.mp4"), str(tmp_path / "gone.mp4")], "start_frame": [5, 0],
                          "end_frame": [55, 10], "start_sec": [0.2, 0.0], "end_sec": [2.2, 0.4],
                          "caption": ["The camera is stationary. The camera pans to the right.", "x"], "kept": [False, True]})
    table.to_parquet(tmp_path / "clips.parquet")
    out = tmp_path / "audit"
    assert main(["audit", str(tmp_path / "clips.parquet"), "--videos", str(tmp_path), "--out", str(out)]) == 0
    st = pd.read_parquet(out / "statements.parquet")
    assert list(st["verdict"]) == [A.CONTRADICTED, A.CONTRADICTED] and set(st["videoID"]) == {"pan_left_0"}
    clips = pd.read_parquet(out / "clips.parquet")
    assert (clips["start_frame"].tolist(), clips["end_frame"].tolist()) == ([5], [55])
    assert list(pd.read_parquet(out / "errors.parquet")["key"]) == ["gone_0"]
    capsys.readouterr()
    table.drop(columns=["caption"]).to_parquet(tmp_path / "nocap.parquet")
    assert main(["audit", str(tmp_path / "nocap.parquet"), "--videos", str(tmp_path), "--out", str(out)]) == 2
    assert "nocap.parquet: not a curate clips table" in capsys.readouterr().err


def test_a_move_claimed_on_a_handheld_clip_without_a_measured_move_is_not_contradicted():
    """realshort_0000: the hand's drift is no measured tilt, but a caption may call it one."""
    from koala.caption.claims import Claim
    from koala.config import AuditConfig

    claim = Claim("camera_move", "tilt_up", "tilts up", "The camera tilts up.")
    still = {"camera_phases": "static 0.0-1.1s", "share_static": 1.0, "shake": 0.0079}
    assert A.check(claim, {**still, "shaky": False}, AuditConfig())[0] == A.CONTRADICTED
    verdict, evidence = A.check(claim, {**still, "shaky": True}, AuditConfig())
    assert verdict == A.UNVERIFIED and "handheld" in evidence
