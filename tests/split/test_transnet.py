"""TransNetV2 fed by our reader: the package's window scheme, streamed and batched."""

from __future__ import annotations

import numpy as np
import pytest

from koala.split import transnet as T


def _frames(n: int) -> np.ndarray:
    f = np.zeros((n, 27, 48, 3), np.uint8)
    f[:, 0, 0, 0] = np.arange(n) % 251  # each frame carries its index
    return f


def _echo(windows: np.ndarray) -> np.ndarray:
    """A stand-in network: each kept frame's 'probability' is its index."""
    return windows[:, T.PAD : T.PAD + T.STEP, 0, 0, 0].reshape(-1).astype(np.float64)


@pytest.mark.parametrize("n,chunk", [(1, 1), (49, 7), (50, 50), (137, 16), (451, 33), (600, 600)])
def test_every_frame_gets_its_own_prediction_in_order(n, chunk):
    frames = _frames(n)
    got = T.windowed((frames[i : i + chunk] for i in range(0, n, chunk)), predict=_echo)
    assert got.tolist() == (np.arange(n) % 251).tolist()


def test_no_frames_no_predictions():
    assert len(T.windowed(iter([]), predict=_echo)) == 0


@pytest.mark.slow  # loads the network: ~45 s on two busy cores
def test_matches_the_package_predict_frames():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 255, (1, 27, 48, 3)), rng.integers(0, 255, (1, 27, 48, 3))
    frames = np.concatenate([np.repeat(a, 70, 0), np.repeat(b, 60, 0)]).astype(np.uint8)
    frames = np.clip(frames.astype(int) + rng.integers(-3, 4, frames.shape), 0, 255).astype(np.uint8)
    ours = T.windowed(frames[i : i + 32] for i in range(0, len(frames), 32))
    ref, _ = T._model().predict_frames(torch.from_numpy(frames), quiet=True)
    assert np.allclose(ours, ref.numpy().reshape(-1), atol=1e-5)
    assert int(np.argmax(ours)) in (69, 70)  # the cut between frames 69 and 70


@pytest.mark.slow  # loads the network (~10 s)
def test_loading_the_network_leaves_the_global_random_state_alone(monkeypatch):
    torch = pytest.importorskip("torch")
    import random

    monkeypatch.setattr(T, "_MODEL", None)
    before = (torch.are_deterministic_algorithms_enabled(), np.random.get_state()[1][:5].tolist(), random.getstate())
    T._model()
    after = (torch.are_deterministic_algorithms_enabled(), np.random.get_state()[1][:5].tolist(), random.getstate())
    assert before == after
