"""recon.lowpass and recon.augment (recon/images.py): the filter keeps an image's mean and its low
frequencies and removes its high ones; the mirror copies are the set's exact mirror images; and the
reconstruction, not only the helper, sees the treated set."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

import genie_exp.recon.stage as stage
from genie_exp.config import QuantConfig, ReconConfig
from genie_exp.core.errors import UserError
from genie_exp.models import create_model
from genie_exp.recon.images import augmented, lowpass, reconstruction_images

from conftest import cpu_ctx

SIZE = 32


def _wave(cycles_y: int, cycles_x: int) -> torch.Tensor:
    """One (1, 1, SIZE, SIZE) cosine with the given cycles per image along each axis."""
    y = torch.arange(SIZE, dtype=torch.float64)[:, None]
    x = torch.arange(SIZE, dtype=torch.float64)[None, :]
    return torch.cos(2 * math.pi * (cycles_y * y + cycles_x * x) / SIZE)[None, None].float()


def _gain(sigma: float, cycles_y: int, cycles_x: int) -> float:
    wave = _wave(cycles_y, cycles_x)
    return float((lowpass(wave, sigma) * wave).sum() / (wave * wave).sum())


@pytest.mark.parametrize("sigma", [0.25, 0.5, 0.7])
def test_lowpass_is_the_gaussian_transfer_function(sigma):
    gains = []
    for cycles in [(1, 0), (0, 4), (8, 8), (16, 16)]:  # (16, 16): the checkerboard, Nyquist on both axes
        f2 = sum((2 * c / SIZE) ** 2 for c in cycles)  # radial frequency in units of Nyquist, squared
        gains.append(_gain(sigma, *cycles))
        assert gains[-1] == pytest.approx(math.exp(-f2 / (2 * sigma ** 2)), abs=1e-5)
    assert gains[0] > 0.96 and gains[-1] < 0.14 and gains == sorted(gains, reverse=True)


def test_lowpass_keeps_each_images_mean_and_shape_and_is_off_at_zero():
    torch.manual_seed(0)
    x = torch.randn(4, 3, SIZE, SIZE) + torch.arange(4.0)[:, None, None, None]
    y = lowpass(x, 0.3)
    assert y.shape == x.shape and y.dtype == x.dtype and y.is_contiguous()
    assert torch.allclose(y.mean((2, 3)), x.mean((2, 3)), atol=1e-5)
    assert float(y.std()) < float(x.std())  # white noise loses most of its energy
    assert lowpass(x, 0.0) is x


def test_flip_appends_the_exact_mirror_images_after_the_originals():
    x = torch.randn(3, 3, 8, 8)
    y = augmented(x, "flip")
    assert y.shape == (6, 3, 8, 8)
    assert torch.equal(y[:3], x) and torch.equal(y[3:], x.flip(-1))
    assert torch.equal(y[3, :, :, 0], x[0, :, :, -1])
    assert augmented(x, "none") is x
    with pytest.raises(UserError, match="recon.augment 'mirror'"):
        augmented(x, "mirror")


def test_vectors_pass_unchanged():  # a model on flat inputs: nothing to filter or mirror
    v = torch.randn(5, 7)
    assert reconstruction_images(v, ReconConfig(lowpass=0.5, augment="flip")) is v


def test_the_reconstruction_sees_the_treated_set(monkeypatch):
    torch.manual_seed(1)
    teacher, x = create_model("resnet20", width=4).eval(), torch.randn(8, 3, 16, 16)
    seen = {}

    def spy(student, reference, calib, *args, **kwargs):
        seen["calib"] = calib
        return []
    monkeypatch.setattr(stage, "reconstruct", spy)
    recon = replace(ReconConfig(iters=1, batch_size=4), lowpass=0.5, augment="flip")
    stage.quantize_model(teacher, x, QuantConfig(w=4, a=4), "genie", recon, cpu_ctx())
    assert torch.allclose(seen["calib"], torch.cat([lowpass(x, 0.5), lowpass(x, 0.5).flip(-1)]))
    stage.quantize_model(teacher, x, QuantConfig(w=4, a=4), "genie", ReconConfig(iters=1, batch_size=4), cpu_ctx())
    assert seen["calib"] is x  # the defaults leave the set as distilled
