"""What every dataset hands the pipeline: splits as tensor datasets plus the normalisation used."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Subset


@dataclass
class DataSpec:
    name: str
    num_classes: int
    image_size: int
    mean: Sequence[float]
    std: Sequence[float]
    train: Callable[[bool], Dataset]  # train(augment) -> the train split, built on first use
    test: Callable[[], Dataset]

    def test_loader(self, batch_size: int = 256, max_samples: Optional[int] = None,
                    workers: int = 0) -> DataLoader:
        ds = self.test()
        if max_samples is not None and max_samples < len(ds):
            ds = Subset(ds, range(max_samples))  # first N: the same images every run
        return DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=workers)

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised images back to [0, 1] pixels (for image grids)."""
        mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
        return (x * std + mean).clamp(0, 1)
