"""Shared layers against their definitions: self-attention, conditional norm, pixel norm, equalized LR."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gangrid.nets.attention import SelfAttention
from gangrid.nets.blocks import CondNorm2d, EqualizedConv2d, EqualizedLinear, PixelNorm, start_size


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny nets run fastest single-threaded (and do not fight other processes for cores)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_self_attention_is_identity_at_init_and_matches_the_sagan_formula():
    torch.manual_seed(0)
    sa = SelfAttention(16)
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(sa(x), x)  # gamma = 0
    with torch.no_grad():
        sa.gamma.fill_(0.7)
    f, g, h = (conv(x).flatten(2) for conv in (sa.f, sa.g, sa.h))  # (B, C', N)
    expected = torch.empty(2, 2, 16)
    for b in range(2):
        for n in range(16):  # position n attends over all positions m with softmax_m(f_n . g_m)
            weights = torch.softmax(f[b, :, n] @ g[b], dim=0)
            expected[b, :, n] = h[b] @ weights
    out = x + 0.7 * sa.v(expected.view(2, 2, 4, 4))
    assert torch.allclose(sa(x), out, atol=1e-5)


def test_class_conditional_norm_uses_each_class_gain_and_bias():
    torch.manual_seed(0)
    norm = CondNorm2d("batch", 3, n_classes=4)
    with torch.no_grad():
        norm.gain.weight.copy_(torch.arange(12.0).view(4, 3))
        norm.bias.weight.copy_(-torch.arange(12.0).view(4, 3))
    x, y = torch.randn(6, 3, 5, 5), torch.tensor([0, 1, 2, 3, 1, 2])
    normed = F.batch_norm(x, None, None, training=True)
    expected = normed * norm.gain.weight[y][:, :, None, None] + norm.bias.weight[y][:, :, None, None]
    assert torch.allclose(norm(x, y), expected, atol=1e-5)


def test_vector_conditional_norm_starts_as_plain_norm_with_zero_condition():
    norm = CondNorm2d("instance", 3, cond_dim=5)
    x = torch.randn(2, 3, 4, 4)
    assert torch.allclose(norm(x, torch.zeros(2, 5)), F.instance_norm(x), atol=1e-6)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    y = PixelNorm()(torch.randn(3, 8, 5, 5) * 7)
    assert torch.allclose(y.pow(2).mean(1), torch.ones(3, 5, 5), atol=1e-4)


def test_equalized_layers_scale_unit_normal_weights_by_he_constant():
    torch.manual_seed(0)
    conv = EqualizedConv2d(4, 6, 3, 1)
    x = torch.randn(2, 4, 5, 5)
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight * math.sqrt(2) / math.sqrt(4 * 9), conv.bias, padding=1), atol=1e-6)
    lin = EqualizedLinear(10, 3, lr_mul=0.01, bias_init=1.0)
    assert float(lin.weight.detach().std()) == pytest.approx(100.0, rel=0.3)  # N(0, 1/lr_mul)
    v = torch.randn(4, 10)
    assert torch.allclose(lin(v), v @ (lin.weight * 0.01 * math.sqrt(2) / math.sqrt(10)).t() + 1.0, atol=1e-5)


@pytest.mark.parametrize("res,expected", [(16, (4, 2)), (28, (7, 2)), (32, (4, 3)), (64, (4, 4)), (20, (5, 2)), (18, (0, 0)), (3, (0, 0))])
def test_start_size_of_the_conv_stacks(res, expected):
    assert start_size(res) == expected
