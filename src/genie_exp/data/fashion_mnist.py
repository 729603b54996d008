"""Fashion-MNIST from its IDX files (Debian's dataset-fashion-mnist, or a torchvision download).

Input contract: 3x32x32 floats; pixels in [0, 1], padded 28 -> 32 with 2 black pixels per side,
normalised with mean 0.2860 / std 0.3530, grey channel repeated 3 times.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..core.errors import UserError

MEAN, STD = 0.2860, 0.3530
DEBIAN_ROOT = "/usr/share/datasets/fashion-mnist"
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
HOW_TO_GET = ("install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) "
              "or set data.download=true to fetch it through torchvision into data.root")


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (optionally gzipped) into a uint8 array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError("not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"truncated IDX file ({data.size} of {int(np.prod(dims))} values)")
    return data.reshape(dims)


def _find(root: Path, stem: str) -> Path | None:
    for folder in (root, root / "FashionMNIST" / "raw"):
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                return folder / name
    return None


def _download(root: Path) -> None:
    from torchvision.datasets import FashionMNIST as TVFashionMNIST
    try:
        TVFashionMNIST(str(root), train=True, download=True)
        TVFashionMNIST(str(root), train=False, download=True)
    except Exception as e:  # offline, no permission...
        raise UserError(f"Fashion-MNIST not found under {root} and the download failed "
                        f"({type(e).__name__}); {HOW_TO_GET}") from None


def load_split(root: str, split: str, download: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of one split."""
    root_p = Path(os.path.expanduser(root))
    paths = [_find(root_p, stem) for stem in FILES[split]]
    if None in paths and download:
        _download(root_p)
        paths = [_find(root_p, stem) for stem in FILES[split]]
    if None in paths:
        raise UserError(f"Fashion-MNIST {split} files not found under {root_p} "
                        f"(looked for {FILES[split][0]}[.gz] there and in FashionMNIST/raw/); {HOW_TO_GET}")
    try:
        images, labels = (read_idx(p) for p in paths)
    except (OSError, ValueError, EOFError) as e:
        raise UserError(f"cannot read Fashion-MNIST under {root_p}: {e}; {HOW_TO_GET}") from None
    if images.ndim != 3 or labels.shape[0] != images.shape[0]:
        raise UserError(f"Fashion-MNIST files under {root_p} have unexpected shapes; {HOW_TO_GET}")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def to_model_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 28, 28) -> float (..., 3, 32, 32) following the input contract."""
    x = images.float().div(255.0)
    x = F.pad(x, (2, 2, 2, 2), value=0.0)
    x = (x - MEAN) / STD
    return x.unsqueeze(-3).expand(*x.shape[:-2], 3, 32, 32)


class FashionMNIST(Dataset):
    def __init__(self, root: str, split: str, augment: bool = False, download: bool = False):
        self.images, self.labels = load_split(root, split, download)
        self.augment = augment

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, i: int):
        x = to_model_input(self.images[i]).contiguous()
        if self.augment and torch.rand(()) < 0.5:
            x = x.flip(-1)
        return x, self.labels[i]
