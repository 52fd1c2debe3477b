"""The tiny video DiT over frame latents: shapes, AdaLN-Zero start, metrics steering the output, a learnable flow loss."""

import pytest
import torch

from koala.condition.model import ModelSpec, VideoDiT, flow_loss, sample, velocity


def _spec(n_metrics=2, **kw):
    return ModelSpec(**{"frames": 4, "latent_dim": 6, "dim": 16, "depth": 2, "heads": 2, "text_dim": 12,
                        "n_metrics": n_metrics, **kw})


def _inputs(b=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, 4, 6, generator=g)  # (B, T, k) frame latents
    text = torch.randn(b, 5, 12, generator=g)
    mask = torch.ones(b, 5, dtype=torch.bool)
    return x, torch.rand(b, generator=g), text, mask


def _perturb(model, seed=1):
    """Random weights everywhere (a trained model's stand-in): AdaLN-Zero layers start at zero."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return model


def test_output_has_the_clip_shape_and_a_new_model_predicts_a_zero_clip():
    torch.manual_seed(0)
    model = VideoDiT(_spec())
    x, t, text, mask = _inputs()
    out = model(x, t, text, mask, torch.rand(3, 2))
    assert out.shape == x.shape
    assert torch.all(out == 0)  # adaLN-Zero: zero gates and a zero output layer


def test_metrics_change_the_output_through_adaln():
    torch.manual_seed(0)
    model = _perturb(VideoDiT(_spec())).eval()
    x, t, text, mask = _inputs()
    low, high = torch.full((3, 2), 0.1), torch.tensor([[0.9, 0.1]] * 3)
    a, b = model(x, t, text, mask, low), model(x, t, text, mask, high)
    assert (a - b).abs().mean() > 1e-3
    torch.testing.assert_close(model(x, t, text, mask, low), a)  # deterministic


def test_the_metric_path_enters_only_the_adaln_input():
    """The metric embedding is added to the timestep embedding: same c, same output."""
    torch.manual_seed(0)
    model = _perturb(VideoDiT(_spec())).eval()
    m = torch.rand(3, 2)
    _, t, _, _ = _inputs()
    c = model.condition(t, m)
    torch.testing.assert_close(c, model.t_embed(t) + model.m_embed(m))


def test_text_variant_has_no_metric_path_and_a_metric_model_needs_values():
    text_model = VideoDiT(_spec(n_metrics=0))
    assert text_model.m_embed is None
    x, t, text, mask = _inputs()
    assert text_model(x, t, text, mask).shape == x.shape
    with pytest.raises(ValueError, match="metric values"):
        VideoDiT(_spec())(x, t, text, mask, None)


def test_text_changes_the_output_and_masked_tokens_do_not():
    torch.manual_seed(0)
    model = _perturb(VideoDiT(_spec(n_metrics=0))).eval()
    x, t, text, mask = _inputs()
    other = text.clone()
    other[:, 0] = torch.randn(3, 12, generator=torch.Generator().manual_seed(9))
    assert (model(x, t, text, mask) - model(x, t, other, mask)).abs().mean() > 1e-3
    mask2 = mask.clone()
    mask2[:, -1] = False
    padded = text.clone()
    padded[:, -1] = 100.0  # a masked (padding) token cannot matter
    torch.testing.assert_close(model(x, t, text, mask2), model(x, t, padded, mask2))


def test_flow_loss_falls_when_fitting_one_batch():
    torch.manual_seed(0)
    model = VideoDiT(_spec())
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x0, _, text, mask = _inputs()
    g = torch.Generator().manual_seed(5)
    noise, t, m = torch.randn(x0.shape, generator=g), torch.rand(3, generator=g), torch.rand(3, 2, generator=g)
    first = flow_loss(model, x0, noise, t, text, mask, m).item()
    for _ in range(60):
        loss = flow_loss(model, x0, noise, t, text, mask, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first


def test_sample_integrates_from_noise():
    torch.manual_seed(0)
    model = _perturb(VideoDiT(_spec())).eval()
    noise, _, text, mask = _inputs()
    out = sample(model, noise, text, mask, torch.rand(3, 2), steps=4)
    assert out.shape == noise.shape and torch.isfinite(out).all()
    zero = VideoDiT(_spec()).eval()  # a new model predicts the clean clip 0: the last Euler step lands on it
    torch.testing.assert_close(sample(zero, noise, text, mask, torch.rand(3, 2), steps=3), torch.zeros_like(noise))


def test_velocity_is_the_clean_prediction_turned_into_a_flow():
    torch.manual_seed(0)
    model = _perturb(VideoDiT(_spec())).eval()
    xt, t, text, mask = _inputs()
    m = torch.rand(3, 2)
    v = velocity(model, xt, t, text, mask, m)
    x0_hat = model(xt, t, text, mask, m)
    torch.testing.assert_close(xt - t.clamp(min=0.05).view(-1, 1, 1) * v, x0_hat, atol=1e-5, rtol=1e-5)
