"""Clip export: whole GOPs are stream-copied, other cuts re-encoded; both hold exactly the cut's frames."""

from __future__ import annotations

import pytest

from koala.curate.export import COPY, REENCODE, can_copy, cut, packet_index
from koala.io.errors import VideoError
from koala.io.video import probe, read_all


def test_packet_index_finds_the_keyframes(make_gop_video):
    idx = packet_index(str(make_gop_video("v.mp4", n=40, gop=10)))
    assert len(idx.pts) == 40 and list(idx.keyframe.nonzero()[0]) == [0, 10, 20, 30]
    assert (idx.pts[1:] > idx.pts[:-1]).all()
    assert can_copy(idx, 10, 20) and can_copy(idx, 30, 40) and can_copy(idx, 0, 40)
    assert not can_copy(idx, 5, 20) and not can_copy(idx, 10, 25)


@pytest.mark.parametrize(("start", "end", "mode"), [(10, 20, COPY), (10, 40, COPY), (0, 30, COPY),
                                                     (5, 15, REENCODE), (10, 25, REENCODE), (33, 40, REENCODE)])
def test_cut_holds_exactly_the_frames_of_the_range(make_gop_video, frame_number, tmp_path, start, end, mode):
    src = make_gop_video("v.mp4", n=40, gop=10)
    dst = tmp_path / "out" / "clip.mp4"
    assert cut(str(src), dst, start, end) == mode
    frames = read_all(dst)
    assert [frame_number(f) for f in frames] == list(range(start, end))
    assert probe(dst).fps == pytest.approx(25.0, rel=1e-3)


def test_cut_past_the_end_is_clamped_and_an_empty_cut_is_an_error(make_gop_video, tmp_path):
    src = make_gop_video("v.mp4", n=20, gop=10)
    assert cut(str(src), tmp_path / "a.mp4", 10, 99) == COPY and probe(tmp_path / "a.mp4").num_frames == 10
    with pytest.raises(VideoError, match="holds no frames"):
        cut(str(src), tmp_path / "b.mp4", 25, 30)
    assert not (tmp_path / "b.mp4").exists()
