"""The data contract: shapes, padding, normalisation, channel repeat; the three dataset paths."""
import pytest
import torch

from genie_exp.data import build_data
from genie_exp.data.fashion_mnist import MEAN, STD, read_idx
from genie_exp.core.errors import UserError

from conftest import compose_cfg, make_cifar10, make_image_folder


def test_fashion_mnist_contract(fmnist_root):
    spec = build_data(compose_cfg(f"data.root={fmnist_root}").data)
    train, test = spec.train(False), spec.test()
    assert len(train) == 256 and len(test) == 128
    x, y = test[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and 0 <= int(y) < 10
    border = (0.0 - MEAN) / STD
    assert torch.allclose(x[:, :2, :], torch.full_like(x[:, :2, :], border))
    assert torch.allclose(x[:, :, -2:], torch.full_like(x[:, :, -2:], border))
    assert torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])
    raw = test.images[0].float() / 255.0
    assert torch.allclose(x[0, 2:30, 2:30], (raw - MEAN) / STD, atol=1e-6)


def test_fashion_mnist_debian_package_if_installed():
    import os
    root = "/usr/share/datasets/fashion-mnist"
    if not os.path.isdir(root):
        pytest.skip("dataset-fashion-mnist not installed")
    spec = build_data(compose_cfg().data)
    assert len(spec.train(False)) == 60000 and len(spec.test()) == 10000


def test_missing_fashion_mnist_names_path_and_remedy(tmp_path):
    spec = build_data(compose_cfg(f"data.root={tmp_path / 'nope'}").data)
    with pytest.raises(UserError) as e:
        spec.test()
    assert str(tmp_path / "nope") in str(e.value) and "dataset-fashion-mnist" in str(e.value)


def test_truncated_idx_is_reported(tmp_path, fmnist_root):
    import shutil, gzip
    root = tmp_path / "bad"
    shutil.copytree(fmnist_root, root)
    with gzip.open(root / "t10k-images-idx3-ubyte.gz", "rb") as f:
        raw = f.read()
    with gzip.open(root / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(raw[:1000])
    with pytest.raises(UserError, match="truncated"):
        build_data(compose_cfg(f"data.root={root}").data).test()


def test_cifar10_from_generated_batches(tmp_path):
    root = make_cifar10(tmp_path)
    spec = build_data(compose_cfg("data=cifar10", f"data.root={root}").data)
    assert len(spec.train(True)) == 100 and len(spec.test()) == 20
    x, _ = spec.train(True)[0]
    assert x.shape == (3, 32, 32)
    raw = spec.test().images[3].float() / 255.0
    mean = torch.tensor(spec.mean).view(3, 1, 1)
    std = torch.tensor(spec.std).view(3, 1, 1)
    assert torch.allclose(spec.test()[3][0], (raw - mean) / std, atol=1e-6)


def test_imagenet_folder_resize_crop(tmp_path):
    root = make_image_folder(tmp_path)
    spec = build_data(compose_cfg("data=imagenet", f"data.root={root}", "data.image_size=32",
                                  "data.resize=40").data)
    x, y = spec.test()[0]
    assert x.shape == (3, 32, 32) and len(spec.test()) == 12 and spec.num_classes == 1000


def test_imagenet_missing_split(tmp_path):
    spec = build_data(compose_cfg("data=imagenet", f"data.root={tmp_path}").data)
    with pytest.raises(UserError, match="val"):
        spec.test()


def test_read_idx_labels(fmnist_root):
    labels = read_idx(fmnist_root / "train-labels-idx1-ubyte.gz")
    assert labels.shape == (256,) and labels.max() < 10


def test_the_dataset_names_checked_before_torch_loads_are_the_registry_s():
    from genie_exp.choices import DATASETS
    from genie_exp.data import BUILDERS

    assert tuple(BUILDERS) == DATASETS
    with pytest.raises(UserError, match="unknown dataset 'cifar'.*did you mean 'cifar10'"):
        BUILDERS["cifar"]
