"""Shared fixtures: tiny generated datasets, config composition, an isolated cache directory, and the
small nets of a user's own that several test files quantize."""
from __future__ import annotations

import gzip
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from genie_exp.cli import CONF_DIR, register_configs

REPO = Path(__file__).resolve().parents[1]
register_configs()
torch.set_num_threads(min(2, torch.get_num_threads()))


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_fashion_mnist(root: Path, n_train: int = 256, n_test: int = 128, seed: int = 0) -> Path:
    """Fashion-MNIST-shaped IDX files with random content: the loader's format, not its data."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))
    return root


def make_cifar10(root: Path, n_per_batch: int = 20, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, n_per_batch).tolist()}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)
    return root


def make_image_folder(root: Path, classes: int = 3, per_class: int = 4, size: int = 48, seed: int = 0) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split in ("train", "val"):
        for c in range(classes):
            d = root / split / f"class{c}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                Image.fromarray(rng.integers(0, 256, (size, size + 8, 3), dtype=np.uint8)).save(d / f"{i}.png")
    return root


@pytest.fixture(scope="session")
def fmnist_root(tmp_path_factory) -> Path:
    return make_fashion_mnist(tmp_path_factory.mktemp("fmnist"))


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("GENIE_CACHE_DIR", str(cache))
    monkeypatch.setenv("WANDB_MODE", "offline")
    return cache


def compose_cfg(*overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.fixture
def tiny_cfg(fmnist_root) -> DictConfig:
    """The default config on the generated Fashion-MNIST with the smallest budgets."""
    return compose_cfg(f"data.root={fmnist_root}", "distill.samples=32", "quant.calib_samples=32",
                       "data.eval_samples=64", "progress=false")


def run_cli(*args: str, module: str = "genie_exp", env: dict | None = None, timeout: int = 600,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cwd or ""), full_env.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=cwd or REPO)


def cpu_ctx(**changes):
    """A run context on the CPU without progress bars (what most in-process tests want)."""
    from genie_exp.core.context import RunContext

    return RunContext(device=torch.device("cpu"), progress=False, **changes)


def distill_run(teacher, method: str, samples: int, batch_size: int, iters: int, image_size: int, seed: int = 0,
                channels_last: bool = False, **spec):
    """distill_images with a DistillConfig made of the arguments (spec: its other fields)."""
    from genie_exp.config import DistillConfig
    from genie_exp.distillation import distill_images

    cfg = DistillConfig(name=method, samples=samples, batch_size=batch_size, iters=iters, **spec)
    return distill_images(teacher, cfg, image_size, cpu_ctx(seed=seed, channels_last=channels_last))


def calib_set(cfg, teacher, data):
    """The pipeline's calibration stage for a composed config."""
    from genie_exp.core.context import RunContext
    from genie_exp.distillation import calibration_set
    from genie_exp.hydra_config import to_config

    config = to_config(cfg)
    return calibration_set(config.distill, teacher, data.image_size, RunContext.from_config(config), data,
                           config.model.name)


def teacher_of(cfg, data):
    """The pipeline's teacher for a composed config: (model, where its weights came from)."""
    from genie_exp.core.context import RunContext
    from genie_exp.hydra_config import to_config
    from genie_exp.teachers import load_teacher

    config = to_config(cfg)
    return load_teacher(config.model, data, RunContext.from_config(config), config.train, config.data)


def with_bn_statistics(model: nn.Module, shape: tuple, batches: int = 3) -> nn.Module:
    """`model` in eval mode, its BatchNorm statistics from a few random batches of `shape` (a trained
    model's stand-in; the caller seeds)."""
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(*shape))
    return model.eval()


class Pforte(nn.Module):
    """A squeeze-and-excitation gate under names no table knows: x * sigmoid(conv(relu(conv(pool(x)))))."""

    def __init__(self, c: int):
        super().__init__()
        self.eng, self.weit = nn.Conv2d(c, 4, 1), nn.Conv2d(4, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.weit(torch.relu(self.eng(x.mean((2, 3), keepdim=True)))))


class Umkehr(nn.Module):
    """An inverted residual with Hardswish and a gate; the skip only where the shapes allow it."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.auf = nn.Sequential(nn.Conv2d(cin, 2 * cin, 1, bias=False), nn.BatchNorm2d(2 * cin), nn.Hardswish())
        self.tief = nn.Sequential(nn.Conv2d(2 * cin, 2 * cin, 3, stride, 1, groups=2 * cin, bias=False),
                                  nn.BatchNorm2d(2 * cin), nn.Hardswish())
        self.pforte = Pforte(2 * cin)
        self.ab = nn.Sequential(nn.Conv2d(2 * cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.ab(self.pforte(self.tief(self.auf(x))))
        return x + y if self.skip else y
