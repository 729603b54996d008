"""The images a reconstruction learns from: the calibration set as given, smoothed (recon.lowpass) or
with mirrored copies (recon.augment). Both are treatments of the set, applied once before the
activation steps are set and the units are fitted, so every stage after them sees the same images.

Low-pass (SynQ, ICLR 2025): a Gaussian transfer function exp(-f^2 / (2 sigma^2)) on each image's 2-D
spectrum, f the radial spatial frequency in units of the Nyquist frequency, sigma = recon.lowpass (SynQ's
ImageNet setting, d0 = 80 frequency bins at 224 pixels, is about 0.7). The zero frequency passes
unchanged, so every image keeps its mean. Measured on this project's benchmark in
experiments/depthwise/README.md.
Mirror (`flip`): the set and its left-right mirror images, twice the images for the same distillation;
the activation steps are still set from the first quant.calib_samples of them (the originals)."""
from __future__ import annotations

import torch

from ..config import ReconConfig, check_choice
from ..choices import AUGMENTS


def lowpass(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """`images` (N, C, H, W) through a Gaussian low-pass of width `sigma` x Nyquist (0: unchanged)."""
    if sigma <= 0:
        return images
    h, w = images.shape[-2:]
    fy = torch.fft.fftfreq(h, device=images.device, dtype=torch.float64) * 2  # Nyquist = 1
    fx = torch.fft.fftfreq(w, device=images.device, dtype=torch.float64) * 2
    transfer = torch.exp(-(fy[:, None] ** 2 + fx[None, :] ** 2) / (2 * sigma ** 2))
    spectrum = torch.fft.fft2(images.double())
    return torch.fft.ifft2(spectrum * transfer).real.to(images.dtype).contiguous()


def augmented(images: torch.Tensor, augment: str) -> torch.Tensor:
    check_choice(augment, "recon.augment", AUGMENTS)
    if augment == "flip":
        return torch.cat([images, images.flip(-1)])
    return images


def reconstruction_images(images: torch.Tensor, recon: ReconConfig) -> torch.Tensor:
    """The calibration set as the reconstruction sees it under `recon` (a ReconConfig or its node)."""
    if images.dim() != 4:
        return images
    return augmented(lowpass(images, float(recon.lowpass)), str(recon.augment))
