"""koala/io/clip_reader.py: one pass for many clips, frame-exact, byte-equal to read_frames."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from koala.io.clip_reader import ClipRequest, DecodeStats, read_clips
from koala.io.errors import VideoError
from koala.io.video import probe, read_frames


def gop_video(path, factory, *, n: int = 140, gop: int = 10, width: int = 64, height: int = 48):
    """A frame-numbered H.264 video with a keyframe every ``gop`` frames and B-frames (so seeks matter)."""
    with av.open(str(path), mode="w") as out:
        s = out.add_stream("libx264", rate=Fraction(25), options={
            "crf": "18", "preset": "veryfast", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "bf": "2"})
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        for i in range(n):
            out.mux(s.encode(av.VideoFrame.from_ndarray(factory.frame(i, width, height), format="rgb24")))
        out.mux(s.encode(None))
    return path


def reference(path, frames, **size) -> np.ndarray:
    """The same frames from a plain sequential read_frames pass (the ground truth)."""
    want = set(int(f) for f in frames)
    out = {}
    for b in read_frames(path, **size):
        for i, f in zip(b.index.tolist(), b.frames):
            if i in want:
                out[i] = f
    return np.stack([out[i] for i in sorted(out)])


@pytest.mark.parametrize("seek", [True, False])
def test_frame_exact_and_byte_equal_to_read_frames(make_video, tmp_path, seek):
    path = gop_video(tmp_path / "gop.mp4", make_video)
    reqs = [
        ClipRequest("a", np.arange(0, 20, 3), height=24),
        ClipRequest("b", np.array([75, 76, 99]), height=24),
        ClipRequest("c", np.array([76, 130, 131]), height=32, width=40),
        ClipRequest("d", np.array([139])),
    ]
    stats = DecodeStats()
    got = {c.key: c for c in read_clips(path, reqs, seek=seek, stats=stats, min_seek_gap=8)}
    assert set(got) == {"a", "b", "c", "d"}
    for r in reqs:
        c = got[r.key]
        assert c.complete and c.index.tolist() == sorted(set(r.frames.tolist()))
        assert [make_video.index_of(f) for f in c.frames] == c.index.tolist()
        size = {k: v for k, v in (("height", r.height), ("width", r.width)) if v is not None}
        assert np.array_equal(c.frames, reference(path, r.frames, **size))
    assert got["c"].frames.shape == (3, 32, 40, 3) and got["d"].frames.shape == (1, 48, 64, 3)
    if seek:
        assert stats.seeks >= 2 and stats.decoded < 140 and stats.restarts == 0
    else:
        assert stats.seeks == 0 and stats.decoded == 140


def test_hands_each_clip_over_when_its_last_frame_passes(make_video, tmp_path):
    """Clips come back in the order of their last frame, before later frames are decoded."""
    path = gop_video(tmp_path / "gop.mp4", make_video)
    reqs = [ClipRequest(k, np.arange(s, e)) for k, (s, e) in enumerate([(100, 120), (0, 30), (20, 60), (60, 61)])]
    stats = DecodeStats()
    order, decoded_at = [], []
    for c in read_clips(path, reqs, stats=stats, threads=0, min_seek_gap=1000):
        order.append(c.key)
        decoded_at.append(stats.decoded)
    assert order == [1, 2, 3, 0]
    assert decoded_at[0] <= 31 and decoded_at[1] <= 61  # no look-ahead past a clip's end when converting in line


def test_overlapping_requests_and_empty_request(make_video):
    path = make_video(n=30)
    reqs = [ClipRequest("x", np.array([5, 5, 2])), ClipRequest("y", np.arange(0, 10)), ClipRequest("z", np.zeros(0, int))]
    got = {c.key: c for c in read_clips(path, reqs)}
    assert got["x"].index.tolist() == [2, 5] and got["z"].frames.shape == (0, 48, 64, 3)
    assert np.array_equal(got["y"].frames[[2, 5]], got["x"].frames)


def test_frames_past_the_end_come_back_short(make_video):
    path = make_video(n=20)
    got = list(read_clips(path, [ClipRequest("late", np.array([18, 19, 20, 25]))]))
    assert len(got) == 1 and not got[0].complete and got[0].index.tolist() == [18, 19]


def test_rotation_matches_read_frames(make_video):
    path = make_video(n=12, rotation=90, marker=True)
    (c,) = read_clips(path, [ClipRequest("r", np.arange(12), height=32)])
    assert np.array_equal(c.frames, reference(path, range(12), height=32))


def test_duplicate_keys_and_bad_file(tmp_path, make_video):
    path = make_video(n=5)
    with pytest.raises(ValueError, match="unique"):
        list(read_clips(path, [ClipRequest("a", np.arange(2)), ClipRequest("a", np.arange(3))]))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(VideoError, match="bad.mp4"):
        list(read_clips(bad, [ClipRequest("a", np.arange(2))]))


def test_info_is_reused(make_video):
    path = make_video(n=10)
    info = probe(path)
    (c,) = read_clips(path, [ClipRequest("a", np.arange(10))], info=info)
    assert c.complete


def test_sink_receives_frames_instead_of_a_buffer(make_video):
    path = make_video(n=30)
    seen = []
    (c,) = read_clips(path, [ClipRequest("s", np.array([3, 9, 27]), height=24, sink=lambda i, f: seen.append((i, f.shape)))])
    assert seen == [(3, (24, 32, 3)), (9, (24, 32, 3)), (27, (24, 32, 3))]
    assert c.index.tolist() == [3, 9, 27] and c.frames.shape[0] == 0


def test_a_seek_is_checked_against_a_front_to_back_decode(make_video, tmp_path, monkeypatch):
    """Seeking is used only when a fresh decoder that seeks decodes the keyframe as a sequential pass does."""
    from koala.io import clip_reader

    path = gop_video(tmp_path / "gop.mp4", make_video, n=140, gop=20)
    with av.open(str(path)) as c:
        index = clip_reader.frame_index(c, c.streams.video[0])
    assert index.seekable and clip_reader.seek_decodes_true(path, index.pts, index.keyframes)
    real = av.VideoFrame.to_ndarray
    calls = {"n": 0}

    def drifting(frame, *a, **k):
        calls["n"] += 1
        arr = real(frame, *a, **k)
        return arr + 1 if calls["n"] > 1 else arr  # the sequential decode's frame, then the seek's differs

    monkeypatch.setattr(av.VideoFrame, "to_ndarray", drifting)
    # A stream whose frames after a seek come out different (as in cockatoo.mp4 below): not to be sought.
    assert not clip_reader.seek_decodes_true(path, index.pts, index.keyframes)


REAL_444 = Path(__file__).resolve().parents[2] / "data/corpus/real/cockatoo.mp4"  # koala corpus real


@pytest.mark.skipif(not REAL_444.is_file(), reason="the real-footage corpus is not built (koala corpus real)")
def test_a_real_stream_that_cannot_be_sought_is_read_front_to_back():
    """In this H.264 4:4:4 file an IDR frame decoded right after a seek has wrong pixels; reads stay exact."""
    want = np.arange(196, 206)
    got = next(iter(read_clips(REAL_444, [ClipRequest("x", want, height=90)]))).frames
    np.testing.assert_array_equal(got, reference(REAL_444, want, height=90))
    late = np.concatenate([b.frames for b in read_frames(REAL_444, start=196, end=206, height=90)])
    np.testing.assert_array_equal(late, got)


def test_one_frame_at_several_sizes_for_several_consumers(make_video, tmp_path):
    """Every frame wanted at three sizes (a fused pass): each size byte-equal to read_frames at that size."""
    path = gop_video(tmp_path / "gop.mp4", make_video, n=140, gop=10, width=128, height=96)
    want = np.arange(0, 140)
    sizes = [{"height": 96}, {"height": 48}, {"height": 24}]
    reqs = [ClipRequest(k, want, **size) for k, size in enumerate(sizes)]
    got = {g.key: g.frames for g in read_clips(path, reqs, threads=2)}
    for k, size in enumerate(sizes):
        np.testing.assert_array_equal(got[k], reference(path, want, **size))
