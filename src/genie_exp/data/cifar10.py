"""CIFAR-10 from torchvision's python-format batches under `data.root/cifar-10-batches-py`."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..core.errors import UserError

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
FOLDER = "cifar-10-batches-py"
SPLITS = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
HOW_TO_GET = "download CIFAR-10 (python version) into data.root, or set data.download=true"


def load_split(root: str, split: str, download: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    folder = Path(os.path.expanduser(root)) / FOLDER
    if not folder.is_dir() and download:
        from torchvision.datasets import CIFAR10
        try:
            CIFAR10(str(folder.parent), download=True)
        except Exception as e:
            raise UserError(f"CIFAR-10 not found at {folder} and the download failed "
                            f"({type(e).__name__}); {HOW_TO_GET}") from None
    images, labels = [], []
    for name in SPLITS[split]:
        path = folder / name
        if not path.is_file():
            raise UserError(f"CIFAR-10 file {path} not found; {HOW_TO_GET}")
        try:
            with open(path, "rb") as f:
                entry = pickle.load(f, encoding="latin1")  # the dataset's own distribution format
            images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(entry["labels"] if "labels" in entry else entry["fine_labels"])
        except Exception as e:
            raise UserError(f"cannot read CIFAR-10 file {path}: {type(e).__name__}; {HOW_TO_GET}") from None
    return torch.from_numpy(np.concatenate(images)), torch.tensor(labels, dtype=torch.int64)


class CIFAR10(Dataset):
    def __init__(self, root: str, split: str, augment: bool = False, download: bool = False):
        self.images, self.labels = load_split(root, split, download)
        self.augment = augment
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, i: int):
        x = (self.images[i].float() / 255.0 - self.mean) / self.std
        if self.augment:  # the usual pad-4 random crop + flip
            x = F.pad(x, (4, 4, 4, 4))
            dy, dx = torch.randint(0, 9, (2,)).tolist()
            x = x[:, dy:dy + 32, dx:dx + 32]
            if torch.rand(()) < 0.5:
                x = x.flip(-1)
        return x.contiguous(), self.labels[i]
