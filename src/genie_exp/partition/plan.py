"""The reconstruction plan: which parts of a model are reconstructed together, found from its graph.

A block is a module whose forward holds a residual merge: an add or a concat of tensors that fork from
one tensor, with at least one Conv/Linear on the way (the smallest module holding fork and merge).
Precedence, each step taking only layers no earlier step took:
  1. classes named in `model.blocks` (the user's word wins);
  2. classes known to be blocks (KNOWN_BLOCKS: the paper's and BRECQ's units, found without a trace);
  3. residual merges in the traced graph, outermost module first;
  4. with `depthwise=True`, the smallest module holding a depthwise conv and the layer that reads it
     (BRECQ's mobilenet grouping for chains without skips), one depthwise conv per unit;
  5. gates left over: the smallest module holding a multiply of a tensor by a function of itself with
     a Conv/Linear on the way (squeeze-and-excitation, `x * sigmoid(conv(relu(conv(pool(x)))))`), so
     that the gate's layers are fitted to the gated output rather than one by one;
  6. every Conv/Linear left is a layer unit.
Each unit records its module's class and the step that made it (`reason`: user block, known block,
residual add / concat, depthwise group, gate, single layer).
Units come in execution order; layers the forward never reaches come last. The plan counts the merges
(add, concat) and the gates it saw, and warns about every merge no unit holds (one written in the
model's own forward, say): no reconstruction target then covers what that merge adds up."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

import torch
import torch.nn as nn

from ..core.errors import UserError
from .trace import Trace, trace

# torchvision: ResNet BasicBlock/Bottleneck, MobileNetV2 InvertedResidual, MNASNet _InvertedResidual,
# RegNet ResBottleneckBlock; timm: the same ResNet names, EfficientNet-family InvertedResidual and
# DepthwiseSeparableConv (MnasNet / MobileNetV2 in timm), RegNet Bottleneck.
KNOWN_BLOCKS = frozenset({"BasicBlock", "Bottleneck", "InvertedResidual", "_InvertedResidual",
                          "ResBottleneckBlock", "DepthwiseSeparableConv"})
LAYER_TYPES = (nn.Conv2d, nn.Linear)
MERGE_OPS = {"add": "add", "add_": "add", "__add__": "add", "__radd__": "add", "__iadd__": "add",
             "cat": "concat", "concat": "concat", "concatenate": "concat"}
GATE_OPS = frozenset({"mul", "mul_", "__mul__", "__rmul__", "__imul__", "multiply"})
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
# the reason printed per source; a merge unit's reason names its merges instead ("residual add", "concat")
REASONS = {"model.blocks": "user block", "class": "known block", "depthwise": "depthwise group", "gate": "gate",
           "layer": "single layer"}
MERGE_REASONS = {"add": "residual add", "concat": "concat"}


@dataclass(frozen=True)
class PlannedUnit:
    name: str
    kind: str  # "block" | "layer"
    source: str  # "model.blocks" | "class" | "merge" | "depthwise" | "gate" | "layer"
    class_name: str = ""  # the module's class ('' in plans stored without it)
    reason: str = ""  # why it is a unit: REASONS[source], or the merges a merge unit holds

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "class": self.class_name, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict) -> "PlannedUnit":
        reason = str(d.get("reason", ""))
        base = reason.split(" (")[0]  # 'known block (residual add)': the class table's step
        source = next((s for s, r in REASONS.items() if r == base), "merge" if reason else "")
        return cls(str(d["name"]), str(d.get("kind", "layer")), source, str(d.get("class", "")), reason)


@dataclass
class Plan:
    units: list[PlannedUnit]
    warnings: list[str] = field(default_factory=list)
    merges: int = 0  # residual merges (add, concat) seen in the graph
    gates: int = 0  # multiplies of a tensor by a function of itself (squeeze-and-excitation gates)
    unheld: list[str] = field(default_factory=list)  # where each merge or gate no unit holds sits
    gate_layers: list[str] = field(default_factory=list)  # the Conv/Linear layers inside the gates

    @property
    def blocks(self) -> list[str]:
        return [u.name for u in self.units if u.kind == "block"]

    def summary(self) -> str:
        """E.g. '9 blocks, 2 layers (conv1, fc)'."""
        layers = [u.name for u in self.units if u.kind == "layer"]
        nb = len(self.units) - len(layers)
        text = f"{nb} block{'' if nb == 1 else 's'}, {len(layers)} layer{'' if len(layers) == 1 else 's'}"
        if layers:
            shown = layers if len(layers) <= 6 else layers[:3] + [f"... {len(layers) - 3} more"]
            text += f" ({', '.join(shown)})"
        seen = [f"{n} {what}{'' if n == 1 else 's'}" for n, what in ((self.merges, "merge"), (self.gates, "gate")) if n]
        if seen:
            text += f"; {', '.join(seen)}"
            if self.unheld:
                text += f", {len(self.unheld)} in no unit ({', '.join(sorted(set(self.unheld)))})"
        return text

    def unit_lines(self, indent: str = "  ") -> list[str]:
        """One aligned line per unit: name, class, reason (e.g. '  b1  MBConvSE  depthwise group')."""
        rows = [(u.name, u.class_name or "-", u.reason or "-") for u in self.units]
        wn = max((len(r[0]) for r in rows), default=0)
        wc = max((len(r[1]) for r in rows), default=0)
        return [f"{indent}{n:<{wn}}  {c:<{wc}}  {r}" for n, c, r in rows]

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "blocks": len(self.blocks), "layers": len(self.units) - len(self.blocks),
                "merges": self.merges, "gates": self.gates, "unheld": list(self.unheld),
                "gate_layers": list(self.gate_layers),
                "warnings": list(self.warnings), "units": [u.to_dict() for u in self.units]}

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        """The plan `to_dict` stored (metrics.json's `plan`, a saved model's recipe). Plans stored
        before the units were kept come back with no units; a unit without class or reason gets ''."""
        return cls([PlannedUnit.from_dict(u) for u in d.get("units", [])], list(d.get("warnings", [])),
                   int(d.get("merges", 0)), int(d.get("gates", 0)), list(d.get("unheld", [])),
                   list(d.get("gate_layers", [])))


def _parent(path: str) -> str:
    return path.rpartition(".")[0]


def _common_prefix(paths: Iterable[str]) -> str:
    parts = None
    for p in paths:
        split = p.split(".") if p else []
        if parts is None:
            parts = split
        else:
            k = 0
            while k < min(len(parts), len(split)) and parts[k] == split[k]:
                k += 1
            parts = parts[:k]
    return ".".join(parts or [])


def _is_depthwise(m: nn.Module) -> bool:
    return isinstance(m, nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels


class _Planner:
    def __init__(self, model: nn.Module, tr: Trace, layer_types: tuple):
        self.model, self.tr = model, tr
        self.anc = tr.ancestors()  # per node, the bit set of the nodes it depends on (every pass reads it)
        self.modules = dict(model.named_modules())
        self.layers = [n for n, m in self.modules.items() if isinstance(m, layer_types) and n]
        self.layer_nodes = {n.target: n.index for n in reversed(tr.nodes)
                            if n.op == "module" and isinstance(n.module, layer_types)}
        self.covered: dict[str, str] = {}  # layer path -> unit name
        self.chosen: list[PlannedUnit] = []

    def layers_under(self, path: str) -> list[str]:
        return [l for l in self.layers if not path or l == path or l.startswith(path + ".")]

    def callable_unit(self, path: str) -> bool:
        """Runs once, one tensor in and one out: a unit the runner can feed from cached tensors."""
        return bool(path) and self.tr.calls.get(path, 0) == 1 and self.tr.tensor_io.get(path, False)

    def usable_ancestor(self, path: str) -> str:
        while path and not self.callable_unit(path):
            path = _parent(path)
        return path

    def free(self, path: str) -> bool:
        layers = self.layers_under(path)
        return bool(layers) and not any(l in self.covered for l in layers)

    def lift(self, path: str) -> str:
        """Name the unit by the outermost module with the same layers (an InvertedResidual rather than
        its inner Sequential), never a bare container or the model itself."""
        own = self.layers_under(path)
        while True:
            up = _parent(path)
            if not up or isinstance(self.modules[up], CONTAINERS) or not self.callable_unit(up) \
                    or self.layers_under(up) != own:
                return path
            path = up

    def take(self, path: str, source: str, reason: str = "") -> None:
        unit = PlannedUnit(path, "block", source, type(self.modules[path]).__name__, reason or REASONS[source])
        self.chosen.append(unit)
        for l in self.layers_under(path):
            self.covered[l] = path

    def by_class(self, names: Iterable[str], source: str, must_run: bool) -> None:
        names = set(names)
        for path, m in self.modules.items():
            if path and type(m).__name__ in names and self.free(path):
                if must_run and self.tr.calls.get(path, 0) and not self.callable_unit(path):
                    continue
                self.take(path, source)

    def where(self, scope: str) -> str:
        return f"{type(self.modules[scope]).__name__}.forward" + (f" ('{scope}')" if scope else "")


def plan_units(model: nn.Module, example: torch.Tensor, user_blocks: Sequence[str] = (), depthwise: bool = True,
               known_blocks: Iterable[str] = KNOWN_BLOCKS, layer_types: tuple = LAYER_TYPES) -> Plan:
    """The units of `model` (traced once on `example`, e.g. two calibration images)."""
    user_blocks = check_user_blocks(model, user_blocks)
    p = _Planner(model, trace(model, example, leaf_types=layer_types), layer_types)
    p.by_class(user_blocks, "model.blocks", must_run=False)
    p.by_class(known_blocks, "class", must_run=True)
    merged, unassigned = _merge_blocks(p)
    merges = len(merged)
    if depthwise:
        _depthwise_blocks(p)
    gates = _gate_blocks(p)
    warnings, unheld = [], []
    for node, layers in unassigned:
        left = [l for l in layers if p.covered.get(l) is None]
        what = f"the residual {MERGE_OPS[node.target]} in {p.where(node.scope)}"
        unheld.append(p.where(node.scope))
        if left:
            warnings.append(f"{what} is not inside a submodule that holds its {len(layers)} layer(s) "
                            f"({_listed(layers)}); they are reconstructed one by one. Move the "
                            f"residual into its own nn.Module to reconstruct it as a block")
        else:
            units = list(dict.fromkeys(p.covered[l] for l in layers))
            warnings.append(f"{what} is not inside a submodule that holds its {len(layers)} layer(s) "
                            f"({_listed(layers)}); they are reconstructed in the unit(s) {_listed(units)}, each on "
                            f"its own, and no unit's target covers the sum. Move the residual into its own "
                            f"nn.Module to reconstruct it as a block")
    for node, _ in gates:
        if not _held(p, node):
            unheld.append(p.where(node.scope))
    if merges and not p.chosen:
        warnings.append(f"the model has {merges} residual merge(s) but no block unit was found; reconstruction "
                        f"is layer by layer (name the block classes with model.blocks=[ClassName])")
    # a block taken by its class says what it holds too: a stride-2 InvertedResidual has no residual
    held = [(n, MERGE_REASONS[MERGE_OPS[n.target]]) for n in merged] + [(n, "gate") for n, _ in gates]
    p.chosen = [_with_contents(u, held) if u.source in ("model.blocks", "class") else u for u in p.chosen]
    units = p.chosen + [PlannedUnit(l, "layer", "layer", type(p.modules[l]).__name__, REASONS["layer"])
                        for l in p.layers if l not in p.covered]
    never = len(p.tr.nodes)

    def first_run(u: PlannedUnit) -> int:
        return min((p.layer_nodes.get(l, never) for l in p.layers_under(u.name)), default=never)

    units.sort(key=first_run)  # stable: never-run units keep definition order at the end
    gate_layers = list(dict.fromkeys(l for _, layers in gates for l in layers))
    return Plan(units, warnings, merges, len(gates), unheld, gate_layers)


def check_user_blocks(model: nn.Module, user_blocks) -> list[str]:
    """`model.blocks` as a list, or a one-line UserError (a string, or a class the model lacks)."""
    if isinstance(user_blocks, str) or not all(isinstance(b, str) for b in user_blocks):
        raise UserError(f"model.blocks must be a list of class names, e.g. model.blocks=[MyBlock], got {user_blocks!r}")
    present = {type(m).__name__ for m in model.modules()}
    missing = [b for b in user_blocks if b not in present]
    if missing:
        holders = sorted({type(m).__name__ for m in model.modules() if any(True for _ in m.children())})
        raise UserError(f"model.blocks: the model has no module of class '{missing[0]}' "
                        f"(its classes with submodules: {', '.join(holders)})")
    return list(user_blocks)


def _listed(names: Sequence[str], most: int = 3) -> str:
    return ", ".join(names[:most]) + (", ..." if len(names) > most else "")


def _region(p: _Planner, m, anc: list[int]) -> tuple[list, list[str]]:
    """For a node `m` of two or more operands that fork from one tensor: the nodes from the fork to
    `m` and the layers among them; ([], []) where the operands share no origin."""
    common = ~0
    for i in m.inputs:
        common &= anc[i] | (1 << i)
    if len(m.inputs) < 2 or common <= 0:
        return [], []
    fork = common.bit_length() - 1
    region = [n for n in p.tr.nodes[fork + 1:m.index + 1]
              if (anc[n.index] >> fork) & 1 and (n is m or (anc[m.index] >> n.index) & 1)]
    return region, [n.target for n in region if n.target in p.layer_nodes and n.op == "module"]


def _holder(p: _Planner, region: list) -> str:
    """The smallest module the runner can feed that holds every node of `region` ('' if none)."""
    return p.usable_ancestor(_common_prefix([n.scope for n in region] +
                                            [n.target for n in region if n.op == "module"]))


def _held(p: _Planner, node) -> bool:
    """Some chosen unit holds `node` (its op runs inside the unit's forward)."""
    return any(_within(node.scope, u.name) for u in p.chosen)


def _within(scope: str, path: str) -> bool:
    return scope == path or scope.startswith(path + ".")


def _with_contents(u: PlannedUnit, found: list) -> PlannedUnit:
    """`u` with the merges and gates its module holds named after its reason, e.g. 'known block (residual add)'."""
    inside = list(dict.fromkeys(what for n, what in found if _within(n.scope, u.name)))
    return replace(u, reason=f"{u.reason} ({', '.join(inside)})") if inside else u


def _merge_blocks(p: _Planner) -> tuple[list, list]:
    """Choose the modules that hold residual merges; returns (the merge nodes seen, (node, its layers)
    per merge no module holds)."""
    anc = p.anc
    candidates: dict[str, list[str]] = {}  # holder -> the kinds of merge it holds, in graph order
    unassigned = []
    merged = []
    for m in p.tr.nodes:
        if m.op != "function" or m.target not in MERGE_OPS:
            continue
        region, layers = _region(p, m, anc)
        if not layers:
            continue  # no residual: the operands share no origin, or no layer lies between
        merged.append(m)
        block = _holder(p, region)
        if block:
            kinds = candidates.setdefault(block, [])
            if MERGE_OPS[m.target] not in kinds:
                kinds.append(MERGE_OPS[m.target])
        else:
            unassigned.append((m, layers))
    for path in sorted(candidates, key=lambda s: s.count(".")):  # outermost first
        if p.free(path):
            p.take(path, "merge", ", ".join(MERGE_REASONS[k] for k in candidates[path]))
    return merged, unassigned


def _gate_blocks(p: _Planner) -> list:
    """Find the gates (squeeze-and-excitation and the like); the holder of a gate whose layers no unit
    has taken yet becomes a block. Returns (node, its layers) per gate."""
    anc = p.anc
    gates = []
    for m in p.tr.nodes:
        if m.op != "function" or m.target not in GATE_OPS:
            continue
        region, layers = _region(p, m, anc)
        if not layers:
            continue
        gates.append((m, layers))
        block = _holder(p, region)
        if block and p.free(block) and not _held(p, m):
            p.take(p.lift(block), "gate")
    return gates


def _depthwise_blocks(p: _Planner) -> None:
    nodes, anc = p.tr.nodes, p.anc
    for d in nodes:
        if d.op != "module" or d.target not in p.layer_nodes or d.target in p.covered or not _is_depthwise(d.module):
            continue
        reader = next((n for n in nodes[d.index + 1:] if n.op == "module" and n.target in p.layer_nodes
                       and (anc[n.index] >> d.index) & 1), None)
        if reader is None:
            continue
        between = [n for n in nodes[d.index:reader.index + 1]
                   if n is d or ((anc[n.index] >> d.index) & 1 and (n is reader or (anc[reader.index] >> n.index) & 1))]
        paths = [n.scope for n in between] + [n.target for n in between if n.op == "module"]
        block = p.usable_ancestor(_common_prefix(paths))
        if not block or not p.free(block):
            continue
        if sum(_is_depthwise(p.modules[l]) for l in p.layers_under(block)) != 1:
            continue  # a flat chain of several separable stages: no module to group by
        p.take(p.lift(block), "depthwise")
