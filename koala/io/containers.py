"""Container-layout checks that catch truncated files FFmpeg would read without complaint.

Written by hand because no library here reports it: FFmpeg reads as much of a cut-off file as it
can, so an MP4 cut before its ``moov`` index shows no streams and a cut Matroska file just ends
early. Both formats declare the size of their top-level elements, so a few header reads suffice.

A file cut off mid-stream whose index is intact (an MP4 with ``moov`` in front of a cut ``mdat``,
a cut Matroska segment, as a partial download leaves them) is not an error here: the caller reads
the frames that are there and reports how much is missing (:class:`Cut`). A file cut before its
index, or with garbage where a box header should be, is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from koala.io.errors import VideoError


@dataclass(frozen=True)
class Cut:
    """A file that ends before its container says it does (its index is intact, its data cut)."""

    size: int  # bytes in the file
    declared_end: int  # byte where the cut element (an MP4 'mdat', a Matroska segment) should end
    element: str  # which element is cut

    def describe(self) -> str:
        return (f"the file ends at byte {self.size} but its {self.element} runs to byte {self.declared_end} "
                f"({self.declared_end - self.size} bytes, {100 * (self.declared_end - self.size) / self.declared_end:.0f} % "
                f"of the file, missing)")


def check_structure(path: Path) -> Cut | None:
    """Raise :class:`VideoError` if an MP4/MOV or Matroska/WebM file is garbled or cut before its index.

    Returns:
        A :class:`Cut` when the file is cut off mid-stream but its index is intact (the frames
        before the cut are readable), else None.

    Other containers pass unchecked; FFmpeg's own errors cover them.
    """
    size = path.stat().st_size
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise VideoError(path, f"cannot read the file ({exc.strerror})") from None
    with fh:
        head = fh.read(16)
        if head[:4] == b"\x1a\x45\xdf\xa3":
            return _check_matroska(path, fh, size)
        if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"):
            return _check_isobmff(path, fh, size)
    return None


def _check_isobmff(path: Path, fh, size: int) -> Cut | None:
    boxes: set[bytes] = set()
    pos = 0
    for _ in range(1_000_000):
        if pos + 8 > size:
            break
        fh.seek(pos)
        header = fh.read(16)
        box_size, box_type = int.from_bytes(header[:4], "big"), header[4:8]
        if box_size == 1:
            if len(header) < 16:
                break
            box_size = int.from_bytes(header[8:16], "big")
        elif box_size == 0:  # extends to the end of the file
            box_size = size - pos
        junk = box_size < 8 or not all(32 <= c < 127 for c in box_type)
        overrun = pos + box_size > size
        if (junk or overrun) and b"moov" in boxes and (junk or box_type not in (b"mdat", b"moof")):
            break  # padding or junk after a complete file: FFmpeg ignores it, so do we
        if junk:
            raise VideoError(path, f"corrupt: garbage where an MP4 box header should be (byte {pos})")
        boxes.add(box_type)
        if overrun and b"moov" in boxes and box_type in (b"mdat", b"moof"):
            return Cut(size=size, declared_end=pos + box_size, element=f"'{box_type.decode('ascii')}' box")
        if overrun:
            lost = "" if b"moov" in boxes else "; its 'moov' index, which would follow, is lost with it"
            raise VideoError(
                path,
                f"truncated: its '{box_type.decode('ascii')}' box ends at byte {pos + box_size} "
                f"but the file has only {size} bytes{lost}",
            )
        pos += box_size
    else:
        return None  # too many boxes to walk; let FFmpeg judge the file
    if b"moov" not in boxes and b"moof" not in boxes:
        raise VideoError(path, "truncated or unfinished MP4/MOV: it has no 'moov' index (was the recording cut off?)")
    return None


def _ebml_vint(fh) -> tuple[int, int, bool] | None:
    """(value without the length marker, byte length, all value bits set) of an EBML varint."""
    first = fh.read(1)
    if not first:
        return None
    b0 = first[0]
    length = 8 - b0.bit_length() + 1
    if b0 == 0 or length > 8:
        return None
    rest = fh.read(length - 1)
    if len(rest) < length - 1:
        return None
    value = int.from_bytes(first + rest, "big") & ((1 << (7 * length)) - 1)
    return value, length, value == (1 << (7 * length)) - 1


def _check_matroska(path: Path, fh, size: int) -> Cut | None:
    fh.seek(4)
    header = _ebml_vint(fh)  # size of the EBML header element
    if header is None:
        return None
    fh.seek(4 + header[1] + header[0])
    if fh.read(4) != b"\x18\x53\x80\x67":  # Segment
        return None
    seg = _ebml_vint(fh)
    if seg is None or seg[2]:  # unknown size (live recording): nothing declared to compare
        return None
    end = fh.tell() + seg[0]
    if end > size:  # clusters are self-contained: FFmpeg reads the ones before the cut
        return Cut(size=size, declared_end=end, element="Matroska segment")
    return None
