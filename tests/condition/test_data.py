"""Training windows: how they are cut, measured with the project's metrics, and normalised."""

import numpy as np
import pandas as pd
import pytest

from koala.condition.data import MetricScaler, cut_window, measure
from koala.config import ScoreConfig


def _pan(n, size=48, dx=1.0, seed=0):
    """``n`` frames of a smooth random texture sliding ``dx`` px per frame."""
    import cv2

    rng = np.random.default_rng(seed)
    big = cv2.resize(rng.random((40, 80, 3)).astype(np.float32), (4 * size, 2 * size), interpolation=cv2.INTER_CUBIC)
    big = np.clip(big * 255, 0, 255).astype(np.uint8)
    return np.stack([cv2.warpAffine(big, np.float32([[1, 0, -dx * i - 8], [0, 1, -8]]), (size, size)) for i in range(n)])


def test_stride_zero_is_a_still_and_windows_have_the_asked_size():
    frames = _pan(40)
    rng = np.random.default_rng(0)
    for _ in range(20):
        win, how = cut_window(frames, rng, length=8, size=32, strides=(0, 1, 3), crop_min=0.6)
        assert win.shape == (8, 32, 32, 3) and win.dtype == np.uint8
        assert 0.6 - 1e-9 <= how["crop"] <= 1.0
        if how["stride"] == 0:
            assert (win == win[0]).all()


def test_strides_that_do_not_fit_the_clip_are_never_drawn():
    frames = _pan(10)
    rng = np.random.default_rng(0)
    strides = {cut_window(frames, rng, length=8, size=16, strides=(1, 4), crop_min=1.0)[1]["stride"] for _ in range(20)}
    assert strides == {1}  # 7 steps of 4 frames need 29 frames


@pytest.fixture
def score_cfg():
    return ScoreConfig()


def test_measured_motion_grows_with_the_motion_and_a_still_is_zero(score_cfg):
    names = ("motion_score", "brightness")
    still = measure(np.repeat(_pan(1), 8, axis=0), names, fps=8.0, score_cfg=score_cfg)
    slow = measure(_pan(8, dx=0.5), names, fps=8.0, score_cfg=score_cfg)
    fast = measure(_pan(8, dx=2.0), names, fps=8.0, score_cfg=score_cfg)
    assert still["motion_score"] == 0.0
    assert 0 < slow["motion_score"] < fast["motion_score"]
    assert abs(still["brightness"] - slow["brightness"]) < 0.05  # the same picture, moving or not


def test_scaler_maps_the_training_range_to_about_0_1_and_round_trips():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"motion_score": rng.exponential(10, 500), "brightness": rng.uniform(0.2, 0.8, 500)})
    sc = MetricScaler.fit(table, ("motion_score", "brightness"), log_names=("motion_score",))
    z = sc(table[["motion_score", "brightness"]].to_numpy())
    assert z.dtype == np.float32 and z.shape == (500, 2)
    assert np.quantile(z, 0.01, axis=0) == pytest.approx([0, 0], abs=0.02)
    assert np.quantile(z, 0.99, axis=0) == pytest.approx([1, 1], abs=0.02)
    assert sc.log == (True, False)
    back = MetricScaler.from_dict(sc.as_dict())
    np.testing.assert_array_equal(back(table[["motion_score", "brightness"]].to_numpy()), z)


def test_scaler_keeps_order_and_survives_a_constant_metric():
    table = pd.DataFrame({"m": [0.0, 1.0, 5.0, 50.0], "c": [0.5] * 4})
    sc = MetricScaler.fit(table, ("m", "c"), log_names=("m",))
    z = sc(table.to_numpy())
    assert np.all(np.diff(z[:, 0]) > 0)
    assert np.isfinite(z).all()


def test_windows_of_a_video_come_from_one_pass_and_equal_a_decode_per_clip(make_video, tmp_path):
    """Every clip of a video is read in one pass (koala.io.clip_reader); its windows equal those cut from its
    own decode (koala.io.video.read_frames) with the same seed; a one-frame clip gets none, with a warning."""
    import dataclasses
    import zlib

    from koala.condition.data import window_items, windows_item
    from koala.config import ConditionConfig, ConditionScale
    from koala.engine.core import ItemOutput
    from koala.io.video import read_frames

    v = make_video("v.mp4", n=60, width=96, height=64)
    clips = pd.DataFrame({"clip_id": ["a", "b", "c"], "path": [str(v)] * 3, "start": [0, 25, 59], "end": [20, 55, 60]})
    cfg = dataclasses.replace(ConditionConfig(), out_dir=str(tmp_path / "cond"), decode_short_side=32)
    scale = dataclasses.replace(ConditionScale(), frames=4, size=16, samples_per_clip=3)
    (item,) = window_items(clips, cfg, scale, ScoreConfig())  # one item for the one video
    assert [c["key"] for c in item["clips"]] == ["a", "b", "c"] and len(item["outputs"]) == 3
    out = windows_item(item)
    assert isinstance(out, ItemOutput) and [w[0] for w in out.warnings] == ["TooFewFrames"] and "clip c" in out.warnings[0][1]
    assert [(r["clip_id"], r["window"]) for r in out.rows] == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2)]
    for c in item["clips"][:2]:
        frames = np.concatenate([b.frames for b in read_frames(str(v), height=32, start=c["start"], end=c["end"])])
        rng = np.random.default_rng([item["seed"], zlib.crc32(c["key"].encode())])
        want = np.stack([cut_window(frames, rng, length=4, size=16, strides=tuple(item["strides"]), crop_min=item["crop_min"])[0]
                         for _ in range(3)])
        assert np.array_equal(np.load(c["output"]), want)
    assert np.load(item["clips"][2]["output"]).shape[0] == 0
