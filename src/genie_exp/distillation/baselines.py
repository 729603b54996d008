"""Calibration baselines that need no optimisation: Gaussian noise and real train images."""
from __future__ import annotations

import torch

from ..data import DataSpec


def noise_images(n: int, image_size: int, seed: int) -> torch.Tensor:
    """N(0, 1) in normalised space: the statistics the teacher's input layer expects, no content."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, image_size, image_size, generator=g)


def real_images(data: DataSpec, n: int, seed: int) -> torch.Tensor:
    """`n` random images of the train split (never the test split): the few-shot reference."""
    train = data.train(False)
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(train), generator=g)[:n].tolist()
    return torch.stack([train[i][0] for i in idx])
