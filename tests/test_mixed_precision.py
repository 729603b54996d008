"""quant.budget.weight_bits_avg: weight bits per layer from their damage on the calibration set, under a
size budget that the allocation meets, on a net the project has never seen (a concat merge, a residual
in its own forward); the bits survive the run record, save/load and the export."""
from __future__ import annotations

import json

import pytest
import torch

import genie_exp
from genie_exp.config import BudgetConfig, QuantConfig, check_section, result_settings
from genie_exp.core.errors import UserError
from genie_exp.quant.mixed import allocate, allocated_layers, sensitivities

from test_layer_bits import Zickzack, _bits, _net


def test_the_allocation_meets_the_budget_exactly_and_gives_the_bits_where_they_pay():
    weights = {"a": 100, "b": 100, "c": 200, "d": 100}
    sens = {"a": {2: 9.0, 3: 1.0, 4: 0.5, 8: 0.0}, "b": {2: 0.3, 3: 0.2, 4: 0.1, 8: 0.0},
            "c": {2: 5.0, 3: 4.0, 4: 0.2, 8: 0.0}, "d": {2: 0.2, 3: 0.1, 4: 0.05, 8: 0.0}}
    bits = allocate(sens, weights, 3.0)
    assert sum(bits[n] * weights[n] for n in bits) == 3.0 * sum(weights.values())  # 1,500 bits of 1,500
    assert bits == {"a": 3, "b": 2, "c": 4, "d": 2}  # the cheapest damage: 1 + 0.3 + 0.2 + 0.2
    # the optimum by enumeration, not by the knapsack
    import itertools
    best = min((sum(sens[n][b] for n, b in zip(weights, c)), c) for c in itertools.product((2, 3, 4, 8), repeat=4)
               if sum(b * weights[n] for n, b in zip(weights, c)) <= 1500)
    assert tuple(bits.values()) == best[1]
    assert allocate(sens, weights, 2.0) == dict.fromkeys(weights, 2)
    assert set(allocate(sens, weights, 8.0).values()) == {8}
    with pytest.raises(UserError, match="outside the candidate bits 2..8"):
        allocate(sens, weights, 1.5)


def test_the_budget_leaves_the_layers_the_rules_or_the_user_fix():
    order = ["stem", "gate.fc", "b1", "b2", "head"]
    assert allocated_layers(order, ["gate.fc"], 8, 8, 8, {}) == ["b1", "b2"]
    assert allocated_layers(order, ["gate.fc"], 8, None, None, {"b2": {"w": 4}, "b1": {"a": 8}}) == ["gate.fc", "b1", "head"]


def test_sensitivity_falls_with_the_bits_and_the_model_comes_back_unchanged():
    model = _net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sens = sensitivities(model, torch.randn(16, 3, 16, 16), ["links", "mitte"])
    for s in sens.values():
        assert s[2] > s[3] > s[4] > s[8] >= 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_budget_is_a_setting_checked_in_one_line():
    assert result_settings({"quant": {"w": 2, "budget": {"weight_bits_avg": None}}}) == {"quant.w": 2}
    with pytest.raises(UserError, match="quant.budget.weight_bits_avg must be a number from 2 to 8"):
        check_section(QuantConfig(budget=BudgetConfig(weight_bits_avg=1.5)), "quant")


def test_a_mixed_run_meets_its_budget_and_its_bits_survive_save_load_and_onnx(tmp_path):
    model = _net()
    torch.manual_seed(1)
    calib, x = torch.randn(16, 3, 16, 16), torch.randn(32, 3, 16, 16)
    y = model(x).argmax(1)
    q = genie_exp.quantize(model, calib, w_bits=2, a_bits=4, iters=2, batch_size=8, progress=False, device="cpu",
                           weight_bits_avg=2.5, run_dir=tmp_path / "run", test=(x, y))
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    allocated = ["links", "rechts", "mitte"]  # the first and last layers keep their 8 bits
    size = {n: m["layer_bits"][n]["weights"] for n in allocated}
    got = {n: m["layer_bits"][n]["w"] for n in allocated}
    assert sum(got[n] * size[n] for n in allocated) <= 2.5 * sum(size.values())
    assert len(set(got.values())) > 1 and m["layer_bits"]["kopf"]["w"] == 8
    loaded = genie_exp.load_quantized(tmp_path / "run", model=Zickzack())
    assert _bits(loaded) == _bits(q) and {n: _bits(loaded)[n][0] for n in allocated} == got
    with torch.no_grad():
        assert torch.equal(loaded(x), q(x))
    pytest.importorskip("onnxruntime")
    check = genie_exp.verify(tmp_path / "run", x, y)
    assert check["same_prediction"] >= 0.9 and check["max_abs_logit_diff"] < 0.1, check


def test_the_cli_key_records_the_allocation_and_the_artifact_carries_it(tmp_path, fmnist_root):
    from genie_exp.pipeline import run

    from conftest import compose_cfg

    cfg = compose_cfg(f"data.root={fmnist_root}", "quant.w=2", "quant.budget.weight_bits_avg=3", "distill=noise",
                      "distill.samples=16", "recon.iters=2", "recon.batch_size=8", "quant.calib_samples=16",
                      "data.eval_samples=32", "progress=false")
    m = run(cfg, tmp_path)
    mp, bits = m["mixed_precision"], m["layer_bits"]
    assert set(mp["bits"]) == set(bits) - {"conv1", "fc"}  # resnet20: all but the first and the last layer
    assert mp["achieved"] <= 3.0 and mp["achieved"] > 2.9 and len(set(mp["bits"].values())) > 1
    assert all(bits[n]["w"] == b for n, b in mp["bits"].items())
    assert m["settings"]["quant.budget.weight_bits_avg"] == 3
    assert m["weight_mb"] == pytest.approx(sum(v["w"] * v["weights"] for v in bits.values()) / 8e6, abs=1e-6)
    loaded = genie_exp.load_quantized(tmp_path / "quantized.pt")
    assert {n: b[0] for n, b in _bits(loaded).items() if n in mp["bits"]} == mp["bits"]
