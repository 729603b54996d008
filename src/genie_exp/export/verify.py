"""Check an exported ONNX graph against the PyTorch model it came from, with onnxruntime on the CPU:
top-1 of both on a dataset's test split and the largest logit difference, for onnxruntime's default
session and for one with its graph optimizations off. The second runs the graph as written (the
QCDQ semantics); the first is what a deployment gets, where onnxruntime may rewrite parts of the
graph into kernels that round differently (a float bias inside a Conv re-quantized to int32 did, until
the export wrote biases as Adds: experiments/modern_blocks/README.md, "ONNX")."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ..core.extras import require


def _sessions(ort, onnx_path: Path) -> dict:
    plain = ort.SessionOptions()
    plain.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return {"default": ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]),
            "unoptimized": ort.InferenceSession(str(onnx_path), plain, providers=["CPUExecutionProvider"])}


def verify_onnx(onnx_path: Path, model: nn.Module, loader) -> dict:
    ort = require("onnxruntime", "checking the ONNX file")
    sessions = _sessions(ort, onnx_path)
    name = sessions["default"].get_inputs()[0].name
    model = model.cpu().eval()
    same = dict.fromkeys(sessions, 0)
    correct_ort = dict.fromkeys(sessions, 0)
    max_diff = dict.fromkeys(sessions, 0.0)
    correct_pt = total = 0
    with torch.no_grad():
        for x, y in loader:
            ref = model(x)
            p_ref = ref.argmax(1)
            correct_pt += int((p_ref == y).sum())
            total += int(y.numel())
            for key, session in sessions.items():
                got = torch.from_numpy(session.run(None, {name: x.numpy()})[0])
                max_diff[key] = max(max_diff[key], float((got - ref).abs().max()))
                p_got = got.argmax(1)
                same[key] += int((p_ref == p_got).sum())
                correct_ort[key] += int((p_got == y).sum())
    return {"images": total, "top1_pytorch": correct_pt / total, "top1_onnxruntime": correct_ort["default"] / total,
            "same_prediction": same["default"] / total, "max_abs_logit_diff": max_diff["default"],
            "unoptimized": {"top1_onnxruntime": correct_ort["unoptimized"] / total,
                            "same_prediction": same["unoptimized"] / total,
                            "max_abs_logit_diff": max_diff["unoptimized"]}}
