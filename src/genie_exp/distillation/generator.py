"""The small generator of Genie-D: latent (256) -> image (3 x S x S) in normalised space."""
from __future__ import annotations

import torch
import torch.nn as nn


class Generator(nn.Module):
    """Linear -> BN(128) -> up x2 -> conv 128->64 -> BN -> LeakyReLU -> up x2 -> conv 64->3 -> tanh -> BN(3).

    grey: the last conv draws one channel, repeated `channels` times. affine: the last BN learns a
    per-channel scale and shift instead of leaving zero mean and unit std."""

    def __init__(self, latent_dim: int = 256, image_size: int = 32, channels: int = 3, grey: bool = False,
                 affine: bool = False):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image size {image_size} is not a multiple of 4")
        self.init_size = image_size // 4
        self.channels = channels
        drawn = 1 if grey else channels
        self.fc = nn.Linear(latent_dim, 128 * self.init_size ** 2)
        self.body = nn.Sequential(
            nn.BatchNorm2d(128),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(64, drawn, 3, padding=1),
            nn.Tanh(),
            nn.BatchNorm2d(drawn, affine=affine),  # per-channel zero mean / unit std, like normalised data
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(z.shape[0], 128, self.init_size, self.init_size)
        if self.body[2].weight.is_contiguous(memory_format=torch.channels_last):
            # in NHWC mode convert here, before the upsampling makes the tensor 4x larger
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.body(x)
        return x if x.shape[1] == self.channels else x.expand(-1, self.channels, -1, -1).contiguous(
            memory_format=torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format)
