"""quant.layer_bits: per-layer bits by name or glob, on a net the project has never seen (odd names, a
concat merge, a residual in its own forward), through convert, the API run record, save/load and the
ONNX export."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import genie_exp
from genie_exp.config import QuantConfig, check_section, result_settings
from genie_exp.core.errors import UserError
from genie_exp.quant import convert
from genie_exp.quant.layer import QuantLayer

from conftest import with_bn_statistics


class Zickzack(nn.Module):
    def __init__(self):
        super().__init__()
        self.eingang, self.bn0 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.links, self.rechts = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 1)
        self.bn1 = nn.BatchNorm2d(16)
        self.mitte, self.bn2 = nn.Conv2d(16, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.kopf = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.bn0(self.eingang(x)))
        y = F.relu(self.bn1(torch.cat([self.links(x), self.rechts(x)], 1)))
        y = F.relu(self.bn2(self.mitte(y)) + x)
        return self.kopf(y.mean((2, 3)))


def _bits(student) -> dict:
    return {n: (m.weight_quantizer.bits, None if m.act_quantizer is None else m.act_quantizer.bits)
            for n, m in student.named_modules() if isinstance(m, QuantLayer)}


def _net() -> nn.Module:
    torch.manual_seed(0)
    return with_bn_statistics(Zickzack(), (8, 3, 16, 16))


def test_the_map_sets_the_bits_it_names_and_wins_over_the_first_and_last_layer_rules():
    x = torch.randn(2, 3, 16, 16)
    plain = _bits(convert(_net(), 2, 4, x, blocks=[]))
    mixed = _bits(convert(_net(), 2, 4, x, blocks=[], layer_bits={"links": {"w": 3}, "r*": {"w": 5, "a": 6},
                                                                    "kopf": {"w": 4}, "eingang": {"a": 2}}))
    assert plain == {"eingang": (8, None), "links": (2, 8), "rechts": (2, 4), "mitte": (2, 4), "kopf": (8, 8)}
    # the image stays FP (no quant.quantize_image); the last matching pattern wins
    assert mixed == {"eingang": (8, None), "links": (3, 8), "rechts": (5, 6), "mitte": (2, 4), "kopf": (4, 8)}
    later = _bits(convert(_net(), 2, 4, x, blocks=[], layer_bits={"*": {"w": 3}, "mitte": {"w": 6}}))
    assert [later[n][0] for n in ("eingang", "links", "mitte", "kopf")] == [3, 3, 6, 3]


def test_a_pattern_that_matches_nothing_and_bad_values_are_one_line():
    with pytest.raises(UserError, match="'link' matches no quantized layer .*eingang"):
        convert(_net(), 2, 4, torch.randn(2, 3, 16, 16), layer_bits={"link": {"w": 3}})
    for bad, needle in (({"links": {"w": 9}}, r"\['links'\].w must be an integer from 2 to 8"),
                        ({"links": {"b": 3}}, r"\['links'\] must be \{w: BITS\}"),
                        ({"links": 3}, r"\['links'\] must be"), ([1, 2], "must map layer names")):
        with pytest.raises(UserError, match=needle):
            check_section(QuantConfig(layer_bits=bad), "quant")


def test_the_map_is_part_of_a_runs_settings():
    base = result_settings({"quant": {"w": 2, "layer_bits": {}}})
    mixed = result_settings({"quant": {"w": 2, "layer_bits": {"mitte": {"w": 4}}}})
    assert base == {"quant.w": 2} and mixed["quant.layer_bits.mitte.w"] == 4


def test_per_layer_bits_survive_the_run_record_save_load_and_onnx(tmp_path):
    model = _net()
    torch.manual_seed(1)
    calib, x = torch.randn(16, 3, 16, 16), torch.randn(32, 3, 16, 16)
    y = model(x).argmax(1)
    q = genie_exp.quantize(model, calib, w_bits=2, a_bits=4, iters=2, batch_size=8, progress=False, device="cpu",
                           layer_bits={"mitte": {"w": 4}}, run_dir=tmp_path / "run", test=(x, y))
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["layer_bits"]["mitte"] == {"w": 4, "a": m["layer_bits"]["mitte"]["a"], "weights": 16 * 8 * 9}
    assert m["layer_bits"]["links"]["w"] == 2 and m["layer_bits"]["kopf"]["w"] == 8
    assert m["settings"]["quant.layer_bits.mitte.w"] == 4
    loaded = genie_exp.load_quantized(tmp_path / "run", model=Zickzack())
    assert _bits(loaded) == _bits(q) and _bits(loaded)["mitte"][0] == 4
    with torch.no_grad():
        assert torch.equal(loaded(x), q(x))
    pytest.importorskip("onnxruntime")
    check = genie_exp.verify(tmp_path / "run", x, y)  # the export carries each layer's own bits
    assert check["same_prediction"] >= 0.9 and check["max_abs_logit_diff"] < 0.1, check
