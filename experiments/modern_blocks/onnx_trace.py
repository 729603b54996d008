"""Where onnxruntime's default session departs from the graph as written: GateNet quantized by RTN
(W4A4, 64 random calibration images), exported, every node output made a graph output, run with graph
optimizations off and at ORT_ENABLE_BASIC on 64 random images; prints the first tensors that differ.

    PYTHONPATH=experiments/modern_blocks python experiments/modern_blocks/onnx_trace.py [WEIGHTS]
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

import genie_exp
import user_nets
from genie_exp.export import export_onnx


def main(weights: str = "/tmp/genie-modern-blocks/gatenet.pt") -> None:
    torch.manual_seed(0)
    model = user_nets.GateNet()
    model.load_state_dict(torch.load(weights, weights_only=True)["state_dict"])
    q = genie_exp.quantize(model.eval(), torch.rand(64, 3, 32, 32), w_bits=4, a_bits=4, method="rtn",
                           progress=False, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(q, [3, 32, 32], Path(tmp) / "gate.onnx")
        graph = onnx.load(str(path))
        names = [o for n in graph.graph.node for o in n.output]
        kind = {o: n.op_type for n in graph.graph.node for o in n.output}
        del graph.graph.output[:]
        graph.graph.output.extend(onnx.helper.make_empty_tensor_value_info(n) for n in names)
        onnx.save(graph, str(path))
        x = np.random.RandomState(0).rand(64, 3, 32, 32).astype(np.float32)
        runs = []
        for level in (ort.GraphOptimizationLevel.ORT_DISABLE_ALL, ort.GraphOptimizationLevel.ORT_ENABLE_BASIC):
            options = ort.SessionOptions()
            options.graph_optimization_level = level
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            runs.append(dict(zip([o.name for o in session.get_outputs()], session.run(None, {"images": x}))))
    plain, basic = runs
    shown = 0
    for name in names:
        a, b = plain.get(name), basic.get(name)
        if a is None or b is None or a.dtype != np.float32 or a.shape != b.shape or np.array_equal(a, b):
            continue
        diff = np.abs(a - b)
        print(f"{name} ({kind[name]}, {a.shape}): largest difference {diff.max():.3g} "
              f"({diff.max() / max(np.abs(a).max(), 1e-12):.2g} of its range), {100 * (diff > 0).mean():.2f} % of elements")
        shown += 1
        if shown == 6:
            break
    if not shown:
        print("no tensor differs: the default session runs the graph as written")


if __name__ == "__main__":
    main(*sys.argv[1:])
