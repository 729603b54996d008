"""Dataset builders: `build_data(config.data)` returns a DataSpec for fashion_mnist, cifar10 or imagenet."""
from __future__ import annotations

from functools import lru_cache

from ..choices import DATASETS
from ..config import DataConfig
from ..core.errors import UserError
from . import cifar10, fashion_mnist, imagenet
from .spec import DataSpec


def build_data(cfg: DataConfig) -> DataSpec:
    name, root, download = cfg.name, cfg.root, bool(cfg.download)
    if name == "fashion_mnist":
        train = lru_cache(None)(lambda aug: fashion_mnist.FashionMNIST(root, "train", aug, download))
        test = lru_cache(None)(lambda: fashion_mnist.FashionMNIST(root, "test", False, download))
        mean, std = (fashion_mnist.MEAN,) * 3, (fashion_mnist.STD,) * 3
        return DataSpec(name, 10, 32, mean, std, train, test)
    if name == "cifar10":
        train = lru_cache(None)(lambda aug: cifar10.CIFAR10(root, "train", aug, download))
        test = lru_cache(None)(lambda: cifar10.CIFAR10(root, "test", False, download))
        return DataSpec(name, 10, 32, cifar10.MEAN, cifar10.STD, train, test)
    if name == "imagenet":
        size, resize = int(cfg.image_size), int(cfg.resize)
        train = lru_cache(None)(lambda aug: imagenet.image_folder(root, "train", resize, size))
        test = lru_cache(None)(lambda: imagenet.image_folder(root, "val", resize, size))
        return DataSpec(name, int(cfg.num_classes), size, imagenet.MEAN, imagenet.STD, train, test)
    raise UserError(f"unknown dataset '{name}' (choose from: {', '.join(DATASETS)})")


__all__ = ["DataSpec", "build_data", "DATASETS"]
