"""Video reading: probe a file, then stream its frames at a reduced size.

PyAV (FFmpeg) is the one decoder here: it reads every container FFmpeg reads, exposes the
display matrix (rotation) and per-frame timestamps (variable frame rate), and its swscale
resize during RGB conversion is the cheapest route to analysis-sized frames. Frames are
counted from 0 in decode (presentation) order and are returned upright, as a player shows them.

Every failure is a :class:`VideoError` that names the file and says what is wrong with it.
"""

from __future__ import annotations

import functools

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

import av
import numpy as np

from koala.io.containers import check_structure
from koala.io.errors import VideoError

__all__ = ["FrameBatch", "VideoError", "VideoInfo", "output_size", "probe", "read_all", "read_frames"]

# Frame-interval spread above which a stream is called variable-frame-rate: the ratio of the
# 95th to the 5th percentile of packet-timestamp gaps (ours; constant-rate streams give 1.0).
VFR_SPREAD = 1.5


@dataclass(frozen=True)
class VideoInfo:
    """What a probe learns about a video without decoding it all."""

    path: str
    fps: float  # average frames per second (frames / span of timestamps for VFR streams)
    num_frames: int
    width: int  # display size, after rotation
    height: int
    duration_sec: float
    rotation: int  # display-matrix rotation, degrees counter-clockwise (0, 90, 180, 270)
    variable_frame_rate: bool
    codec: str
    # Empty for a whole file. For one cut off mid-stream (index intact): how much is missing;
    # num_frames then counts the frames that are there, and readers stop where the data ends.
    missing: str = ""

    def as_row(self) -> dict:
        return asdict(self)


class FrameBatch(NamedTuple):
    """A run of decoded frames and their indices in the video."""

    index: np.ndarray  # (n,) int64 frame numbers
    frames: np.ndarray  # (n, H, W, 3) uint8 RGB, upright


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(path, "no such file")
    if path.is_dir():
        raise VideoError(path, "is a directory, not a video file")
    if path.stat().st_size == 0:
        raise VideoError(path, "empty file (0 bytes)")
    try:
        return av.open(str(path))
    except av.EOFError as exc:
        raise VideoError(path, f"the file ends before any video data: truncated, or an empty container ({_ffmpeg_reason(exc)})") from None
    except av.FFmpegError as exc:
        raise VideoError(path, f"not a readable video container: corrupt, or not a video file ({_ffmpeg_reason(exc)})") from None


def _ffmpeg_reason(exc: Exception) -> str:
    msg = getattr(exc, "strerror", None) or str(exc)
    return msg.split(": '")[0].strip()


# Codecs of FFmpeg's text-mode art demuxers (tty, bintext, xbin, idf): FFmpeg renders any
# ``.txt``/``.nfo`` file as "video" with them, but no such file is a video.
_TEXT_CODECS = frozenset({"ansi", "bintext", "xbin", "idf"})


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        if container.streams.audio:
            raise VideoError(path, "no video stream (audio only)")
        if not len(container.streams):
            raise VideoError(path, "no streams at all: an empty, corrupt or truncated container (no readable stream index)")
        raise VideoError(path, "no video stream")
    stream = container.streams.video[0]
    name = stream.codec_context.name
    if name in _TEXT_CODECS or container.format.name == "tty":
        raise VideoError(path, f"a text file, not a video (FFmpeg would render it as '{name}' text art)")
    if container.format.name.endswith("_pipe") or container.format.name == "image2":
        raise VideoError(path, f"a still image ({name}), not a video")
    stream.thread_type = "AUTO"
    return stream


def cached_probe(path: str | os.PathLike) -> VideoInfo:
    """:func:`probe`, once per process per file version (size, mtime): the work items of one long
    video (runs of its clips) would otherwise each demux the whole file again."""
    p = Path(path)
    st = p.stat() if p.exists() else None
    return _probe_once(str(path), st.st_size if st else -1, st.st_mtime_ns if st else -1)


@functools.lru_cache(maxsize=64)
def _probe_once(path: str, size: int, mtime_ns: int) -> VideoInfo:
    return probe(path)


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a video's frame count, rate, size and rotation, and check that it decodes.

    Demuxes every packet (cheap: no decoding) to count frames and measure timestamp gaps, and
    decodes the first frame to prove the stream is readable and to read its rotation. A file cut
    off mid-stream with its index intact (a partial download) is usable up to the cut: its
    ``num_frames`` counts the whole packets that are there and ``missing`` says what is not.

    Raises:
        VideoError: missing, empty, non-video, audio-only, corrupt, zero-frame file, or one
            truncated so that no frame (or no index) is left.
    """
    path = Path(path)
    cut = check_structure(path) if path.is_file() and path.stat().st_size else None
    with _open(path) as container:
        stream = _video_stream(container, path)
        declared = int(stream.frames or 0)
        size = path.stat().st_size
        pts: list[int] = []
        ended_early = ""  # why demuxing stopped before the container's end, if it did
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                beyond = packet.pos is not None and packet.pos >= 0 and packet.pos + packet.size > size
                if beyond or (packet.is_corrupt and cut is not None):
                    ended_early = f"a packet is cut off at frame {len(pts)}"
                    break  # the data ends inside this packet: it and everything after are missing
                pts.append(packet.pts if packet.pts is not None else len(pts))
        except av.FFmpegError as exc:
            if cut is None and not pts:
                raise VideoError(path, f"corrupt or truncated: demuxing failed after {len(pts)} frames ({_ffmpeg_reason(exc)})") from None
            ended_early = f"demuxing failed after {len(pts)} frames ({_ffmpeg_reason(exc)})"
        if not pts:
            if cut is not None or ended_early:
                raise VideoError(path, f"truncated before its first whole frame: no readable frame is left ({cut.describe() if cut else ended_early})")
            raise VideoError(path, "zero frames: the video stream holds no pictures")
        if cut is None and ended_early and not declared:
            raise VideoError(path, f"corrupt or truncated: {ended_early}")
        first = None
        try:
            container.seek(0)
            for frame in container.decode(stream):
                first = frame
                break
        except av.FFmpegError as exc:
            raise VideoError(path, f"corrupt: the first frame does not decode ({_ffmpeg_reason(exc)})") from None
        if first is None:
            raise VideoError(path, "zero decodable frames")
        rotation = int(round(first.rotation or 0)) % 360
        n = len(pts)
        fps, vfr = _rate(np.sort(np.asarray(pts, dtype=np.int64)), stream)
        if not fps or not np.isfinite(fps) or fps <= 0:
            raise VideoError(path, "no usable frame rate in the stream")
        # A sparse stream (an AVI that skips ticks for repeated pictures) declares its length in ticks: its
        # last timestamp still reaches the end, where a file cut off stops short of it.
        sparse = bool(stream.duration) and declared > 0 and max(pts) >= 0.95 * (stream.duration - stream.duration / declared)
        missing = _missing(cut, declared=0 if sparse else declared, present=n, fps=fps, container=container,
                           ended_early=ended_early)
        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            path=str(path),
            fps=float(fps),
            num_frames=n,
            width=int(width),
            height=int(height),
            duration_sec=float(n / fps),
            rotation=rotation,
            variable_frame_rate=vfr,
            codec=stream.codec_context.name,
            missing=missing,
        )


def _missing(cut, *, declared: int, present: int, fps: float, container, ended_early: str) -> str:
    """How much of a video cut off mid-stream is missing, in frames and seconds where known; "" if whole."""
    if cut is None and not ended_early and not (declared and present < declared):
        return ""
    if declared and present < declared:
        lost = declared - present
        amount = f"{lost} of its {declared} frames ({lost / fps:.2f} s of {declared / fps:.2f} s) are missing"
    elif container.duration:  # Matroska and others: the declared duration, in microseconds
        total = container.duration / 1e6
        amount = f"about {max(0.0, total - present / fps):.2f} s of its {total:.2f} s are missing"
    else:
        amount = "how many frames are missing is unknown (the container declares no frame count or duration)"
    where = cut.describe() if cut is not None else ended_early or "the container declares more frames than it holds"
    return f"cut off mid-stream: {amount}; {where}; only its first {present} frames are used"


def _rate(pts: np.ndarray, stream) -> tuple[float, bool]:
    """Average fps and a VFR flag from sorted packet timestamps."""
    nominal = float(stream.average_rate or stream.guessed_rate or 0)
    if len(pts) < 3 or stream.time_base is None:
        return nominal, False
    gaps = np.diff(pts).astype(np.float64)
    gaps = gaps[gaps > 0]
    if len(gaps) < 2:
        return nominal, False
    lo, hi = np.percentile(gaps, [5, 95])
    vfr = bool(hi / lo > VFR_SPREAD)
    span = (pts[-1] - pts[0]) * float(stream.time_base)
    measured = (len(pts) - 1) / span if span > 0 else nominal
    return (measured if vfr or not nominal else nominal), vfr


def output_size(info: VideoInfo, *, height: int | None = None, width: int | None = None) -> tuple[int, int]:
    """(width, height) of frames decoded at a reduced size, keeping the display aspect.

    With only ``height`` the width follows the aspect, rounded to an even number; with both,
    frames are resized to exactly that (aspect not kept, as the paper's 256x256 features do).
    """
    if height is None and width is None:
        return info.width, info.height
    if height is not None and width is not None:
        return int(width), int(height)
    if height is not None:
        w = max(2, int(round(height * info.width / info.height / 2)) * 2)
        return w, int(height)
    h = max(2, int(round(width * info.height / info.width / 2)) * 2)
    return int(width), h


def read_frames(
    path: str | os.PathLike,
    *,
    height: int | None = None,
    width: int | None = None,
    start: int = 0,
    end: int | None = None,
    step: int = 1,
    chunk: int = 32,
    threads: int = 2,
    info: VideoInfo | None = None,
    fast: bool = False,
    interpolation: str = "AREA",
) -> Iterator[FrameBatch]:
    """Stream upright RGB frames ``start:end:step`` in chunks, resized during conversion.

    Memory holds about one chunk at a time, whatever the video's length. Frames before
    ``start`` are decoded and dropped, so indices are exact (seeking lands on keyframes only).
    The resize and RGB conversion (swscale, which releases the GIL) run on ``threads`` worker
    threads while the decoder goes on: on 2 cores this is about 30 % faster than converting
    in line, and close to the cost of decoding alone.

    Args:
        path: the video file.
        height, width: analysis size (see :func:`output_size`); neither means full size.
        start, end, step: frame range, counted from 0 in decode order; ``end`` exclusive.
        chunk: frames per yielded batch.
        threads: conversion threads; 0 converts in line.
        info: a previous :func:`probe` result, to skip probing again.
        fast: skip the decoder's in-loop deblocking filter (H.264, HEVC, VP9): about 15 % less
            decoding CPU; the pictures drift from the exact ones by under a grey level on average,
            which a detector working on small thumbnails does not see. For analysis, never for output.
        interpolation: swscale's resize filter (``AREA``, ``BILINEAR``, ``FAST_BILINEAR``, ...).

    Raises:
        VideoError: the file cannot be opened or decoding fails part way.
    """
    path = Path(path)
    info = info or probe(path)
    out_w, out_h = output_size(info, height=height, width=width)
    k = (info.rotation // 90) % 4
    # Decode size before rotation: a 90/270 rotation swaps the axes.
    dec_w, dec_h = (out_h, out_w) if k % 2 else (out_w, out_h)

    def convert(frame: av.VideoFrame) -> np.ndarray:
        # threads=1: the callers convert several frames at once on their own threads; PyAV >= 17's own
        # swscale threads on top of them cost more than they give and can deadlock beside FFmpeg's frame threads
        arr = frame.to_ndarray(width=dec_w, height=dec_h, format="rgb24", interpolation=interpolation, threads=1)
        return np.ascontiguousarray(np.rot90(arr, k=k)) if k else arr

    stop = info.num_frames if info.missing else end  # a cut-off file: no frame past its whole packets
    if stop is not None and end is not None:
        stop = min(stop, end)

    def wanted(container) -> Iterator[tuple[int, av.VideoFrame]]:
        stream = _video_stream(container, path)
        if fast:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        if info.missing:
            numbered = enumerate(_partial_decode(container, stream, path.stat().st_size))
        else:
            numbered = _decode_from(container, stream, path, start)
        for i, frame in numbered:
            if stop is not None and i >= stop:
                return
            if i >= start and not (i - start) % step:
                yield i, frame

    def converted(container, pool) -> Iterator[tuple[int, np.ndarray]]:
        """Frames in decode order; up to 2 x threads of them in conversion at once."""
        if pool is None:
            yield from ((i, convert(f)) for i, f in wanted(container))
            return
        pending: deque = deque()
        for i, frame in wanted(container):
            pending.append((i, pool.submit(convert, frame)))
            if len(pending) >= 2 * threads:
                j, job = pending.popleft()
                yield j, job.result()
        while pending:
            j, job = pending.popleft()
            yield j, job.result()

    idx_buf: list[int] = []
    frame_buf: list[np.ndarray] = []
    last = -1  # the last frame converted, named if decoding fails later
    pool = ThreadPoolExecutor(threads) if threads > 0 else None
    try:
        with _open(path) as container:
            for last, arr in converted(container, pool):
                idx_buf.append(last)
                frame_buf.append(arr)
                if len(frame_buf) == chunk:
                    yield FrameBatch(np.asarray(idx_buf, dtype=np.int64), np.stack(frame_buf))
                    idx_buf, frame_buf = [], []
    except av.FFmpegError as exc:
        raise VideoError(path, f"decoding failed after frame {last} ({_ffmpeg_reason(exc)})") from None
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if frame_buf:
        yield FrameBatch(np.asarray(idx_buf, dtype=np.int64), np.stack(frame_buf))


def _decode_from(container, stream, path: Path, start: int) -> Iterator[tuple[int, av.VideoFrame]]:
    """(frame number, frame) from the last keyframe at or before frame ``start`` to the end.

    Seeks there when the keyframe lies far enough ahead to pay for a seek (a clip late in a long
    video is then not decoded from frame 0). Frame numbers stay exact: the keyframe's number is the
    rank of its timestamp among the stream's packets (:func:`koala.io.clip_reader.cached_frame_index`,
    one demux per file and process). Where timestamps are missing or repeated, where a seek would
    decode wrong pixels (:func:`koala.io.clip_reader.seek_verified`), or where the decoder does not
    land on the keyframe, decoding starts at frame 0 as without the seek.
    """
    from koala.io.clip_reader import MIN_SEEK_GAP, cached_frame_index, seek_verified

    index = cached_frame_index(path, container, stream) if start >= MIN_SEEK_GAP else None
    if index is not None and index.seekable:
        key = int(index.keyframes[max(0, int(np.searchsorted(index.keyframes, start, "right")) - 1)])
        if key >= MIN_SEEK_GAP and seek_verified(path, index):
            container.seek(int(index.pts[key]), stream=stream, backward=True)
            frames = container.decode(stream)
            first = next(frames, None)
            if first is not None and first.pts == int(index.pts[key]):
                yield key, first
                yield from enumerate(frames, start=key + 1)
                return
            container.seek(0)  # landed elsewhere: decode from the start
    yield from enumerate(container.decode(stream))


def _partial_decode(container, stream, size: int) -> Iterator[av.VideoFrame]:
    """Decode a file of ``size`` bytes cut off mid-stream: whole packets only, then flush the decoder."""
    try:
        for packet in container.demux(stream):
            if packet.size and (packet.is_corrupt or (packet.pos is not None and packet.pos >= 0
                                                      and packet.pos + packet.size > size)):
                break
            yield from packet.decode()  # the final empty packet flushes the decoder
        else:
            return
        yield from stream.codec_context.decode(None)  # stopped at the cut: flush what is buffered
    except av.FFmpegError:
        return  # the data ends here; the frames before it were given


def read_all(path: str | os.PathLike, **kwargs) -> np.ndarray:
    """All requested frames as one (n, H, W, 3) array; for short clips only."""
    batches = [b.frames for b in read_frames(path, **kwargs)]
    if not batches:
        raise VideoError(path, "no frames in the requested range")
    return np.concatenate(batches)
