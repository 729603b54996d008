"""One forward pass of a model, recorded as a dataflow graph of its leaf-module calls and tensor ops.

Forward hooks give the nesting (which module's forward ran each op); a TorchFunctionMode records every
torch function and tensor method called outside a leaf module, with the nodes that made its tensor
arguments. It runs the real forward, so Python control flow that depends on values (which torch.fx
cannot trace) is no obstacle; what it sees is the path this input takes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

# Ops whose result shares only a shape (not values) with their tensor argument: no dataflow edge.
SHAPE_ONLY = frozenset({"new_zeros", "new_ones", "new_empty", "new_full", "new_tensor", "zeros_like",
                        "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "randint_like"})


@dataclass
class Node:
    index: int
    op: str  # "input" | "module" (a leaf module call) | "function" (a torch op)
    target: str  # the module's path, or the function's name
    scope: str  # path of the module whose forward ran it ("" = the model's own forward)
    inputs: tuple[int, ...]  # indices of the nodes that made its tensor arguments
    module: nn.Module | None = None


@dataclass
class Trace:
    nodes: list[Node]
    calls: dict[str, int] = field(default_factory=dict)  # module path -> times its forward ran
    tensor_io: dict[str, bool] = field(default_factory=dict)  # path -> one tensor in, one tensor out
    paths: dict[int, str] = field(default_factory=dict)  # id(module) -> its path

    def ancestors(self) -> list[int]:
        """Per node, a bit set (an int) of every node it depends on."""
        anc: list[int] = []
        for n in self.nodes:
            bits = 0
            for i in n.inputs:
                bits |= anc[i] | (1 << i)
            anc.append(bits)
        return anc


def tensors_in(obj: Any) -> Iterator[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from tensors_in(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from tensors_in(o)


class _Recorder(TorchFunctionMode):
    def __init__(self, tracer: "_Tracer"):
        super().__init__()
        self.tracer = tracer

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        t = self.tracer
        if t.leaf_depth == 0 and any(True for _ in tensors_in(out)):
            name = getattr(func, "__name__", str(func))
            sources = () if name in SHAPE_ONLY else (args, kwargs)
            t.record("function", name, t.scope(), sources, out)
        return out


class _Tracer:
    def __init__(self, model: nn.Module, leaf_types: tuple):
        self.paths: dict[int, str] = {}
        for name, m in model.named_modules(remove_duplicate=False):
            self.paths.setdefault(id(m), name)
        self.leaves = {id(m) for m in model.modules() if isinstance(m, leaf_types) or not any(True for _ in m.children())}
        self.nodes: list[Node] = []
        self.producer: dict[int, int] = {}
        self.keep: list[torch.Tensor] = []  # alive until the end, so no id() is reused
        self.stack: list[str] = []  # paths of the non-leaf modules whose forward is running
        self.leaf_depth = 0
        self.leaf_inputs: tuple[int, ...] = ()
        self.calls: dict[str, int] = {}
        self.tensor_io: dict[str, bool] = {}

    def scope(self) -> str:
        return self.stack[-1] if self.stack else ""

    def sources(self, obj: Any) -> tuple[int, ...]:
        return tuple(dict.fromkeys(self.producer[id(t)] for t in tensors_in(obj) if id(t) in self.producer))

    def record(self, op: str, target: str, scope: str, args: Any, out: Any, module: nn.Module | None = None,
               inputs: tuple[int, ...] | None = None) -> None:
        node = Node(len(self.nodes), op, target, scope, self.sources(args) if inputs is None else inputs, module)
        self.nodes.append(node)
        for t in tensors_in(out):
            self.producer[id(t)] = node.index
            self.keep.append(t)

    def pre(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        path = self.paths.get(id(module), "?")
        if self.leaf_depth:
            self.leaf_depth += 1
        elif id(module) in self.leaves:
            self.leaf_depth = 1
            self.leaf_inputs = self.sources((args, kwargs))
        else:
            self.calls[path] = self.calls.get(path, 0) + 1
            ok = len(args) >= 1 and isinstance(args[0], torch.Tensor)
            self.tensor_io[path] = self.tensor_io.get(path, True) and ok
            self.stack.append(path)

    def post(self, module: nn.Module, args: tuple, kwargs: dict, out: Any) -> None:
        path = self.paths.get(id(module), "?")
        if self.leaf_depth:
            self.leaf_depth -= 1
            if self.leaf_depth == 0:
                self.record("module", path, self.scope(), None, out, module, self.leaf_inputs)
            return
        self.stack.pop()
        self.tensor_io[path] = self.tensor_io[path] and isinstance(out, torch.Tensor)


@torch.no_grad()
def trace(model: nn.Module, example: torch.Tensor, leaf_types: tuple = ()) -> Trace:
    """Run `model(example)` once and record it. Modules of `leaf_types`, and modules without children,
    are single nodes; the model's mode and weights are untouched."""
    t = _Tracer(model, tuple(leaf_types))
    t.record("input", "input", "", None, example)
    handles = []
    for m in model.modules():
        handles.append(m.register_forward_pre_hook(t.pre, with_kwargs=True))
        handles.append(m.register_forward_hook(t.post, with_kwargs=True))
    try:
        with _Recorder(t):
            model(example)
    finally:
        for h in handles:
            h.remove()
    return Trace(t.nodes, t.calls, t.tensor_io, t.paths)


@torch.no_grad()
def execution_order(model: nn.Module, example: torch.Tensor, modules: dict[str, nn.Module]) -> list[str]:
    """Names of `modules` sorted by when each first runs in a forward pass (never-run ones last)."""
    order: list[str] = []
    hooks = [m.register_forward_pre_hook(lambda _m, _a, n=n: order.append(n) if n not in order else None)
             for n, m in modules.items()]
    try:
        model(example)
    finally:
        for h in hooks:
            h.remove()
    return order + [n for n in modules if n not in order]
