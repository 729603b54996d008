"""Each unit of the plan names its module's class and why it is a unit (residual add, concat, gate,
depthwise group, user / known block, single layer); the plan prints a line per unit, keeps both in its
dict and in a saved model's recipe, and reads back plans stored without them."""
from __future__ import annotations

import torch
import torch.nn as nn

import genie_exp
from genie_exp.artifact import artifact_blob
from genie_exp.core.io import save_torch
from genie_exp.partition import Plan, PlannedUnit, plan_units
from genie_exp.recon.stage import make_plan

X = torch.randn(2, 3, 12, 12)


class Zweig(nn.Module):
    """A residual: x + conv(relu(conv(x)))."""

    def __init__(self, c: int):
        super().__init__()
        self.a, self.b = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 1)

    def forward(self, x):
        return x + self.b(torch.relu(self.a(x)))


class Strauss(nn.Module):
    """A dense-style concat: cat(x, relu(conv(x)))."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return torch.cat([x, torch.relu(self.conv(x))], 1)


class Tiefe(nn.Module):
    """A depthwise conv and the pointwise conv that reads it, no skip."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.dw, self.pw = nn.Conv2d(cin, cin, 3, padding=1, groups=cin), nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        return self.pw(torch.relu(self.dw(x)))


class Klappe(nn.Module):
    """A squeeze-and-excitation gate: x * sigmoid(conv(relu(conv(pool(x)))))."""

    def __init__(self, c: int):
        super().__init__()
        self.zu, self.auf = nn.Conv2d(c, 4, 1), nn.Conv2d(4, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.auf(torch.relu(self.zu(x.mean((2, 3), keepdim=True)))))


class Wirrwarr(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.zweig, self.strauss, self.tiefe, self.klappe = Zweig(8), Strauss(8), Tiefe(16, 16), Klappe(16)
        self.kopf = nn.Linear(16, 4)

    def forward(self, x):
        x = self.klappe(self.tiefe(self.strauss(self.zweig(torch.relu(self.stem(x))))))
        return self.kopf(x.mean((2, 3)))


EXPECTED = [("stem", "layer", "Conv2d", "single layer"),
            ("zweig", "block", "Zweig", "residual add"),
            ("strauss", "block", "Strauss", "concat"),
            ("tiefe", "block", "Tiefe", "depthwise group"),
            ("klappe", "block", "Klappe", "gate"),
            ("kopf", "layer", "Linear", "single layer")]


def _units(plan: Plan) -> list[tuple[str, str, str, str]]:
    return [(u.name, u.kind, u.class_name, u.reason) for u in plan.units]


def test_each_unit_names_its_class_and_the_reason_it_is_a_unit():
    plan = plan_units(Wirrwarr().eval(), X)
    assert _units(plan) == EXPECTED
    assert plan.to_dict()["units"] == [{"name": n, "kind": k, "class": c, "reason": r} for n, k, c, r in EXPECTED]


class InvertedResidual(nn.Module):
    """Named like torchvision's block (the class table takes it), with the skip only at stride 1."""

    def __init__(self, c: int, skip: bool):
        super().__init__()
        self.dw, self.pw, self.skip = nn.Conv2d(c, c, 3, padding=1, groups=c), nn.Conv2d(c, c, 1), skip

    def forward(self, x):
        y = self.pw(torch.relu(self.dw(x)))
        return x + y if self.skip else y


class Beides(nn.Module):
    """A residual add, then a concat, in one forward."""

    def __init__(self, c: int):
        super().__init__()
        self.a, self.b = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)

    def forward(self, x):
        y = x + self.a(x)
        return torch.cat([y, self.b(y)], 1)


def test_user_and_known_blocks_say_what_they_hold_and_a_block_names_all_its_merges():
    model = nn.Sequential(nn.Conv2d(3, 8, 1), InvertedResidual(8, False), InvertedResidual(8, True), Zweig(8),
                          Klappe(8), Beides(8)).eval()
    plan = plan_units(model, X, user_blocks=["Zweig", "Klappe"])
    assert _units(plan) == [("0", "layer", "Conv2d", "single layer"),
                            ("1", "block", "InvertedResidual", "known block"),
                            ("2", "block", "InvertedResidual", "known block (residual add)"),
                            ("3", "block", "Zweig", "user block (residual add)"),
                            ("4", "block", "Klappe", "user block (gate)"),
                            ("5", "block", "Beides", "residual add, concat")]
    assert [u.source for u in plan.units] == ["layer", "class", "class", "model.blocks", "model.blocks", "merge"]


def test_the_printed_plan_has_a_line_per_unit_under_the_unchanged_summary(capsys):
    plan = make_plan(Wirrwarr().eval(), X)
    out = capsys.readouterr().out
    assert out == ("reconstruction plan: 4 blocks, 2 layers (stem, kopf); 2 merges, 1 gate\n"
                   "  stem     Conv2d   single layer\n"
                   "  zweig    Zweig    residual add\n"
                   "  strauss  Strauss  concat\n"
                   "  tiefe    Tiefe    depthwise group\n"
                   "  klappe   Klappe   gate\n"
                   "  kopf     Linear   single layer\n")
    assert plan.unit_lines() == out.splitlines()[1:]
    make_plan(Wirrwarr().eval(), X, announce=False)
    assert capsys.readouterr().out == ""


def test_plan_dicts_read_back_with_or_without_the_units():
    plan = plan_units(Wirrwarr().eval(), X)
    again = Plan.from_dict(plan.to_dict())
    assert again.units == plan.units and again.to_dict() == plan.to_dict()
    old = {k: v for k, v in plan.to_dict().items() if k != "units"}  # as plans were stored before
    legacy = Plan.from_dict(old)
    assert legacy.units == [] and (legacy.merges, legacy.gates) == (2, 1) and legacy.unit_lines() == []
    bare = Plan.from_dict({"units": [{"name": "fc", "kind": "layer"}]})  # a unit without class or reason
    assert bare.units == [PlannedUnit("fc", "layer", "", "", "")] and bare.unit_lines() == ["  fc  -  -"]


def test_the_report_and_a_saved_models_recipe_carry_class_and_reason(tmp_path):
    torch.manual_seed(0)
    model = Wirrwarr().eval()
    calib = torch.randn(8, 3, 12, 12)
    q = genie_exp.quantize(model, calib, w_bits=4, a_bits=8, iters=2, batch_size=4, progress=False)
    assert [(u["name"], u["class"], u["reason"]) for u in q.genie_report.units] == [(n, c, r) for n, _, c, r in EXPECTED]
    assert all("loss" in u and "seconds" in u for u in q.genie_report.units)
    path = genie_exp.save_quantized(q, tmp_path / "quantized.pt")
    loaded = genie_exp.load_quantized(path, model=model)
    assert [(u.name, u.class_name, u.reason) for u in Plan.from_dict(loaded.genie_recipe["plan"]).units] == \
        [(n, c, r) for n, _, c, r in EXPECTED]
    # a file saved before the plan kept its units loads as it did
    blob = artifact_blob(q)
    blob["plan"] = {k: v for k, v in blob["plan"].items() if k != "units"}
    save_torch(blob, tmp_path / "old.pt")
    old = genie_exp.load_quantized(tmp_path / "old.pt", model=model)
    assert "units" not in old.genie_recipe["plan"] and Plan.from_dict(old.genie_recipe["plan"]).units == []
    with torch.no_grad():
        assert torch.equal(old(calib), loaded(calib))
