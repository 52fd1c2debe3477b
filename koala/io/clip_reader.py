"""One decode of a video for many clips and many consumers: plan, one pass, hand each clip over.

Every per-clip stage needs some frames of each clip at its own size and rate: the scorer a grid of
samples at its analysis size, the caption backend flow pairs at its size, the VTSS models their
fragments' frames, the report one poster frame. Decoding each clip on its own from frame 0 costs
clips x video length; :func:`read_clips` costs one pass over the video instead:

- each :class:`ClipRequest` names the frame numbers it wants and the size it wants them at;
- the video is decoded once, front to back; where the next wanted frame lies past a keyframe far
  ahead, the pass seeks to that keyframe instead of decoding the gap (frame numbers stay exact:
  after a seek, a frame's number is the rank of its timestamp among the stream's packets);
- a decoded frame is converted once per size that some request wants it at (swscale area
  resize, on worker threads, exactly as :func:`koala.io.video.read_frames` does, so the pixels
  are byte-equal to that function's);
- a request is handed over (yielded as a :class:`ClipFrames`) as soon as its last wanted frame is
  converted, and its buffer is allocated only when its first frame arrives, so memory holds only
  the clips in flight.

A frame the stream does not deliver (a truncated file whose probe counted more packets than
decode) is left out of its clip's ``index``; the consumer decides what to do with a short clip.
"""

from __future__ import annotations

import dataclasses
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable, Iterator, Sequence

import av
import numpy as np

from koala.io.errors import VideoError
from koala.io.video import VideoInfo, _ffmpeg_reason, _open, _video_stream, output_size, probe

__all__ = ["ClipFrames", "ClipRequest", "DecodeStats", "Reading", "frame_index", "read_alone", "read_clips", "read_into"]

# Seek only when the keyframe before the next wanted frame lies at least this many frames past the
# current one (ours): a seek flushes the decoder and restarts its threads, which costs about as
# much as decoding a few dozen 720p frames.
MIN_SEEK_GAP = 48


@dataclass(frozen=True)
class ClipRequest:
    """The frames one consumer wants from one clip, at one size.

    Attributes:
        key: any hashable value, handed back with the frames (e.g. ``("score", clip_id)``).
        frames: wanted frame numbers (counted from 0 in decode order); sorted and de-duplicated here.
        height, width: output size as in :func:`koala.io.video.output_size`; neither = full size.
        sink: when given, each frame is passed to ``sink(frame_number, frame)`` as it is converted
            instead of being kept (a consumer that reduces frames as they pass, e.g. into VTSS
            fragment mosaics, then holds only its reduction); the handed-over
            :class:`ClipFrames` then has no ``frames``, only the ``index`` of those delivered.
    """

    key: Hashable
    frames: np.ndarray
    height: int | None = None
    width: int | None = None
    sink: Callable[[int, np.ndarray], None] | None = None


@dataclass
class ClipFrames:
    """A request's decoded frames, handed over once its last wanted frame has passed."""

    key: Hashable
    wanted: np.ndarray  # (n,) int64, the sorted wanted frame numbers
    index: np.ndarray  # (k,) int64, the ones decoded (k < n only when the stream ended early)
    frames: np.ndarray  # (k, H, W, 3) uint8 RGB, upright; (0, H, W, 3) for a request with a sink

    @property
    def complete(self) -> bool:
        return len(self.index) == len(self.wanted)


@dataclass
class DecodeStats:
    """What a :func:`read_clips` pass did (filled in while it runs; for benchmarks and summaries)."""

    decoded: int = 0  # frames that came out of the decoder
    converted: int = 0  # frame conversions (one per frame and wanted size)
    seeks: int = 0
    restarts: int = 0  # seeks that landed somewhere unexpected, so the pass went on sequentially


@dataclass(frozen=True)
class FrameIndex:
    """Where each frame of a stream lies: packet timestamps in presentation order, and keyframes."""

    pts: np.ndarray  # (num_frames,) int64, sorted: frame i has timestamp pts[i]
    keyframes: np.ndarray  # (k,) int64 frame numbers of keyframes, sorted
    seekable: bool  # every packet has a distinct timestamp, so frame numbers survive a seek (see also seek_verified)


def frame_index(container: av.container.InputContainer, stream) -> FrameIndex:
    """Demux (no decoding) every packet of ``stream`` to learn each frame's timestamp and the keyframes."""
    pts, key = [], []
    for packet in container.demux(stream):
        if not packet.size:
            continue
        pts.append(packet.pts)
        key.append(bool(packet.is_keyframe))
    container.seek(0)
    if not pts or any(p is None for p in pts):
        return FrameIndex(np.zeros(0, np.int64), np.zeros(0, np.int64), False)
    arr = np.asarray(pts, np.int64)
    order = np.argsort(arr, kind="stable")
    sorted_pts = arr[order]
    rank = np.empty(len(arr), np.int64)
    rank[order] = np.arange(len(arr))
    keyframes = np.sort(rank[np.asarray(key, bool)])
    distinct = bool(len(np.unique(sorted_pts)) == len(sorted_pts))
    return FrameIndex(sorted_pts, keyframes, distinct and len(keyframes) > 0)


_SEEK_OK: dict[tuple, bool] = {}  # (path, size, mtime) -> whether seeking in it decodes true pixels


def seek_verified(path: Path, index: FrameIndex) -> bool:
    """:func:`seek_decodes_true` for ``path``, once per process per file version, checked only when a
    reader is about to seek (a file read front to back never pays for it)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SEEK_OK:
        _SEEK_OK[key] = seek_decodes_true(path, index.pts, index.keyframes)
    return _SEEK_OK[key]


def seek_decodes_true(path: str | os.PathLike, pts: np.ndarray, keyframes: np.ndarray) -> bool:
    """Whether a freshly opened decoder that seeks to a keyframe decodes it as a front-to-back pass does.

    Not every stream allows it: in one real H.264 4:4:4 file of the corpus (``cockatoo.mp4``) an IDR
    frame decoded right after a seek differs from the same frame decoded in sequence by about 90
    grey levels, though its timestamp is right. So the first keyframe a reader would seek to (one
    at least :data:`MIN_SEEK_GAP` frames in) is decoded both ways, by a second decoder opened on
    the same file, and must come out equal; it costs one decode up to that keyframe, once per file
    and process. True when no keyframe is far enough in to be sought.
    """
    far = keyframes[keyframes >= MIN_SEEK_GAP]
    if not len(far):
        return True
    k = int(far[0])
    name = str(path)
    try:
        with av.open(name) as seq, av.open(name) as fresh:
            s_seq, s_fresh = seq.streams.video[0], fresh.streams.video[0]  # the stream _video_stream reads
            s_seq.thread_type = s_fresh.thread_type = "AUTO"
            want = None
            for i, frame in enumerate(seq.decode(s_seq)):
                if i == k:
                    want = frame.to_ndarray(format="gray")
                    break
            fresh.seek(int(pts[k]), stream=s_fresh, backward=True)
            got = next(fresh.decode(s_fresh), None)
            return (want is not None and got is not None and int(got.pts) == int(pts[k])
                    and np.array_equal(got.to_ndarray(format="gray"), want))
    except (av.FFmpegError, StopIteration, ValueError):
        return False


_INDEX_CACHE: dict[tuple, FrameIndex] = {}  # (path, size, mtime) -> its index; a few videos per process


def cached_frame_index(path: Path, container: av.container.InputContainer, stream) -> FrameIndex:
    """:func:`frame_index`, once per process per file version: a long video read in many work items
    (each a run of its clips) would otherwise be demuxed whole by every item, which grows as
    items x length."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _INDEX_CACHE:
        if len(_INDEX_CACHE) >= 8:
            _INDEX_CACHE.pop(next(iter(_INDEX_CACHE)))
        _INDEX_CACHE[key] = frame_index(container, stream)
    return _INDEX_CACHE[key]


class _Slot:
    """A request in flight: its buffer (allocated at its first frame) and what has arrived."""

    __slots__ = ("req", "wanted", "pos", "buf", "got", "shape")

    def __init__(self, req: ClipRequest, wanted: np.ndarray, shape: tuple[int, int]):
        self.req, self.wanted, self.shape = req, wanted, shape
        self.pos = {int(f): k for k, f in enumerate(wanted)}
        self.buf: np.ndarray | None = None
        self.got: list[int] = []

    def put(self, i: int, arr: np.ndarray) -> None:
        self.got.append(i)
        if self.req.sink is not None:
            self.req.sink(i, arr)
            return
        if self.buf is None:
            self.buf = np.empty((len(self.wanted), *arr.shape), np.uint8)  # (n, H, W, 3)
        self.buf[self.pos[i]] = arr

    def done(self) -> ClipFrames:
        idx = np.asarray(self.got, np.int64)
        h, w = self.shape
        if self.buf is None:
            frames = np.zeros((0, h, w, 3), np.uint8)
        elif len(idx) == len(self.wanted):
            frames = self.buf
        else:  # the stream ended early: keep the slots that were filled
            frames = self.buf[[self.pos[int(i)] for i in idx]]
        self.buf = None
        return ClipFrames(key=self.req.key, wanted=self.wanted, index=idx, frames=frames)


def read_clips(
    path: str | os.PathLike,
    requests: Sequence[ClipRequest],
    *,
    info: VideoInfo | None = None,
    threads: int = 2,
    seek: bool = True,
    min_seek_gap: int = MIN_SEEK_GAP,
    stats: DecodeStats | None = None,
) -> Iterator[ClipFrames]:
    """Decode ``path`` once and yield every request's frames as soon as its last frame has passed.

    Requests come back in the order their last wanted frame is reached (ties: request order);
    requests with no wanted frames come back first. Frame numbers and pixels are those of
    :func:`koala.io.video.read_frames` for the same frames and size.

    Args:
        path: the video file.
        requests: what each clip and consumer wants (keys must be unique).
        info: a previous :func:`koala.io.video.probe` result, to skip probing again.
        threads: conversion threads; 0 converts in line.
        seek: jump to a keyframe over long gaps between wanted frames (False decodes every frame
            from frame 0, as ``read_frames`` does).
        min_seek_gap: frames between the current frame and the next wanted frame's keyframe
            below which the pass decodes through the gap instead of seeking.
        stats: filled with frames decoded and converted, seeks and restarts.

    Raises:
        VideoError: the file cannot be opened or decoding fails part way.
        ValueError: two requests share a key.
    """
    path = Path(path)
    info = info or probe(path)
    stats = stats if stats is not None else DecodeStats()
    keys = [r.key for r in requests]
    if len(set(keys)) != len(keys):
        raise ValueError("read_clips: request keys must be unique")
    k_rot = (info.rotation // 90) % 4

    # Plan: per wanted frame, the sizes it is converted at and the requests each size feeds.
    slots: list[_Slot] = []
    at: dict[int, dict[tuple[int, int], list[int]]] = {}
    last_of: dict[int, list[int]] = {}  # last wanted frame -> requests that end there
    for r in requests:
        wanted = np.unique(np.asarray(r.frames, np.int64))
        out = output_size(info, height=r.height, width=r.width)  # (w, h)
        s = len(slots)
        slots.append(_Slot(r, wanted, (out[1], out[0])))
        if not len(wanted):
            continue
        for f in wanted.tolist():
            at.setdefault(f, {}).setdefault(out, []).append(s)
        last_of.setdefault(int(wanted[-1]), []).append(s)
    for s in slots:
        if not len(s.wanted):
            yield s.done()
    if not at:
        return
    needed = np.fromiter(sorted(at), np.int64, len(at))
    open_ = set(range(len(slots))) - {i for i, s in enumerate(slots) if not len(s.wanted)}

    def convert(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:
        out_w, out_h = size
        dec_w, dec_h = (out_h, out_w) if k_rot % 2 else (out_w, out_h)  # decode size before rotation
        # threads=1: the callers convert several frames at once on their own threads; PyAV >= 17's own
        # swscale threads on top of them cost more than they give and can deadlock beside FFmpeg's frame threads
        arr = frame.to_ndarray(width=dec_w, height=dec_h, format="rgb24", interpolation="AREA", threads=1)
        return np.ascontiguousarray(np.rot90(arr, k=k_rot)) if k_rot else arr

    def convert_all(frame: av.VideoFrame, sizes: list[tuple[int, int]]) -> list[np.ndarray]:
        # One job per frame, its sizes in turn: a frame keeps one swscale context, and two threads
        # converting the same frame at once crash inside libswscale (seen with several consumers).
        return [convert(frame, size) for size in sizes]

    def frames(container, stream, index: FrameIndex) -> Iterator[tuple[int, av.VideoFrame]]:
        """(frame number, frame) for every wanted frame, seeking over long gaps."""
        can_seek = seek and index.seekable
        rank = {int(p): i for i, p in enumerate(index.pts)} if can_seek else {}

        def keyframe_before(f: int) -> int:
            return int(index.keyframes[max(0, int(np.searchsorted(index.keyframes, f, "right")) - 1)])

        nxt = 0  # position in ``needed`` of the next wanted frame
        cur = -1  # the highest frame number handled so far
        num = -1  # the number of the last decoded frame
        gen = container.decode(stream)
        landed = False  # True right after a seek, until the first frame tells where it landed
        while True:
            if can_seek and keyframe_before(int(needed[nxt])) > max(num, cur) + min_seek_gap and not seek_verified(path, index):
                can_seek = False  # a seek would decode wrong pixels here: read front to back
            if can_seek and keyframe_before(int(needed[nxt])) > max(num, cur) + min_seek_gap:
                container.seek(int(index.pts[keyframe_before(int(needed[nxt]))]), stream=stream, backward=True)
                stats.seeks += 1
                gen, landed = container.decode(stream), True
            jump = False
            for frame in gen:
                stats.decoded += 1
                if landed:
                    num = rank.get(int(frame.pts), -1) if frame.pts is not None else -1
                    landed = False
                    if num < 0 or num > needed[nxt]:  # landed nowhere known: go on sequentially from frame 0
                        stats.restarts += 1
                        can_seek = False
                        container.seek(0)
                        gen, num = container.decode(stream), -1
                        jump = True
                        break
                else:
                    num += 1
                if num <= cur:
                    continue
                cur = num
                if num == needed[nxt]:
                    yield num, frame
                    nxt += 1
                    if nxt == len(needed):
                        return
                    if can_seek and keyframe_before(int(needed[nxt])) > num + min_seek_gap:
                        jump = True
                        break  # the loop above seeks
            if not jump:
                return  # the stream ended

    def place(i: int, size: tuple[int, int], arr: np.ndarray) -> list[ClipFrames]:
        stats.converted += 1
        for s in at[i][size]:
            slots[s].put(i, arr)
        done = []
        if size == next(reversed(at[i])):  # the last size of frame i: the clips ending here are complete
            for s in last_of.get(i, ()):
                open_.discard(s)
                done.append(slots[s].done())
            del at[i]
        return done

    pool = ThreadPoolExecutor(threads) if threads > 0 else None
    pending: deque = deque()
    last = -1
    try:
        with _open(path) as container:
            stream = _video_stream(container, path)
            index = cached_frame_index(path, container, stream) if seek else FrameIndex(np.zeros(0, np.int64), np.zeros(0, np.int64), False)
            for last, frame in frames(container, stream, index):
                sizes = list(at[last])
                if pool is None:
                    for size, arr in zip(sizes, convert_all(frame, sizes)):
                        yield from place(last, size, arr)
                else:
                    pending.append((last, sizes, pool.submit(convert_all, frame, sizes)))
                while len(pending) > 2 * threads:
                    i, sizes, job = pending.popleft()
                    for size, arr in zip(sizes, job.result()):
                        yield from place(i, size, arr)
            while pending:
                i, sizes, job = pending.popleft()
                for size, arr in zip(sizes, job.result()):
                    yield from place(i, size, arr)
    except av.FFmpegError as exc:
        raise VideoError(path, f"decoding failed after frame {last} ({_ffmpeg_reason(exc)})") from None
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    for s in sorted(open_, key=lambda s: (int(slots[s].wanted[-1]), s)):  # the stream ended before their last frame
        yield slots[s].done()


@dataclass
class Reading:
    """One consumer's share of a pass over a video: what it wants, and what it does with each clip.

    A per-clip stage builds its reading from its work item (its plan of frames and sizes, e.g.
    :func:`koala.metrics.stage.score_reading`); :func:`read_into` then serves one reading or several
    from a single decode. ``take`` is called with each of the reading's requests as it is handed
    over (its own keys, not the pass's); ``result`` gives the stage's rows once the pass is over.
    """

    requests: list[ClipRequest]
    take: Callable[[ClipFrames], None]
    result: Callable[[], object]


def read_into(path: str | os.PathLike, readings: Sequence[Reading], *, info: VideoInfo | None = None,
              isolate: bool = False, stats: DecodeStats | None = None) -> list[BaseException | None]:
    """Serve every reading from one :func:`read_clips` pass over ``path``.

    Args:
        isolate: a reading whose ``take`` raises is dropped (its exception returned in its slot) and
            the pass goes on for the others; otherwise the exception propagates, as when a stage reads
            alone.

    Returns:
        Per reading, None or the exception that stopped it (only with ``isolate``).

    Raises:
        VideoError: the video cannot be read (for every reading: nothing of the pass is usable).
    """
    failed: list[BaseException | None] = [None] * len(readings)
    requests = [dataclasses.replace(r, key=(k, r.key)) for k, rd in enumerate(readings) for r in rd.requests]
    for got in read_clips(path, requests, info=info, stats=stats):
        k, key = got.key
        if failed[k] is not None:
            continue
        got.key = key
        try:
            readings[k].take(got)
        except Exception as exc:  # noqa: BLE001 - isolated: that reading's failure, the others go on
            if not isolate:
                raise
            failed[k] = exc
    return failed


def read_alone(path: str | os.PathLike, reading: Callable[[VideoInfo], Reading], *, info: VideoInfo | None = None):
    """One stage reading a video by itself: ``reading(info)`` builds its share, one pass serves it, its result.

    Raises:
        VideoError: the video cannot be probed or read; whatever the reading raises.
    """
    info = info or probe(path)
    rd = reading(info)
    read_into(path, [rd], info=info)
    return rd.result()
