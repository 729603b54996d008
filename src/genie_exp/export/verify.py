"""Check an exported ONNX graph against the PyTorch model it came from, with onnxruntime on the CPU:
top-1 of both on a dataset's test split and the largest logit difference."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ..core.extras import require


def verify_onnx(onnx_path: Path, model: nn.Module, loader) -> dict:
    ort = require("onnxruntime", "checking the ONNX file")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    model = model.cpu().eval()
    same = correct_pt = correct_ort = total = 0
    max_diff = 0.0
    with torch.no_grad():
        for x, y in loader:
            ref = model(x)
            got = torch.from_numpy(session.run(None, {name: x.numpy()})[0])
            max_diff = max(max_diff, float((got - ref).abs().max()))
            p_ref, p_got = ref.argmax(1), got.argmax(1)
            same += int((p_ref == p_got).sum())
            correct_pt += int((p_ref == y).sum())
            correct_ort += int((p_got == y).sum())
            total += int(y.numel())
    return {"images": total, "top1_pytorch": correct_pt / total, "top1_onnxruntime": correct_ort / total,
            "same_prediction": same / total, "max_abs_logit_diff": max_diff}
