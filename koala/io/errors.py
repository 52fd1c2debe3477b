"""The one error type of the I/O layer: a file that cannot be used, and why."""

from __future__ import annotations

import os


class VideoError(Exception):
    """A file that cannot be used as a video, with the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
