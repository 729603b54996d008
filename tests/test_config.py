"""Every config composes; the model group works with `+model=`; the schema rejects typos."""
import pytest
from hydra.errors import ConfigCompositionException

from genie_exp.cli import group_options
from genie_exp.validate import validate

from conftest import compose_cfg

GROUPS = ["data", "distill", "quantizer", "trainer", "logger"]


def test_default_composes_and_validates():
    cfg = compose_cfg()
    validate(cfg)
    assert cfg.model.name == "resnet20" and cfg.data.name == "fashion_mnist"
    assert cfg.quant.w == 4 and cfg.quant.a == 4


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in group_options(g)])
def test_every_group_option_composes(group, option):
    cfg = compose_cfg(f"{group}={option}", "data.root=/somewhere")
    if group == "trainer":
        assert cfg.trainer.devices == "auto" or cfg.trainer.devices >= 1
        assert cfg.trainer.strategy == ("ddp" if option == "ddp" else "auto")
    else:
        assert cfg[group].name == option


@pytest.mark.parametrize("model", group_options("model"))
def test_every_model_appends_with_plus(model):
    cfg = compose_cfg(f"+model={model}", "quant.w=2")
    assert cfg.model.name == model and cfg.quant.w == 2
    assert set(cfg.model.keys()) == set(compose_cfg().model.keys())  # every field filled


def test_typo_key_is_an_error():
    with pytest.raises(ConfigCompositionException):
        compose_cfg("quant.ww=3")


def test_budget_presets_set_steps_and_images():
    from genie_exp.cli import preflight
    from genie_exp.config import DistillConfig, ReconConfig

    default = compose_cfg()
    assert compose_cfg("budget=default") == default  # the schema's values, nothing else
    assert (default.distill.iters, default.recon.iters) == (DistillConfig.iters, ReconConfig.iters)
    paper = compose_cfg("budget=paper")
    assert (paper.distill.samples, paper.distill.batch_size, paper.distill.iters) == (1024, 128, 4000)
    assert (paper.recon.iters, paper.recon.batch_size, paper.recon.lr_rounding) == (20000, 32, 1e-3)
    fast = compose_cfg("budget=fast")
    assert fast.distill.iters < default.distill.iters and fast.recon.iters < default.recon.iters
    assert compose_cfg("budget=fast", "recon.iters=7").recon.iters == 7  # a key still wins over its preset
    for name in ("fast", "paper"):
        validate(compose_cfg(f"budget={name}"))
    assert preflight(["budget=slow"], "config") == "unknown budget 'slow' (choose from: default, fast, paper)"


def test_the_bench_projects_the_paper_budget_preset():
    from genie_exp.bench.run import PAPER_DISTILL_STEPS, PAPER_RECON_ITERS

    paper = compose_cfg("budget=paper")
    assert PAPER_DISTILL_STEPS == paper.distill.samples // paper.distill.batch_size * paper.distill.iters
    assert PAPER_RECON_ITERS == paper.recon.iters


def test_the_reference_methods_keep_their_own_bn_loss():
    """Genie-D's default weighs the first BatchNorm layer up (config.DistillConfig); ZeroQ and the
    paper's experiment keep the equal weights their papers use, whatever that default is."""
    from genie_exp.config import DistillConfig

    assert compose_cfg().distill.first_bn_weight == DistillConfig.first_bn_weight
    assert compose_cfg("distill=zeroq").distill.first_bn_weight == 1.0
    assert compose_cfg("distill=zeroq", "distill.first_bn_weight=3").distill.first_bn_weight == 3.0
