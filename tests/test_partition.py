"""Reconstruction units from the graph: residual merges (add and concat) in classes with any name, a
model torch.fx cannot trace, a residual no module holds (a warning), depthwise chains, `model.blocks`,
and the registered / library architectures (traced at tiny resolution, no training)."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from genie_exp.core.errors import UserError
from genie_exp.models import create_model, list_models
from genie_exp.partition import KNOWN_BLOCKS, plan_units

from conftest import Pforte, Umkehr


def conv_bn(cin: int, cout: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Zweig(nn.Module):
    """A residual block whose class and attribute names no table knows; the skip add is in place."""

    def __init__(self, c: int):
        super().__init__()
        self.eins, self.zwei = conv_bn(c, c), nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        y = self.zwei(self.eins(x))
        y += x
        return torch.relu(y)


class Verkettung(nn.Module):
    """A concat merge: the input joined with what two convs made of it."""

    def __init__(self, c: int, grow: int):
        super().__init__()
        self.neu = nn.Sequential(conv_bn(c, grow), nn.Conv2d(grow, grow, 1))

    def forward(self, x):
        return torch.cat([x, self.neu(x)], 1)


class Net(nn.Module):
    def __init__(self, block=Zweig, c: int = 8):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.body = nn.Sequential(block(c), block(c))
        self.head = nn.Linear(c, 4)

    def forward(self, x):
        return self.head(self.body(torch.relu(self.stem(x))).mean((2, 3)))


class DenseNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.dense = nn.Sequential(Verkettung(8, 4), Verkettung(12, 4))
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(self.dense(self.stem(x)).mean((2, 3)))


class Gated(Net):
    """Python control flow on a tensor's value: torch.fx cannot trace it, the forward-hook trace can."""

    def forward(self, x):
        x = torch.relu(self.stem(x))
        if x.mean() > -1e9:  # always true, but only a real forward pass knows
            x = self.body(x)
        return self.head(x.mean((2, 3)))


class TopLevelResidual(nn.Module):
    """A residual written in the model's own forward: no submodule holds both its ends."""

    def __init__(self):
        super().__init__()
        self.stem, self.a, self.b = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 1)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        x = x + self.b(torch.relu(self.a(x)))
        return self.head(x.mean((2, 3)))


class GatedNet(nn.Module):
    """Gated inverted residuals and one residual add in the model's own forward, around two blocks."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Hardswish())
        self.u1, self.u2, self.u3 = Umkehr(8, 8, 2), Umkehr(8, 8), Umkehr(8, 8)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        x = self.u1(self.stem(x))
        x = x + self.u3(self.u2(x))
        return self.head(x.mean((2, 3)))


class Separable(nn.Module):
    """Depthwise 3x3 then pointwise 1x1, no skip (MobileNet-v1 style)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.dw, self.pw = conv_bn(cin, cin, groups=cin), nn.Sequential(nn.Conv2d(cin, cout, 1), nn.ReLU())

    def forward(self, x):
        return self.pw(self.dw(x))


def separable_chain(flat: bool = False) -> nn.Module:
    stages = [Separable(8, 16), Separable(16, 16)]
    if flat:  # the same layers with no module per stage
        stages = [m for s in stages for m in (*s.dw, *s.pw)]
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))


X = torch.randn(2, 3, 16, 16)


def _blocks(plan) -> list[tuple[str, str]]:
    return [(u.name, u.source) for u in plan.units if u.kind == "block"]


def test_residual_blocks_of_any_class_name_are_found():
    plan = plan_units(Net().eval(), X)
    assert _blocks(plan) == [("body.0", "merge"), ("body.1", "merge")]
    assert [u.name for u in plan.units] == ["stem", "body.0", "body.1", "head"]
    assert plan.summary() == "2 blocks, 2 layers (stem, head); 2 merges" and not plan.warnings


def test_concat_merges_make_blocks():
    plan = plan_units(DenseNetLike().eval(), X)
    assert _blocks(plan) == [("dense.0", "merge"), ("dense.1", "merge")]


def test_a_model_torch_fx_cannot_trace_is_partitioned_too():
    model = Gated().eval()
    with pytest.raises(Exception):
        torch.fx.symbolic_trace(model)
    assert _blocks(plan_units(model, X)) == [("body.0", "merge"), ("body.1", "merge")]


def test_a_residual_no_module_holds_falls_back_to_layers_with_a_warning():
    plan = plan_units(TopLevelResidual().eval(), X)
    assert all(u.kind == "layer" for u in plan.units) and plan.merges == 1
    assert len(plan.warnings) == 2
    assert "TopLevelResidual.forward" in plan.warnings[0] and "a, b" in plan.warnings[0]
    assert "own nn.Module" in plan.warnings[0]
    assert "no block unit" in plan.warnings[1] and "model.blocks" in plan.warnings[1]


def test_gates_and_a_top_level_residual_are_in_the_plan_with_a_warning():
    plan = plan_units(GatedNet().eval(), X)
    # u1 (no skip) by its depthwise conv, u2 and u3 by their skip adds; each holds its gate
    assert _blocks(plan) == [("u1", "depthwise"), ("u2", "merge"), ("u3", "merge")]
    assert plan.merges == 3 and plan.gates == 3 and plan.unheld == ["GatedNet.forward"]
    assert plan.summary().endswith("; 3 merges, 3 gates, 1 in no unit (GatedNet.forward)")
    assert len(plan.warnings) == 1
    assert "residual add in GatedNet.forward" in plan.warnings[0] and "u2, u3" in plan.warnings[0]
    assert plan.to_dict()["gates"] == 3


def test_a_gate_outside_any_block_is_a_unit_of_its_own():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), Pforte(8), nn.Conv2d(8, 8, 3, padding=1),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4)).eval()
    plan = plan_units(model, X)
    assert _blocks(plan) == [("2", "gate")] and plan.gates == 1 and not plan.unheld
    assert [u.name for u in plan.units] == ["0", "2", "3", "6"]


def test_a_plain_product_of_two_branches_without_a_layer_is_no_gate():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)

        def forward(self, x):
            y = self.conv(x)
            return (y * torch.sigmoid(y)).mean((2, 3))  # SiLU by hand: no layer between fork and multiply

    plan = plan_units(Scale().eval(), X)
    assert plan.gates == 0 and plan.blocks == []


def test_a_module_run_twice_is_not_a_unit():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.block, self.head = nn.Conv2d(3, 8, 1), Zweig(8), nn.Linear(8, 4)

        def forward(self, x):
            return self.head(self.block(self.block(self.stem(x))).mean((2, 3)))

    plan = plan_units(Twice().eval(), X)
    assert plan.blocks == [] and plan.warnings  # one cached input cannot stand for two calls


@pytest.mark.parametrize("depthwise", [True, False])
def test_depthwise_chains_group_behind_a_switch(depthwise):
    plan = plan_units(separable_chain().eval(), X, depthwise=depthwise)
    if depthwise:
        assert _blocks(plan) == [("1", "depthwise"), ("2", "depthwise")]
    else:
        assert plan.blocks == [] and len(plan.units) == 6
    assert not plan.warnings  # no residual: nothing to warn about


def test_a_flat_chain_has_no_module_to_group_by():
    plan = plan_units(separable_chain(flat=True).eval(), X)
    assert plan.blocks == [] and len(plan.units) == 6


def test_user_blocks_win_and_bad_values_are_one_line_errors():
    model = Net().eval()
    plan = plan_units(model, X, ["Sequential"])
    assert _blocks(plan) == [("body", "model.blocks")]
    with pytest.raises(UserError) as e:
        plan_units(model, X, "Zweig")
    assert "list of class names" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(UserError) as e:
        plan_units(model, X, ["Zwieg"])
    assert "'Zwieg'" in str(e.value) and "Zweig" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("name", list_models())
def test_registered_models_yield_the_known_blocks_from_the_graph_alone(name):
    model = create_model(name, num_classes=10, image_size=32).eval()
    x = torch.randn(2, 3, 32, 32)
    by_class = plan_units(model, x)
    from_graph = plan_units(model, x, known_blocks=())
    assert len(by_class.blocks) >= 8
    # the graph alone finds the same units (a one-block stage may be named by its stage module)
    assert [sorted(l for l in _layers(model, b)) for b in from_graph.blocks] == \
           [sorted(l for l in _layers(model, b)) for b in by_class.blocks]
    assert {type(model.get_submodule(b)).__name__ for b in by_class.blocks} <= KNOWN_BLOCKS


def _layers(model: nn.Module, path: str) -> list[str]:
    return [n for n, m in model.get_submodule(path).named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


LIBRARY = {  # name -> (builder, block class, blocks) at 32x32, random weights
    "efficientnet_b0": (lambda: __import__("torchvision").models.efficientnet_b0(), "MBConv", 16),
    "densenet121": (lambda: __import__("torchvision").models.densenet121(), "_DenseBlock", 4),
    "convnext_tiny": (lambda: __import__("torchvision").models.convnext_tiny(), "CNBlock", 18),
    "ghostnet_100": (lambda: __import__("timm").create_model("ghostnet_100"), "GhostBottleneck", 16),
}


@pytest.mark.parametrize("name", list(LIBRARY))
def test_library_architectures_yield_blocks(name):
    build, cls, n = LIBRARY[name]
    model = build().eval()
    plan = plan_units(model, torch.randn(2, 3, 32, 32), known_blocks=())
    assert len(plan.blocks) == n and {type(model.get_submodule(b)).__name__ for b in plan.blocks} == {cls}
    assert not plan.warnings
