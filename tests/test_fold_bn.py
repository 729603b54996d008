"""quant.fold_bn: the folded model computes the same function, has no BN left, and quantizes."""
import json

import torch
import torch.nn as nn

from genie_exp.models import create_model
from genie_exp.pipeline import run
from genie_exp.quant.fold import conv_bn_pairs, fold_batchnorm

from conftest import compose_cfg


def _teacher():
    torch.manual_seed(0)
    model = create_model("mobilenetv2").train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 3, 32, 32) * 2 + 1)  # non-trivial running statistics
    return model.eval()


def test_folding_keeps_the_function_and_removes_bn():
    model = _teacher()
    x = torch.randn(4, 3, 32, 32)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert len(conv_bn_pairs(model, x)) == n_bn  # every BN of MobileNetV2 follows a conv
    folded = fold_batchnorm(model, x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # the teacher is untouched
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-4, rtol=1e-4)


def test_pipeline_with_fold_bn(tmp_path, fmnist_root):
    cfg = compose_cfg(f"data.root={fmnist_root}", "quant.fold_bn=true", "distill=noise", "distill.samples=16",
                      "recon.iters=3", "recon.batch_size=8", "quant.calib_samples=16", "data.eval_samples=32",
                      "progress=false")
    m = run(cfg, tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text())["quant_top1"] == m["quant_top1"]
    assert [u["name"] for u in m["units"]][:2] == ["conv1", "layer1.0"]
