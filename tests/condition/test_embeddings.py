"""The paper's metric path: sinusoidal features, one MLP per metric, summed into the AdaLN input."""

import math

import pytest
import torch

from koala.condition.embeddings import MetricEmbedder, ScalarEmbedder, sinusoidal


def test_sinusoidal_shape_range_and_unit_pairs():
    x = torch.linspace(0, 1000, 37)
    e = sinusoidal(x, 64)
    assert e.shape == (37, 64)
    assert e.abs().max() <= 1.0 + 1e-6
    cos, sin = e[:, :32], e[:, 32:]
    torch.testing.assert_close(cos**2 + sin**2, torch.ones(37, 32))  # each frequency is a point on the unit circle


def test_sinusoidal_at_zero_and_its_frequencies():
    e = sinusoidal(torch.tensor([0.0, 1.0]), 8, max_period=10000.0)
    torch.testing.assert_close(e[0], torch.tensor([1.0] * 4 + [0.0] * 4))
    freqs = torch.exp(-math.log(10000.0) * torch.arange(4) / 4)  # geometric, from 1 down to 1/max_period
    torch.testing.assert_close(e[1, :4], torch.cos(freqs))
    torch.testing.assert_close(e[1, 4:], torch.sin(freqs))


def test_sinusoidal_odd_dimension_is_padded():
    e = sinusoidal(torch.tensor([3.0, 5.0]), 7)
    assert e.shape == (2, 7) and torch.all(e[:, -1] == 0)


def test_sinusoidal_separates_values_and_is_smooth():
    """Nearby values get nearby features, distant values distant ones (on the 0-1000 input scale)."""
    x = torch.tensor([100.0, 100.5, 700.0])
    e = sinusoidal(x, 256)
    near, far = (e[0] - e[1]).norm(), (e[0] - e[2]).norm()
    assert near < 0.25 * far
    assert far > 1.0


def test_scalar_embedder_sees_the_value():
    torch.manual_seed(0)
    emb = ScalarEmbedder(16, freq_dim=32)
    out = emb(torch.tensor([0.1, 0.1, 0.9]))
    assert out.shape == (3, 16)
    torch.testing.assert_close(out[0], out[1])
    assert not torch.allclose(out[0], out[2])


def test_metric_embedder_has_one_mlp_per_metric_and_sums_them():
    torch.manual_seed(0)
    emb = MetricEmbedder(3, 16, freq_dim=32)
    assert len(emb.embedders) == 3
    v = torch.tensor([[0.2, 0.5, 0.7]])
    expected = sum(e(v[:, i]) for i, e in enumerate(emb.embedders))
    torch.testing.assert_close(emb(v), expected)
    for j in range(3):  # changing any one metric changes the embedding
        w = v.clone()
        w[0, j] = 0.9
        assert not torch.allclose(emb(w), emb(v))


@pytest.mark.parametrize("n", [1, 2])
def test_metric_embedder_output_size(n):
    assert MetricEmbedder(n, 8, freq_dim=16)(torch.rand(5, n)).shape == (5, 8)
