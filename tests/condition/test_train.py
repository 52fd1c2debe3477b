"""Training: seeded, and a run stopped at a checkpoint continues exactly as one never stopped."""

import torch

from koala.condition.model import ModelSpec
from koala.condition.train import TrainSet, learning_rate, load_checkpoint, step_batch, train

SPEC = ModelSpec(frames=4, latent_dim=5, dim=16, depth=1, heads=2, text_dim=6, n_metrics=2)


def _data(seed=0, n=10):
    g = torch.Generator().manual_seed(seed)
    return TrainSet(latents=torch.randn(n, 4, 5, generator=g),
                    text_index=torch.arange(n) % 3, text=torch.randn(3, 5, 6, generator=g).half(),
                    mask=torch.ones(3, 5, dtype=torch.bool), metrics=torch.rand(n, 2, generator=g))


def _train(path, *, seed=0, stop_at=None, steps=8, meta=None):
    return train(SPEC, _data(), steps=steps, batch_size=4, lr=1e-3, seed=seed, checkpoint=path, checkpoint_every=3,
                 meta=meta or {"fingerprint": "a", "variant": "adaln"}, stop_at=stop_at)


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_same_seed_same_model_other_seed_other_model(tmp_path):
    a = _train(tmp_path / "a.pt").model
    b = _train(tmp_path / "b.pt").model
    c = _train(tmp_path / "c.pt", seed=1).model
    assert _same(a, b)
    assert not _same(a, c)


def test_resume_continues_exactly(tmp_path):
    straight = _train(tmp_path / "straight.pt")
    stopped = _train(tmp_path / "resumed.pt", stop_at=5)
    assert stopped.step == 5
    assert load_checkpoint(tmp_path / "resumed.pt")[1]["step"] == 5
    resumed = _train(tmp_path / "resumed.pt")
    assert resumed.step == 8
    assert _same(straight.model, resumed.model)
    # the optimiser state travelled too: one more step from each gives the same weights again
    more_a = _train(tmp_path / "straight.pt", steps=9).model
    more_b = _train(tmp_path / "resumed.pt", steps=9).model
    assert _same(more_a, more_b)


def test_a_finished_checkpoint_is_reused_and_other_settings_retrain(tmp_path, caplog):
    done = _train(tmp_path / "m.pt")
    again = _train(tmp_path / "m.pt")
    assert again.step == 8 and _same(done.model, again.model)
    caplog.set_level("INFO")
    other = _train(tmp_path / "m.pt", meta={"fingerprint": "b", "variant": "adaln"}, seed=3)
    assert "training from scratch" in caplog.text
    assert not _same(done.model, other.model)


def test_checkpoint_round_trip_rebuilds_the_model(tmp_path):
    state = _train(tmp_path / "m.pt")
    model, blob = load_checkpoint(tmp_path / "m.pt")
    assert blob["meta"]["variant"] == "adaln" and model.spec == SPEC and not model.training
    assert _same(state.model, model)


def test_step_batches_are_a_function_of_seed_and_step():
    data = _data()
    a, b = step_batch(data, 7, seed=0, batch_size=4), step_batch(data, 7, seed=0, batch_size=4)
    c = step_batch(data, 8, seed=0, batch_size=4)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[1], c[1])


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    lrs = [learning_rate(s, steps=100, lr=1.0) for s in range(100)]
    assert lrs[0] < lrs[4] == 1.0
    assert all(x >= y for x, y in zip(lrs[5:], lrs[6:]))
    assert abs(lrs[-1] - 0.1) < 0.01
