"""The paper's six ImageNet models: library architectures at reduced resolution (random weights, no
download), their reconstruction blocks, the small-image variants, checkpoints and `+experiment=paper`."""
import json

import pytest
import torch
import torch.nn as nn

from conftest import compose_cfg, make_image_folder, run_cli, teacher_of
from genie_exp.cli import preflight
from genie_exp.data import build_data
from genie_exp.core.errors import UserError
from genie_exp.models import create_model
from genie_exp.models import library
from genie_exp.partition import plan_units

# name -> (block class, number of blocks) of the ImageNet architecture
BLOCKS = {"resnet18": ("BasicBlock", 8), "resnet50": ("Bottleneck", 16),
          "mobilenetv2": ("InvertedResidual", 17), "regnetx_600m": ("Bottleneck", 16),
          "regnetx_3200m": ("Bottleneck", 25), "mnasnet": ("_InvertedResidual", 16)}
NAMES = list(BLOCKS)


@pytest.fixture(scope="module")
def inet_root(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp("inet"), classes=3, per_class=2, size=72)


def tiny_args(root, name: str) -> list[str]:
    """data=imagenet at 64x64 with the ImageNet architecture forced, every budget at its minimum;
    quant.lp=2 only makes the weight grid search cheaper (squares instead of powers)."""
    return ["data=imagenet", f"data.root={root}", "data.image_size=64", "data.resize=72", f"+model={name}",
            "+model.kwargs.variant=imagenet", "model.pretrained=false", "distill.samples=8",
            "distill.batch_size=8", "distill.iters=2", "recon.iters=2", "recon.batch_size=4",
            "quant.calib_samples=8", "quant.lp=2", "data.eval_samples=6", "data.workers=0",
            "data.batch_size=6", "progress=false"]


@pytest.mark.parametrize("name", NAMES)
def test_imagenet_architecture_has_block_units(name):
    model = create_model(name, num_classes=1000, image_size=224).eval()
    blocks = plan_units(model, torch.randn(2, 3, 64, 64)).blocks
    cls, n = BLOCKS[name]
    assert len(blocks) == n and {type(model.get_submodule(b)).__name__ for b in blocks} == {cls}
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "mobilenetv2"])  # mobilenetv2: the CLI test
def test_pipeline_end_to_end_at_reduced_resolution(name, inet_root, tmp_path):
    from genie_exp.pipeline import run

    m = run(compose_cfg(*tiny_args(inet_root, name)), tmp_path)
    assert (tmp_path / "metrics.json").is_file() and m["model"] == name and m["dataset"] == "imagenet"
    assert m["teacher"] == "random" and m["eval_samples"] == 6 and 0.0 <= m["quant_top1"] <= 1.0
    assert sum(u["kind"] == "block" for u in m["units"]) == BLOCKS[name][1]


def test_cli_end_to_end_mobilenetv2(inet_root, tmp_path):
    r = run_cli(*tiny_args(inet_root, "mobilenetv2"), f"hydra.run.dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert (m["model"], m["dataset"], m["n_samples"]) == ("mobilenetv2", "imagenet", 8)
    assert sum(u["kind"] == "block" for u in m["units"]) == 17


@pytest.mark.parametrize("name", NAMES)
def test_small_variant_on_32x32(name):
    model = create_model(name, num_classes=10, image_size=32).eval()
    sizes = []
    hooks = [c.register_forward_hook(lambda _m, _i, o: sizes.append(o.shape[-1]))
             for c in model.modules() if isinstance(c, nn.Conv2d)]
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    for h in hooks:
        h.remove()
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    assert sizes[-1] >= 2  # fewer reductions than the ImageNet net, which ends at 1x1 here
    assert len(plan_units(model, torch.randn(2, 3, 32, 32)).blocks) >= 8


def _imagenet_cfg(name: str, *extra: str):
    cfg = compose_cfg("data=imagenet", "data.root=/nonexistent", f"+model={name}", *extra)
    return cfg, build_data(cfg.data)  # lazy: no image is read


@pytest.mark.parametrize("name", NAMES)
def test_weights_file_from_the_library_model_loads(name, tmp_path):
    state = create_model(name, num_classes=1000, image_size=224).state_dict()
    torch.save(dict(state), tmp_path / "w.pt")  # a plain dict: no module versions, as after a key conversion
    model, source = teacher_of(*_imagenet_cfg(name, f"model.weights={tmp_path / 'w.pt'}"))
    assert source.endswith("w.pt") and not model.training
    got = model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in state.items())


def test_wrong_weights_file_is_one_line(tmp_path):
    torch.save(create_model("resnet18", num_classes=1000, image_size=224).state_dict(), tmp_path / "r18.pt")
    with pytest.raises(UserError) as e:
        teacher_of(*_imagenet_cfg("resnet50", f"model.weights={tmp_path / 'r18.pt'}"))
    assert "does not match" in str(e.value) and "\n" not in str(e.value)


def test_paper_experiment_composes():
    args = ["+experiment=paper", "+model=resnet18", "quant.w=4", "quant.a=4", "data.root=/path"]
    assert preflight(args, "config") is None  # the CLI's own check of group options and values
    cfg = compose_cfg(*args)
    assert (cfg.data.name, cfg.data.image_size, cfg.data.num_classes) == ("imagenet", 224, 1000)
    assert (cfg.distill.name, cfg.distill.samples, cfg.distill.batch_size, cfg.distill.iters) == \
        ("genie", 1024, 128, 4000)
    assert (cfg.quantizer.name, cfg.recon.iters, cfg.recon.batch_size) == ("genie", 20000, 32)
    assert (cfg.model.name, cfg.quant.w, cfg.quant.a, cfg.model.pretrained) == ("resnet18", 4, 4, True)
    assert cfg.distill.first_bn_weight == 1.0  # the paper's BN loss: every layer weighed alike


@pytest.fixture
def no_network(monkeypatch):
    """Both libraries' download functions raise, as they do offline (nothing is fetched)."""
    import timm.models._builder
    import torchvision.models._api

    def offline(*_a, **_k):
        raise OSError("[Errno -3] Temporary failure in name resolution\nsecond line")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    monkeypatch.setattr(timm.models._builder, "load_pretrained", offline)


@pytest.mark.parametrize("name,extra,needle", [
    ("resnet18", (), "torchvision ImageNet weights ResNet18_Weights.IMAGENET1K_V1"),
    ("regnetx_600m", (), "timm ImageNet weights regnetx_006.pycls_in1k"),
    ("mnasnet", ("+model.kwargs.alpha=1.0",), "MNASNet1_0_Weights"),
    ("mnasnet", (), "no library ships ImageNet weights for mnasnet with alpha 2"),
])
def test_pretrained_without_network_is_one_line(name, extra, needle, no_network):
    with pytest.raises(UserError) as e:
        teacher_of(*_imagenet_cfg(name, *extra))
    msg = str(e.value)
    assert needle in msg and "model.weights=PATH" in msg and "model.pretrained=false" in msg
    assert "\n" not in msg


def test_library_weight_ids_are_known_without_download():
    import timm
    from torchvision.models import get_weight

    for weights_id in [*library.TORCHVISION_WEIGHTS.values(), *library.MNASNET_WEIGHTS.values()]:
        assert get_weight(weights_id).meta["num_params"] > 0
    assert set(library.TIMM_WEIGHTS.values()) <= set(timm.list_pretrained())


def test_library_state_dict_is_loaded(monkeypatch):
    state = create_model("resnet18", num_classes=1000, image_size=224).state_dict()
    monkeypatch.setattr(library, "_torchvision_state", lambda weights_id: state)
    model, source = teacher_of(*_imagenet_cfg("resnet18"))
    assert source == "library" and torch.equal(model.state_dict()["fc.weight"], state["fc.weight"])
