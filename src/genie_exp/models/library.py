"""Pretrained ImageNet weights from torchvision / timm (each library's own download cache).

torchvision: the IMAGENET1K_V1 weights (plain training recipe, the closest to the checkpoints the
paper quantizes; V2 weights come from a heavy-augmentation recipe). timm: the original pycls weights
of the RegNets (timm's default tag for regnetx_032 is torchvision's V2 recipe instead).
"""
from __future__ import annotations

import torch.nn as nn

from ..core.errors import UserError
from ..core.extras import require
from .checkpoint import load_weights

TORCHVISION_WEIGHTS = {
    "resnet18": "ResNet18_Weights.IMAGENET1K_V1",  # FP32 top-1 69.76 (the authors' checkpoint: 71.06)
    "resnet50": "ResNet50_Weights.IMAGENET1K_V1",  # 76.13
    "mobilenetv2": "MobileNet_V2_Weights.IMAGENET1K_V1",  # 71.88
    "mobilenetv3": "MobileNet_V3_Small_Weights.IMAGENET1K_V1",  # 67.67
}
TIMM_WEIGHTS = {"regnetx_600m": "regnetx_006.pycls_in1k", "regnetx_3200m": "regnetx_032.pycls_in1k"}
# torchvision's MnasNet weights by width; the paper's MnasNet-2.0 has none (see models/imagenet.py)
MNASNET_WEIGHTS = {0.5: "MNASNet0_5_Weights.IMAGENET1K_V1", 0.75: "MNASNet0_75_Weights.IMAGENET1K_V1",
                   1.0: "MNASNet1_0_Weights.IMAGENET1K_V1", 1.3: "MNASNet1_3_Weights.IMAGENET1K_V1"}
HOW_TO_AVOID = "pass model.weights=PATH (a state dict in {lib}'s format for this model) or model.pretrained=false"


def _torchvision_state(weights_id: str) -> dict:
    from torchvision.models import get_weight

    return get_weight(weights_id).get_state_dict(progress=True)


def _timm_state(tag: str) -> dict:
    timm = require("timm", f"the timm weights {tag}")

    return timm.create_model(tag, pretrained=True).state_dict()


def _source(model: nn.Module, name: str) -> tuple[str, str]:
    """(library, weights id) of `name`, or a one-line UserError when no library has them."""
    if name in TORCHVISION_WEIGHTS:
        return "torchvision", TORCHVISION_WEIGHTS[name]
    if name in TIMM_WEIGHTS:
        return "timm", TIMM_WEIGHTS[name]
    if name == "mnasnet":
        alpha = float(getattr(model, "alpha", 2.0))
        if alpha in MNASNET_WEIGHTS:
            return "torchvision", MNASNET_WEIGHTS[alpha]
        raise UserError(f"no library ships ImageNet weights for mnasnet with alpha {alpha:g} (the paper's "
                        f"MnasNet-2.0; torchvision has 0.5, 0.75, 1.0, 1.3): "
                        + HOW_TO_AVOID.format(lib="torchvision.models.MNASNet"))
    raise UserError(f"no library weights are known for '{name}' on imagenet; pass model.weights=PATH "
                    f"or model.pretrained=false")


def load_library_weights(model: nn.Module, name: str) -> None:
    """Download (or read from the library's cache) and load the ImageNet weights of `name`."""

    lib, weights_id = _source(model, name)
    try:
        state = _torchvision_state(weights_id) if lib == "torchvision" else _timm_state(weights_id)
    except Exception as e:  # network, proxy, hub, hash or cache errors all end the same way
        reason = (str(e).splitlines() or [""])[0][:160] or "no detail"
        raise UserError(f"downloading the {lib} ImageNet weights {weights_id} for '{name}' failed "
                        f"({type(e).__name__}: {reason}); " + HOW_TO_AVOID.format(lib=lib)) from None
    load_weights(model, state, f"{lib} weights {weights_id}")
