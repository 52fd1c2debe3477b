"""Shared fixtures: no ERROR logs, tiny synthetic videos with a decodable frame number, samples."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from koala.io.writer import VideoWriter

# The five real Koala sample clips live beside the repository (docs/DESIGN.md § Data).
# A worktree elsewhere can point at them with $KOALA_SAMPLES_MIRROR (the samples stage's mirror variable).
SAMPLES_DIR = Path(os.environ.get("KOALA_SAMPLES_MIRROR") or Path(__file__).resolve().parents[1].parent / "shared/data/koala_tsa_samples")


# Tests write nothing into $HOME. Ray would: its session folders under /tmp/ray (RAY_TMPDIR moves
# them) and, for token authentication (on by default for a local cluster since Ray 2.5x), a generated
# token in ~/.ray/auth_token, which a later `ray start` then trusts while its workers use another
# (InvalidAuthToken). A token of the test run's own, named by RAY_AUTH_TOKEN_PATH, means Ray never
# generates one into $HOME; every ray.init and `ray start` of the run (child processes inherit the
# environment) uses it, so the two-node test passes after the suite. The other tools that keep state
# under $HOME (matplotlib's font cache, IPython's profile and Jupyter's runtime files of the notebook
# tests, pooch, ONNX Runtime's telemetry database) get the XDG folders and their own variables here too.
# The folder is short: Ray's socket paths must fit in 107 bytes.
_TEST_HOME = Path(tempfile.mkdtemp(prefix="koala-test-", dir="/tmp"))
# Read by ONNX Runtime (the OCR text detector) when its library loads, so set at collection.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
# The packaged default VTSS model (koala/vtss/models/default.pt) would score clips in the tests that check
# what happens without a model; tests that want a model build a tiny one. test_packaged.py sets its own.
os.environ["KOALA_VTSS_PACKAGED_MODEL"] = ""


def pytest_configure(config):
    token = _TEST_HOME / "ray_auth_token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    folders = {
        "RAY_TMPDIR": "ray", "XDG_CACHE_HOME": "cache", "XDG_CONFIG_HOME": "config", "XDG_DATA_HOME": "share",
        "MPLCONFIGDIR": "matplotlib", "IPYTHONDIR": "ipython", "JUPYTER_DATA_DIR": "jupyter",
        "JUPYTER_RUNTIME_DIR": "jupyter/runtime", "JUPYTER_CONFIG_DIR": "jupyter-config",
    }
    for var, sub in folders.items():
        (_TEST_HOME / sub).mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(_TEST_HOME / sub)
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN_PATH"] = str(token)
    os.environ.pop("RAY_AUTH_TOKEN", None)  # it would win over the file
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["RAY_USAGE_STATS_CONFIG_PATH"] = str(_TEST_HOME / "ray_usage_stats.json")  # not ~/.ray/config.json


def pytest_unconfigure(config):
    shutil.rmtree(_TEST_HOME, ignore_errors=True)


@pytest.fixture
def home_env(tmp_path) -> dict:
    """The environment for a child process that would write into $HOME (Chromium keeps crash reports in
    ~/.config/chromium and a dconf cache in ~/.cache even with --user-data-dir): $HOME and the XDG folders
    under tmp_path."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local/share")}


@pytest.fixture(autouse=True)
def no_error_logs(caplog):
    """Fail any test that logs a record at ERROR or above.

    A test that means to provoke an ERROR record asserts on it, then calls ``caplog.clear()``.
    """
    yield
    bad = [
        r
        for when in ("setup", "call")
        for r in caplog.get_records(when)
        if r.levelno >= logging.ERROR
    ]
    if bad:
        lines = "\n".join(f"  {r.levelname} {r.name}: {r.getMessage()}" for r in bad)
        pytest.fail(f"the test logged {len(bad)} record(s) at ERROR or above:\n{lines}", pytrace=False)


class VideoFactory:
    """Writes small synthetic videos whose frames carry their own frame number.

    Frame ``i`` is flat colour: red = ``16 + STEP * (i % BASE)``, green = ``16 + STEP * (i // BASE)``,
    blue = 128, so :meth:`index_of` reads the number back from a decoded frame's centre despite
    lossy coding (STEP/2 = 10 levels of slack; x264 at crf 18 errs by about 1, FFmpeg's mpeg4 at
    its default bit rate by up to about 6). Up to BASE**2 = 144 distinct frames.
    With ``marker=True`` the top-left quarter is white, to check orientation.
    """

    STEP = 20
    BASE = 12

    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def frame(cls, i: int, width: int, height: int, *, marker: bool = False) -> np.ndarray:
        arr = np.empty((height, width, 3), np.uint8)
        arr[..., 0] = 16 + cls.STEP * (i % cls.BASE)
        arr[..., 1] = 16 + cls.STEP * (i // cls.BASE)
        arr[..., 2] = 128
        if marker:
            arr[: height // 4, : width // 4] = 255
        return arr

    @classmethod
    def index_of(cls, frame: np.ndarray) -> int:
        """The frame number written into ``frame`` (decoded, any size or orientation)."""
        h, w = frame.shape[:2]
        centre = frame[h // 2 - 2 : h // 2 + 2, w // 2 - 2 : w // 2 + 2].reshape(-1, 3).mean(axis=0)
        lo = int(round((centre[0] - 16) / cls.STEP))
        hi = int(round((centre[1] - 16) / cls.STEP))
        return hi * cls.BASE + lo

    def __call__(
        self,
        name: str = "video.mp4",
        *,
        n: int = 20,
        width: int = 64,
        height: int = 48,
        fps: float = 25.0,
        codec: str = "libx264",
        pix_fmt: str = "yuv420p",
        rotation: int = 0,
        marker: bool = False,
    ) -> Path:
        path = self.folder / name
        with VideoWriter(path, fps=fps, width=width, height=height, codec=codec, pix_fmt=pix_fmt, rotation=rotation) as w:
            for i in range(n):
                w.write(self.frame(i, width, height, marker=marker))
        return path


@pytest.fixture
def make_video(tmp_path) -> VideoFactory:
    """``make_video(name, n=, width=, height=, fps=, codec=, rotation=, marker=)`` -> Path.

    ``make_video.index_of(frame)`` reads back the frame number; ``make_video.frame(i, w, h)``
    is the frame that was written.
    """
    folder = tmp_path / "videos"
    folder.mkdir()
    return VideoFactory(folder)


@pytest.fixture
def sample_dir() -> Path:
    """The real Koala sample clips folder; skips when it is not beside the repository."""
    if not SAMPLES_DIR.is_dir() or not any(SAMPLES_DIR.glob("*.mp4")):
        pytest.skip(f"real sample clips not found at {SAMPLES_DIR}")
    return SAMPLES_DIR
