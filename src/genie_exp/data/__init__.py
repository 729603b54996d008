"""Dataset builders by name: `build_data(config.data)` returns a DataSpec for fashion_mnist, cifar10 or
imagenet (choices.DATASETS names them for the checks that run before torch loads)."""
from __future__ import annotations

from functools import lru_cache

from typing import Callable

from ..choices import DATASETS
from ..config import DataConfig
from ..core.registry import Registry
from . import cifar10, fashion_mnist, imagenet
from .spec import DataSpec

BUILDERS: Registry[Callable[[DataConfig], DataSpec]] = Registry("dataset")


@BUILDERS.decorator(lambda fn: fn.__name__.lstrip("_"))
def _fashion_mnist(cfg: DataConfig) -> DataSpec:
    root, download = cfg.root, bool(cfg.download)
    train = lru_cache(None)(lambda aug: fashion_mnist.FashionMNIST(root, "train", aug, download))
    test = lru_cache(None)(lambda: fashion_mnist.FashionMNIST(root, "test", False, download))
    mean, std = (fashion_mnist.MEAN,) * 3, (fashion_mnist.STD,) * 3
    return DataSpec("fashion_mnist", 10, 32, mean, std, train, test)


@BUILDERS.decorator(lambda fn: fn.__name__.lstrip("_"))
def _cifar10(cfg: DataConfig) -> DataSpec:
    root, download = cfg.root, bool(cfg.download)
    train = lru_cache(None)(lambda aug: cifar10.CIFAR10(root, "train", aug, download))
    test = lru_cache(None)(lambda: cifar10.CIFAR10(root, "test", False, download))
    return DataSpec("cifar10", 10, 32, cifar10.MEAN, cifar10.STD, train, test)


@BUILDERS.decorator(lambda fn: fn.__name__.lstrip("_"))
def _imagenet(cfg: DataConfig) -> DataSpec:
    root, size, resize = cfg.root, int(cfg.image_size), int(cfg.resize)
    train = lru_cache(None)(lambda aug: imagenet.image_folder(root, "train", resize, size))
    test = lru_cache(None)(lambda: imagenet.image_folder(root, "val", resize, size))
    return DataSpec("imagenet", int(cfg.num_classes), size, imagenet.MEAN, imagenet.STD, train, test)


def build_data(cfg: DataConfig) -> DataSpec:
    return BUILDERS[cfg.name](cfg)


__all__ = ["BUILDERS", "DataSpec", "build_data", "DATASETS"]
