"""Cut one clip out of its source video as its own file: stream copy on keyframes, else re-encode.

A cut whose first frame is a keyframe and whose end is the next GOP's keyframe (or the end of
the stream) is a run of whole closed GOPs, so its packets can be copied as they are: no quality
loss, no decoding. Any other cut would start on a frame that needs earlier frames to decode, or
end inside a GOP whose B-frames need a later one, so it is decoded and re-encoded with x264
(``crf``). :func:`cut` says which it did; the export and materialize tables carry that word.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import av
import numpy as np
import pandas as pd

from koala.config import CurateConfig, EngineConfig
from koala.engine import code_version, map_items
from koala.io.atomic import atomic_path
from koala.io.errors import VideoError
from koala.io.video import probe, read_frames
from koala.io.writer import VideoWriter

log = logging.getLogger(__name__)

COPY, REENCODE = "copy", "reencode"


@dataclass(frozen=True)
class PacketIndex:
    """Presentation timestamps of a video's frames in display order, and which start a GOP."""

    pts: np.ndarray  # (n,) int64, sorted: frame i (counted from 0 in display order) has pts[i]
    keyframe: np.ndarray  # (n,) bool
    time_base: float = 0.0  # seconds per pts tick (0: unknown)

    def seconds(self) -> np.ndarray:
        """(n,) display time of each frame in seconds from the first frame (empty when the time base is unknown)."""
        if not self.time_base or not len(self.pts):
            return np.zeros(0)
        return (self.pts - self.pts[0]) * self.time_base


def packet_index(path: str) -> PacketIndex:
    """Demux (no decoding) the video stream's packets: their timestamps and keyframe flags.

    Raises:
        VideoError: the file cannot be opened.
    """
    try:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            time_base = float(stream.time_base) if stream.time_base else 0.0
            pts, key = [], []
            for pkt in c.demux(stream):
                if pkt.pts is None or pkt.size == 0:
                    continue
                pts.append(int(pkt.pts))
                key.append(bool(pkt.is_keyframe))
    except (av.FFmpegError, IndexError) as exc:
        raise VideoError(path, f"cannot read its packets ({exc})") from None
    order = np.argsort(np.asarray(pts, np.int64), kind="stable")
    return PacketIndex(pts=np.asarray(pts, np.int64)[order], keyframe=np.asarray(key, bool)[order], time_base=time_base)


@lru_cache(maxsize=64)
def _cached_index(path: str, size: int, mtime_ns: int) -> PacketIndex:
    return packet_index(path)


def cached_index(path: str) -> PacketIndex:
    st = Path(path).stat()
    return _cached_index(str(path), st.st_size, st.st_mtime_ns)


def can_copy(index: PacketIndex, start: int, end: int) -> bool:
    """True when frames [start, end) are whole GOPs: a keyframe at ``start`` and at ``end`` (or the stream ends)."""
    n = len(index.pts)
    return 0 <= start < end <= n and bool(index.keyframe[start]) and (end == n or bool(index.keyframe[end]))


def _copy(src: str, dst: Path, index: PacketIndex, start: int, end: int) -> int:
    """Remux the packets of frames [start, end) into ``dst``, timestamps shifted to start at 0; returns packets written."""
    lo = int(index.pts[start])
    hi = int(index.pts[end]) if end < len(index.pts) else None
    written = 0
    with av.open(src) as c, atomic_path(dst) as tmp:
        stream = c.streams.video[0]
        with av.open(str(tmp), "w") as out:
            ostream = out.add_stream_from_template(stream)
            for pkt in c.demux(stream):
                if pkt.pts is None or pkt.size == 0:
                    continue
                if pkt.pts < lo or (hi is not None and pkt.pts >= hi):
                    continue
                pkt.pts -= lo
                if pkt.dts is not None:
                    pkt.dts -= lo
                pkt.stream = ostream
                out.mux(pkt)
                written += 1
    return written


def _reencode(src: str, dst: Path, start: int, end: int, *, crf: int) -> int:
    info = probe(src)
    with VideoWriter(dst, fps=info.fps, width=info.width - info.width % 2, height=info.height - info.height % 2, crf=crf) as w:
        for batch in read_frames(src, start=start, end=end, info=info):
            w.write(batch.frames[:, : info.height - info.height % 2, : info.width - info.width % 2])
        n = w.frames_written
    if n == 0:
        raise VideoError(src, f"no frames decoded in {start}:{end}")
    return n


def cut(src: str, dst: str | Path, start: int, end: int, *, crf: int = 18) -> str:
    """Write frames [start, end) of ``src`` to ``dst`` (atomically); returns ``"copy"`` or ``"reencode"``.

    Raises:
        VideoError: the source cannot be read, or the range holds no frames.
    """
    dst = Path(dst)
    index = cached_index(src)
    if end > len(index.pts):
        end = len(index.pts)
    if not 0 <= start < end:
        raise VideoError(src, f"the cut {start}:{end} holds no frames (the video has {len(index.pts)})")
    if can_copy(index, start, end):
        try:
            if _copy(src, dst, index, start, end) == end - start:
                return COPY
        except av.FFmpegError as exc:  # a codec the output container cannot hold as is
            log.info("%s: stream copy of %d:%d failed (%s); re-encoding", src, start, end, exc)
    _reencode(src, dst, start, end, crf=crf)
    return REENCODE


def export_item(item: dict) -> dict:
    """Engine item: one kept clip to its own file."""
    mode = cut(item["path"], item["out"], item["start"], item["end"], crf=item["crf"])
    return {"clip_id": item["key"], "export_path": item["rel"], "export_mode": mode}


def export_kept(table: pd.DataFrame, *, out_dir: Path, cfg: CurateConfig, engine: EngineConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every kept clip of ``table`` under ``OUT/clips``; returns (clip_id, export_path, export_mode) and errors."""
    folder = (out_dir / "clips").resolve()
    items = []
    for r in table[table["kept"].astype(bool)].itertuples():
        name = f"{r.clip_id}.mp4".replace("/", "_")
        items.append({"key": str(r.clip_id), "path": str(r.video), "start": int(r.start_frame), "end": int(r.end_frame),
                      "out": str(folder / name), "rel": f"clips/{name}", "crf": int(cfg.export_crf),
                      "outputs": [str(folder / name)], "code": code_version("koala.curate.export")})
    empty = pd.DataFrame({"clip_id": pd.Series(dtype=str), "export_path": pd.Series(dtype=str), "export_mode": pd.Series(dtype=str)})
    if not items:
        from koala.io.tables import ERRORS, empty_frame

        return empty, empty_frame(ERRORS)
    res = map_items(export_item, items, stage="export", cfg=engine, desc="export clips")
    return (res.table if len(res.table) else empty), res.errors
