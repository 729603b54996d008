"""Genie-D and its baselines: loss falls, swing conv, grouped batches, cache, zeroq, real."""
import copy

import pytest
import torch
import torch.nn as nn
from omegaconf import open_dict

import genie_exp.distillation.sources as sources_mod
from genie_exp.config import DistillConfig
from genie_exp.distillation.bn_stats import BNStatsLoss
from genie_exp.distillation.module import DistillModule
from genie_exp.distillation.swing import swing_convolution
from genie_exp.data import build_data
from genie_exp.core.errors import UserError
from genie_exp.models import create_model

from conftest import calib_set, compose_cfg, distill_run


def tiny_teacher(seed: int = 0) -> nn.Module:
    """A resnet20 whose BN running statistics come from data, so the target is not just N(0, 1)."""
    torch.manual_seed(seed)
    model = create_model("resnet20", width=4)
    model.train()
    with torch.no_grad():
        for _ in range(5):
            model(torch.rand(32, 3, 32, 32) * 2 + 0.5)
    return model.eval()


def test_bn_loss_falls_within_a_few_steps():
    teacher = tiny_teacher()
    first = distill_run(teacher, "genie", 16, 16, 1, 32).losses
    last = distill_run(teacher, "genie", 16, 16, 25, 32).losses
    assert last[0] < 0.5 * first[0]


def test_swing_wraps_exactly_the_strided_convs_and_goes_away():
    teacher = tiny_teacher()
    expected = {id(m) for m in teacher.modules() if isinstance(m, nn.Conv2d) and m.stride != (1, 1)}
    assert len(expected) == 4  # two strided 3x3 convs + two strided 1x1 shortcuts
    with swing_convolution(teacher) as convs:
        assert {id(c) for c in convs} == expected
        for m in teacher.modules():
            if isinstance(m, nn.Conv2d):
                assert bool(m._forward_pre_hooks) == (id(m) in expected)
    assert all(not m._forward_pre_hooks for m in teacher.modules())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(teacher(x), teacher(x))  # deterministic again: no swing left


def test_swing_shifts_the_input_by_at_most_one_pixel():
    conv = nn.Conv2d(1, 1, 1, stride=2, bias=False)
    nn.init.ones_(conv.weight)
    x = torch.arange(64.0).view(1, 1, 8, 8)
    outs = set()
    with swing_convolution(conv):
        for _ in range(40):
            outs.add(tuple(conv(x).flatten().tolist()))
    assert 1 < len(outs) <= 9


def test_grouped_batches_have_each_batch_statistics():
    teacher = tiny_teacher()
    stats = BNStatsLoss(teacher)
    a, b = torch.randn(8, 3, 32, 32), torch.randn(8, 3, 32, 32) * 2
    with torch.no_grad(), stats:
        together = stats.forward(teacher, torch.cat([a, b]), groups=2)
        alone = [stats.forward(teacher, x, groups=1) for x in (a, b)]
    for k in range(2):  # bn term and image term
        assert torch.allclose(together[k], torch.cat([alone[0][k], alone[1][k]]), rtol=1e-5, atol=1e-5)


def test_grouped_distillation_equals_one_by_one():
    teacher = tiny_teacher()
    one = distill_run(teacher, "genie", 16, 8, 5, 32, parallel_batches=1, swing=False).images
    two = distill_run(teacher, "genie", 16, 8, 5, 32, parallel_batches=2, swing=False).images
    assert torch.allclose(one, two, atol=1e-4)


def test_zeroq_changes_pixels_only_and_teacher_is_untouched():
    teacher = tiny_teacher()
    before = copy.deepcopy(teacher.state_dict())
    module = DistillModule(teacher, DistillConfig(name="zeroq", batch_size=8), [0], 32, seed=0)
    own = [p for n, p in module.named_parameters() if not n.startswith("teacher.")]
    assert len(own) == 1 and own[0].shape == (8, 3, 32, 32) and len(module.generators) == 0
    images = distill_run(teacher, "zeroq", 8, 8, 5, 32).images
    start = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert images.shape == (8, 3, 32, 32) and not torch.allclose(images, start)
    after = teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.requires_grad for p in teacher.parameters()) and not teacher.training


def test_teacher_without_batchnorm_is_refused():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 30 * 30, 10))
    with pytest.raises(UserError, match="distill=noise"):
        distill_run(model, "genie", 8, 8, 2, 32)


def _cfg(fmnist_root, *extra):
    return compose_cfg(f"data.root={fmnist_root}", "distill=genie", "distill.samples=8", "distill.batch_size=8",
                       "distill.iters=3", "progress=false", *extra)


def test_cache_miss_then_hit(fmnist_root, monkeypatch, isolated_cache):
    cfg = _cfg(fmnist_root)
    data = build_data(cfg.data)
    teacher = tiny_teacher()
    first = calib_set(cfg, teacher, data)
    assert first.cache == "miss" and list((isolated_cache / "calib").glob("*.pt"))
    monkeypatch.setattr(sources_mod, "distill_images", lambda *a, **k: pytest.fail("distilled again"))
    second = calib_set(cfg, teacher, data)
    assert second.cache == "hit" and torch.equal(first.images, second.images)
    # another seed or another teacher is another key
    monkeypatch.undo()
    monkeypatch.setenv("GENIE_CACHE_DIR", str(isolated_cache))
    assert calib_set(_cfg(fmnist_root, "seed=1"), teacher, data).cache == "miss"
    assert calib_set(cfg, tiny_teacher(seed=1), data).cache == "miss"


def test_cache_false_forces_a_fresh_set_and_leaves_the_cached_one(fmnist_root, isolated_cache):
    teacher = tiny_teacher()
    data = build_data(_cfg(fmnist_root).data)
    calib_set(_cfg(fmnist_root), teacher, data)
    (path,) = (isolated_cache / "calib").glob("*.pt")
    before = (path.stat().st_mtime_ns, path.read_bytes())
    assert calib_set(_cfg(fmnist_root, "distill.cache=false"), teacher, data).cache == "off"
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before  # not rewritten
    assert list((isolated_cache / "calib").glob("*.pt")) == [path]


def test_truncated_cache_is_rebuilt(fmnist_root, isolated_cache):
    cfg = _cfg(fmnist_root)
    teacher = tiny_teacher()
    data = build_data(cfg.data)
    calib_set(cfg, teacher, data)
    (path,) = (isolated_cache / "calib").glob("*.pt")
    path.write_bytes(path.read_bytes()[:100])
    again = calib_set(cfg, teacher, data)
    assert again.cache == "miss" and again.images.shape == (8, 3, 32, 32)


def test_real_never_touches_the_test_split(fmnist_root):
    cfg = compose_cfg(f"data.root={fmnist_root}", "distill=real", "distill.samples=16")
    data = build_data(cfg.data)
    data.test = lambda: pytest.fail("the test split was read")
    images = calib_set(cfg, tiny_teacher(), data).images
    train_x = torch.stack([data.train(False)[i][0] for i in range(len(data.train(False)))])
    assert images.shape == (16, 3, 32, 32)
    assert all(any(torch.equal(img, t) for t in train_x) for img in images)


def test_all_sources_yield_the_same_shape(fmnist_root):
    teacher = tiny_teacher()
    shapes = set()
    for source in ("genie", "zeroq", "noise", "real"):
        cfg = compose_cfg(f"data.root={fmnist_root}", f"distill={source}", "distill.samples=8",
                          "distill.batch_size=8", "progress=false")
        with open_dict(cfg):
            cfg.distill.iters = 2
        shapes.add(tuple(calib_set(cfg, teacher, build_data(cfg.data)).images.shape))
    assert shapes == {(8, 3, 32, 32)}


def test_early_stop_ends_a_group_once_its_loss_stalls():
    teacher = create_model("resnet20", width=4).eval()
    full = distill_run(teacher, "genie", 8, 8, 60, 16).steps
    # patience 1: the first step whose loss is not 1% below the best ends the group
    stopped = distill_run(teacher, "genie", 8, 8, 60, 16, early_stop=1)
    images = stopped.images
    assert full == [60]
    assert 1 < stopped.steps[0] < 60
    assert images.shape == (8, 3, 16, 16) and torch.isfinite(images).all()
