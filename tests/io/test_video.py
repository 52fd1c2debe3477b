"""Video layer: probe, frame reading (ranges, sizes, rotation, odd sizes, VFR), bad input, writer."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from koala.io.video import VideoError, output_size, probe, read_all, read_frames
from koala.io.writer import VideoWriter


def indices(make_video, frames: np.ndarray) -> list[int]:
    return [make_video.index_of(f) for f in frames]


def tmp_leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tmp-"))


# --- probe ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, codec, pix_fmt, expect_codec, fps",
    [
        ("x264.mp4", "libx264", "yuv420p", "h264", 25.0),
        ("ntsc.mp4", "libx264", "yuv420p", "h264", Fraction(30000, 1001)),
        ("lossless.mkv", "ffv1", "yuv444p", "ffv1", 30.0),
        ("mpeg4.avi", "mpeg4", "yuv420p", "mpeg4", 24.0),
    ],
)
def test_probe_reports_what_was_written(make_video, name, codec, pix_fmt, expect_codec, fps):
    path = make_video(name, n=23, width=64, height=48, fps=fps, codec=codec, pix_fmt=pix_fmt)
    info = probe(path)
    assert info.path == str(path)
    assert info.num_frames == 23
    assert (info.width, info.height) == (64, 48)
    assert info.fps == pytest.approx(float(fps), rel=1e-6)
    assert info.duration_sec == pytest.approx(23 / float(fps), rel=1e-6)
    assert info.codec == expect_codec
    assert info.rotation == 0
    assert info.variable_frame_rate is False
    assert set(info.as_row()) == {
        "path", "fps", "num_frames", "width", "height", "duration_sec", "rotation", "variable_frame_rate", "codec", "missing"
    }


# --- read_frames: exact indices, ranges, chunks -----------------------------------------------


def test_read_all_returns_every_frame_in_order(make_video):
    path = make_video(n=30)
    frames = read_all(path)
    assert frames.shape == (30, 48, 64, 3) and frames.dtype == np.uint8
    assert indices(make_video, frames) == list(range(30))
    # Beyond the frame number, the pixels are the ones written (lossy coding: a few levels).
    err = np.abs(frames[7].astype(int) - make_video.frame(7, 64, 48).astype(int))
    assert err.mean() < 3


@pytest.mark.parametrize(
    "start, end, step, chunk",
    [
        (0, None, 1, 32),
        (0, None, 1, 4),
        (5, 17, 1, 5),
        (3, None, 4, 2),
        (7, 8, 1, 3),
        (10, 60, 7, 1),  # end past the last frame
        (29, None, 1, 8),
    ],
)
def test_read_frames_range_and_chunks(make_video, start, end, step, chunk):
    path = make_video(n=30)
    batches = list(read_frames(path, start=start, end=end, step=step, chunk=chunk))
    want = list(range(30))[start:end:step]
    got = np.concatenate([b.index for b in batches]).tolist()
    assert got == want
    assert [make_video.index_of(f) for b in batches for f in b.frames] == want
    sizes = [len(b.index) for b in batches]
    assert all(s == chunk for s in sizes[:-1]) and 1 <= sizes[-1] <= chunk
    for b in batches:
        assert b.index.dtype == np.int64 and len(b.index) == len(b.frames)


def test_read_all_with_an_empty_range_raises(make_video):
    path = make_video(n=10)
    with pytest.raises(VideoError, match="no frames in the requested range"):
        read_all(path, start=10)
    assert list(read_frames(path, start=4, end=4)) == []


def test_read_frames_accepts_a_previous_probe(make_video):
    path = make_video(n=12)
    info = probe(path)
    frames = read_all(path, info=info, step=3)
    assert indices(make_video, frames) == [0, 3, 6, 9]


# --- reduced size -----------------------------------------------------------------------------


@pytest.mark.parametrize("src_w, src_h, height", [(64, 48, 24), (80, 48, 30), (80, 48, 27), (128, 72, 36)])
def test_reduced_size_by_height_keeps_aspect_with_even_width(make_video, src_w, src_h, height):
    path = make_video(n=6, width=src_w, height=src_h)
    frames = read_all(path, height=height)
    h, w = frames.shape[1:3]
    assert h == height
    assert w % 2 == 0
    assert abs(w - height * src_w / src_h) <= 1.0
    assert (w, h) == output_size(probe(path), height=height)
    assert indices(make_video, frames) == list(range(6))


def test_reduced_size_by_width_only_and_by_both(make_video):
    path = make_video(n=6, width=80, height=48)
    by_width = read_all(path, width=40)
    assert by_width.shape[1:3] == (24, 40)
    both = read_all(path, width=32, height=32)  # aspect not kept: exactly the size asked for
    assert both.shape == (6, 32, 32, 3)
    assert indices(make_video, both) == list(range(6))


def test_output_size_full_when_nothing_asked(make_video):
    info = probe(make_video(n=3, width=64, height=48))
    assert output_size(info) == (64, 48)


# --- rotation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_video_probes_display_size_and_decodes_upright(make_video, rotation):
    """Display rotation R is counter-clockwise (FFmpeg's display matrix): a player shows the
    coded picture turned R degrees ccw, i.e. ``np.rot90(picture, k=R // 90)``."""
    path = make_video(f"rot{rotation}.mp4", n=5, width=64, height=48, rotation=rotation, marker=True)
    info = probe(path)
    assert info.rotation == rotation
    swapped = rotation in (90, 270)
    assert (info.width, info.height) == ((48, 64) if swapped else (64, 48))

    frames = read_all(path)
    assert frames.shape == (5, info.height, info.width, 3)
    for i, got in enumerate(frames):
        want = np.rot90(make_video.frame(i, 64, 48, marker=True), k=rotation // 90)
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 4
    assert indices(make_video, frames) == list(range(5))


def test_rotation_90_puts_the_top_left_corner_bottom_left(make_video):
    """A quarter-turn ccw moves the coded top-left corner to the display's bottom-left."""
    path = make_video("rot90.mp4", n=3, width=64, height=48, rotation=90, marker=True)
    frame = read_all(path)[0].astype(int)  # display: 48 wide, 64 tall
    h, w = frame.shape[:2]
    assert (h, w) == (64, 48)
    corners = {
        "top-left": frame[: h // 8, : w // 8].mean(),
        "top-right": frame[: h // 8, -w // 8 :].mean(),
        "bottom-left": frame[-h // 8 :, : w // 8].mean(),
        "bottom-right": frame[-h // 8 :, -w // 8 :].mean(),
    }
    assert max(corners, key=corners.get) == "bottom-left"
    assert corners["bottom-left"] > 240


def test_rotated_video_at_reduced_size(make_video):
    path = make_video("rot90.mp4", n=4, width=64, height=48, rotation=90, marker=True)
    frames = read_all(path, height=32)  # display 48x64 (w x h) -> 24x32
    assert frames.shape == (4, 32, 24, 3)
    assert frames[0, -3:, :3].mean() > 240  # the marker, bottom-left
    assert indices(make_video, frames) == list(range(4))


# --- odd sizes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, codec, pix_fmt",
    [("odd.mkv", "ffv1", "yuv420p"), ("odd444.mkv", "ffv1", "yuv444p"), ("odd.avi", "mpeg4", "yuv420p")],
)
def test_odd_sizes_decode(make_video, name, codec, pix_fmt):
    path = make_video(name, n=8, width=65, height=47, codec=codec, pix_fmt=pix_fmt)
    info = probe(path)
    assert (info.width, info.height, info.num_frames) == (65, 47, 8)
    frames = read_all(path)
    assert frames.shape == (8, 47, 65, 3)
    assert indices(make_video, frames) == list(range(8))
    small = read_all(path, height=24)
    assert small.shape[1] == 24 and small.shape[2] % 2 == 0
    assert indices(make_video, small) == list(range(8))


# --- frame rate -------------------------------------------------------------------------------


def write_vfr(path: Path, gaps_ms: list[int]) -> None:
    """An ffv1/Matroska stream, time base 1 ms, with the given gaps between frame timestamps."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.time_base = Fraction(1, 1000)
        t = 0
        for i in range(len(gaps_ms) + 1):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 16 + 10 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            c.mux(s.encode(frame))
            if i < len(gaps_ms):
                t += gaps_ms[i]
        c.mux(s.encode(None))


def test_variable_frame_rate_is_detected_with_the_average_rate(tmp_path):
    path = tmp_path / "vfr.mkv"
    gaps = [20, 80] * 10  # mean gap 50 ms: 20 fps on average
    write_vfr(path, gaps)
    info = probe(path)
    assert info.variable_frame_rate is True
    assert info.num_frames == 21
    assert info.fps == pytest.approx(20.0, rel=1e-6)
    frames = read_all(path)
    assert [int(round((f[24, 32, 0] - 16) / 10)) for f in frames] == list(range(21))


def test_constant_rate_with_the_same_writer_is_not_vfr(tmp_path):
    path = tmp_path / "cfr.mkv"
    write_vfr(path, [40] * 20)
    info = probe(path)
    assert info.variable_frame_rate is False
    assert info.fps == pytest.approx(25.0, rel=1e-6)


# --- real sample clips ------------------------------------------------------------------------

SAMPLES = {  # name: (frames, height); all 1280 wide, H.264, constant rate
    "-KuN4XkUQBI_1": (176, 720),
    "0psDrM3mxx0_155": (229, 720),
    "J3JqVnOGfYA_3": (165, 720),
    "RIeEULN2r2U_18": (155, 720),
    "rKn-vWDMkwQ_33": (259, 640),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_sample_clips_probe_and_decode(sample_dir, name):
    frames, height = SAMPLES[name]
    info = probe(sample_dir / f"{name}.mp4")
    assert (info.width, info.height, info.num_frames) == (1280, height, frames)
    assert info.codec == "h264"
    assert 24.0 <= info.fps <= 30.0
    assert info.variable_frame_rate is False and info.rotation == 0
    # Every probed frame decodes, numbered 0..n-1 (at a small size: this is about counts).
    index = np.concatenate([b.index for b in read_frames(info.path, height=36, chunk=64, info=info)])
    assert index.tolist() == list(range(frames))


# --- bad input --------------------------------------------------------------------------------


def noise_video(path: Path, *, n: int = 40, faststart: bool = False, codec: str = "libx264") -> Path:
    """Random frames, so the coded data is large and cutting the file loses most of it."""
    rng = np.random.default_rng(0)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as c:
        s = c.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for _ in range(n):
            arr = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            c.mux(s.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")))
        c.mux(s.encode(None))
    return path


def audio_only(path: Path, codec: str) -> Path:
    fmt, dtype = ("fltp", np.float32) if codec == "aac" else ("s16", np.int16)
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=16000)
        for i in range(8):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype), format=fmt, layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            c.mux(s.encode(frame))
        c.mux(s.encode(None))
    return path


def zero_frames(path: Path, codec: str) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()
    return path


def overwrite(src: Path, dst: Path, at: int, length: int) -> Path:
    data = bytearray(src.read_bytes())
    data[at : at + length] = np.random.default_rng(1).integers(0, 256, length, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


def first_half(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def make_bad(kind: str, folder: Path) -> Path:
    """Build one kind of unusable input in ``folder``."""
    if kind == "missing":
        return folder / "missing.mp4"
    if kind == "directory":
        (folder / "adir.mp4").mkdir()
        return folder / "adir.mp4"
    if kind == "zero-byte":
        (folder / "empty.mp4").touch()
        return folder / "empty.mp4"
    if kind.startswith("text"):
        path = folder / kind.split(":")[1]
        path.write_text("A short note, not a video.\nSecond line.\n" * 40)
        return path
    if kind == "image":
        path = folder / "still.png"
        av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24").to_image().save(path)
        return path
    if kind == "audio-aac":
        return audio_only(folder / "sound.m4a", "aac")
    if kind == "audio-pcm":
        return audio_only(folder / "sound.wav", "pcm_s16le")
    if kind == "corrupt-head":  # the first KiB (ftyp and more) is garbage
        return overwrite(noise_video(folder / "ok.mp4"), folder / "corrupt.mp4", 0, 1024)
    if kind in ("corrupt-moov-header", "corrupt-moov-body"):
        src = noise_video(folder / "ok.mp4", faststart=True)
        at = src.read_bytes().index(b"moov") - 4
        at, length = (at, 16) if kind == "corrupt-moov-header" else (at + 8, 400)
        return overwrite(src, folder / "corrupt.mp4", at, length)
    if kind == "truncated-mp4":  # moov at the end: the cut loses the index
        return first_half(noise_video(folder / "ok.mp4"), folder / "half.mp4")
    if kind == "truncated-mp4-faststart":  # moov in front: the index promises what is missing
        return first_half(noise_video(folder / "ok.mp4", faststart=True), folder / "half.mp4")
    if kind == "truncated-mkv":
        return first_half(noise_video(folder / "ok.mkv", codec="ffv1"), folder / "half.mkv")
    if kind == "zero-frames-avi":
        return zero_frames(folder / "none.avi", "mpeg4")
    if kind == "zero-frames-mp4":  # the MP4 muxer drops the empty track
        return zero_frames(folder / "none.mp4", "libx264")
    if kind == "zero-frames-mkv":
        return zero_frames(folder / "none.mkv", "ffv1")
    raise AssertionError(kind)


BAD = {  # kind: words the reason must contain
    "missing": "no such file",
    "directory": "directory",
    "zero-byte": "empty file",
    "text:notes.txt": "not a video",  # FFmpeg's tty demuxer would call it ANSI-art video
    "text:readme.nfo": "not a video",
    "text:clip.mp4": "not a video",
    "text:table.csv": "not a video",
    "image": "still image",
    "audio-aac": "audio only",
    "audio-pcm": "audio only",
    "corrupt-head": "corrupt",
    "corrupt-moov-header": "corrupt",
    "corrupt-moov-body": "corrupt",
    "truncated-mp4": "truncated",
    "zero-frames-avi": "zero frames",
    "zero-frames-mp4": "empty",
    "zero-frames-mkv": "empty",
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_input_raises_a_video_error_naming_file_and_reason(tmp_path, kind):
    path = make_bad(kind, tmp_path)
    with pytest.raises(VideoError) as probed:
        probe(path)
    err = probed.value
    assert err.path == str(path)
    assert str(err).startswith(f"{path}: ")
    assert BAD[kind] in err.reason, err.reason
    assert "\n" not in str(err)
    with pytest.raises(VideoError) as read:  # reading probes first: same verdict
        next(read_frames(path))
    assert read.value.reason == err.reason


# Cut off mid-stream with the index intact (a partial download): usable up to the cut.
PARTIAL = ["truncated-mp4-faststart", "truncated-mkv"]


@pytest.mark.parametrize("kind", PARTIAL)
def test_a_video_cut_off_mid_stream_is_read_up_to_the_cut(tmp_path, kind):
    path = make_bad(kind, tmp_path)
    info = probe(path)
    assert 0 < info.num_frames < 40
    assert info.missing.startswith("cut off mid-stream") and "missing" in info.missing and "\n" not in info.missing
    if kind.endswith("faststart"):  # the MP4 index declares every frame: the count of what is lost is exact
        assert f"{40 - info.num_frames} of its 40 frames" in info.missing
    else:  # Matroska declares its duration, not a frame count
        assert "s of its 1.60 s are missing" in info.missing
    frames = np.concatenate([b.frames for b in read_frames(path, info=info)])
    assert len(frames) == info.num_frames  # every whole packet decodes; nothing past the cut is invented
    whole = read_all(path.with_name("ok" + path.suffix))
    np.testing.assert_array_equal(frames, whole[: len(frames)])  # the same pictures as the intact file's


def test_a_video_cut_before_its_first_whole_frame_is_an_error(tmp_path):
    src = noise_video(tmp_path / "ok.mp4", faststart=True)
    data = src.read_bytes()
    mdat = data.index(b"mdat") + 4
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: mdat + 100])  # the index and 100 bytes of the first (key)frame
    with pytest.raises(VideoError, match="no readable frame"):
        probe(cut)


def test_probe_accepts_the_intact_sources_of_the_bad_inputs(tmp_path):
    """The corrupt/truncated cases above fail because of the damage, not the source file."""
    for path in (
        noise_video(tmp_path / "a.mp4"),
        noise_video(tmp_path / "b.mp4", faststart=True),
        noise_video(tmp_path / "c.mkv", codec="ffv1"),
    ):
        assert probe(path).num_frames == 40


def write_container(path: Path, codec: str, *, options: dict | None = None, fmt: str | None = None, target=None) -> None:
    with av.open(target if target is not None else str(path), "w", options=options or {}, format=fmt) as c:
        s = c.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(12):
            c.mux(s.encode(av.VideoFrame.from_ndarray(flat_frame(i), format="rgb24")))
        c.mux(s.encode(None))


def flat_frame(i: int) -> np.ndarray:
    return np.full((48, 64, 3), 16 + 10 * i, np.uint8)


class Unseekable(io.RawIOBase):
    """A write-only stream, as when recording to a pipe: Matroska then leaves sizes unknown."""

    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def seekable(self):
        return False

    def write(self, b):
        self.data += bytes(b)
        return len(b)


@pytest.mark.parametrize("kind", ["fragmented-mp4", "mov", "webm", "mpegts", "live-mkv", "zero-padded-mp4", "junk-tail-mp4"])
def test_valid_containers_pass_the_structure_checks(tmp_path, kind):
    """The truncation checks read MP4 boxes and Matroska sizes; these layouts must not trip them."""
    if kind == "fragmented-mp4":
        path = tmp_path / "frag.mp4"
        write_container(path, "libx264", options={"movflags": "frag_keyframe+empty_moov+default_base_moof"})
    elif kind == "mov":
        path = tmp_path / "clip.mov"
        write_container(path, "libx264")
    elif kind == "webm":
        path = tmp_path / "clip.webm"
        write_container(path, "libvpx-vp9")
    elif kind == "mpegts":
        path = tmp_path / "clip.ts"
        write_container(path, "libx264")
    elif kind in ("zero-padded-mp4", "junk-tail-mp4"):  # bytes after the last box, as some tools leave
        path = tmp_path / "tail.mp4"
        write_container(path, "libx264")
        tail = bytes(1024) if kind == "zero-padded-mp4" else b"\x7f\xff\xff\xffjunk" + bytes(range(256))
        path.write_bytes(path.read_bytes() + tail)
    else:
        path = tmp_path / "live.mkv"
        sink = Unseekable()
        write_container(path, "ffv1", fmt="matroska", target=sink)
        path.write_bytes(bytes(sink.data))
    assert probe(path).num_frames == 12
    assert len(read_all(path, height=24)) == 12


# --- VideoWriter --------------------------------------------------------------------------------


def test_writer_leaves_nothing_when_the_block_raises(tmp_path):
    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(path, fps=25, width=64, height=48) as w:
            w.write(np.zeros((3, 48, 64, 3), np.uint8))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_frames_of_the_wrong_size_and_leaves_nothing(tmp_path):
    path = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="48x64"):
        with VideoWriter(path, fps=25, width=64, height=48) as w:
            w.write(np.zeros((48, 60, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        with VideoWriter(path, fps=25, width=64, height=48) as w:
            w.write(np.zeros((48, 64, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_writer_with_an_unknown_codec_leaves_no_temporary_file(tmp_path):
    with pytest.raises(ValueError, match="no-such-codec") as failed:  # PyAV's UnknownCodecError
        with VideoWriter(tmp_path / "out.mp4", fps=25, width=64, height=48, codec="no-such-codec"):
            pass
    # Checked while the exception (and so the half-built writer) is still referenced.
    assert failed.value is not None and list(tmp_path.iterdir()) == []


def test_writer_failing_to_finish_the_file_leaves_nothing(tmp_path):
    class FlushFails:
        def __init__(self, stream):
            self.stream = stream

        def encode(self, frame=None):
            if frame is None:
                raise OSError("disk full while flushing")
            return self.stream.encode(frame)

    path = tmp_path / "out.mp4"
    with pytest.raises(OSError, match="disk full"):
        with VideoWriter(path, fps=25, width=64, height=48) as w:
            w.write(np.zeros((4, 48, 64, 3), np.uint8))
            w._stream = FlushFails(w._stream)  # fault injection at the encoder flush
    assert not path.exists()
    assert tmp_leftovers(tmp_path) == []


def test_writer_counts_frames_and_replaces_an_existing_file(make_video):
    path = make_video("v.mp4", n=5)
    with VideoWriter(path, fps=25, width=64, height=48) as w:
        w.write(np.stack([make_video.frame(i, 64, 48) for i in range(9)]))
        w.write(make_video.frame(9, 64, 48))
    assert w.frames_written == 10
    assert probe(path).num_frames == 10
    assert tmp_leftovers(path.parent) == []


@pytest.mark.parametrize("threads", [0, 1, 3])
def test_threaded_conversion_gives_the_same_frames_in_order(make_video, threads):
    path = make_video(n=23)
    ref = list(read_frames(path, height=24, chunk=5, threads=2))
    got = list(read_frames(path, height=24, chunk=5, threads=threads))
    assert [b.index.tolist() for b in got] == [b.index.tolist() for b in ref]
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a.frames, b.frames)
    assert [len(b.index) for b in got] == [5, 5, 5, 5, 3]


def test_stopping_early_leaves_no_thread_behind(make_video):
    import threading

    before = threading.active_count()
    gen = read_frames(make_video(n=40), chunk=4)
    next(gen)
    gen.close()
    assert threading.active_count() <= before


def _gop_video(path, factory, *, n: int, gop: int, bf: int = 2, width: int = 64, height: int = 48):
    """A frame-numbered H.264 video with a keyframe every ``gop`` frames (B-frames: ``bf``)."""
    with av.open(str(path), mode="w") as out:
        s = out.add_stream("libx264", rate=Fraction(25), options={
            "crf": "18", "preset": "veryfast", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "bf": str(bf)})
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        for i in range(n):
            out.mux(s.encode(av.VideoFrame.from_ndarray(factory.frame(i, width, height), format="rgb24")))
        out.mux(s.encode(None))
    return path


@pytest.mark.parametrize("start,end,step", [(100, 130, 1), (115, None, 3), (60, 61, 1), (49, 120, 7)])
def test_read_frames_late_start_seeks_and_is_byte_equal(make_video, tmp_path, monkeypatch, start, end, step):
    """A range late in a video starts at the keyframe before it (not at frame 0), with the same frames."""
    path = _gop_video(tmp_path / "gop.mp4", make_video, n=140, gop=20)
    full = np.concatenate([b.frames for b in read_frames(path, threads=0)])
    list(read_frames(path, start=60, end=61))  # the file's frame index (and its seek check) is built once per process
    decoded = []
    real_decode = av.container.InputContainer.decode

    def counting(self, *a, **k):
        for f in real_decode(self, *a, **k):
            decoded.append(f.pts)
            yield f

    monkeypatch.setattr(av.container.InputContainer, "decode", counting)
    got = [b for b in read_frames(path, start=start, end=end, step=step, threads=0)]
    idx = np.concatenate([b.index for b in got])
    np.testing.assert_array_equal(idx, np.arange(140)[start:end:step])
    np.testing.assert_array_equal(np.concatenate([b.frames for b in got]), full[start:end:step])
    key = (start // 20) * 20
    first = key if key >= 48 else 0  # koala.io.clip_reader.MIN_SEEK_GAP: nearer keyframes are decoded through
    assert len(decoded) <= (end or 140) - first + 8  # from the keyframe before start


def test_read_frames_with_no_keyframe_near_start_decodes_from_frame_0(make_video, tmp_path):
    """A start whose keyframe is frame 0 reads from frame 0, as before, with the same frames."""
    path = _gop_video(tmp_path / "gop.mp4", make_video, n=80, gop=100)
    full = np.concatenate([b.frames for b in read_frames(path)])
    got = np.concatenate([b.frames for b in read_frames(path, start=70)])
    np.testing.assert_array_equal(got, full[70:])
