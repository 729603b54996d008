"""The paper's six ImageNet models (Genie Table 2, the BRECQ set), one registry name each.

`image_size > 64` (data=imagenet) builds the library architecture with its library weights layout;
smaller images (Fashion-MNIST, CIFAR-10) build a small-image variant of the same family with the
same block classes (so the same reconstruction units) and fewer early strides.
`model.kwargs.variant=imagenet|small` forces one geometry (tests run the ImageNet nets at 64x64).
Beside them, mobilenetv3 (torchvision's mobilenet_v3_small, not a paper model): gates and Hardswish.

Which library, and why:
- resnet18, resnet50, mobilenetv2: torchvision. Same modules and state-dict keys as the BRECQ
  checkpoints the paper quantizes (BRECQ's ResNet/MobileNetV2 follow torchvision's layout).
- regnetx_600m, regnetx_3200m: timm `regnetx_006` / `regnetx_032`, a port of pycls (the RegNet
  authors' code, which BRECQ's RegNets come from). torchvision has no 600MF model at all; timm
  keeps both RegNets in one implementation with the original pycls ImageNet weights.
- mnasnet: torchvision `MNASNet(alpha=2.0)`. The paper (after BRECQ) uses MnasNet-2.0, and BRECQ's
  MnasNet is torchvision's module with alpha 2.0 (same keys). No library ships 2.0 weights:
  torchvision stops at 1.3, timm at `mnasnet_140` (and timm's MnasNet is a different layout).
"""
from __future__ import annotations

import torch.nn as nn
import torchvision.models as tvm
from torchvision.models.resnet import ResNet

from ..core.errors import UserError
from ..core.extras import require
from .registry import register_model
from .small import small_mobilenetv2

SMALL_MAX = 64  # largest image side that gets the small-image variant under variant=auto
VARIANTS = ("auto", "imagenet", "small")
TIMM_REGNETS = {"regnetx_600m": "regnetx_006", "regnetx_3200m": "regnetx_032"}


def imagenet_geometry(image_size: int, variant: str = "auto") -> bool:
    if variant not in VARIANTS:
        raise UserError(f"model.kwargs.variant must be one of {', '.join(VARIANTS)}, got '{variant}'")
    return variant == "imagenet" or (variant == "auto" and image_size > SMALL_MAX)


def _unstride(conv: nn.Conv2d) -> None:
    """Stride 1 with unchanged padding: 3x3 (pad 1) and 5x5 (pad 2) convs then keep the size."""
    assert conv.kernel_size[0] == 2 * conv.padding[0] + 1, conv
    conv.stride = (1, 1)


def _small_resnet(model: ResNet) -> ResNet:
    # CIFAR stem (He et al. 2016): 3x3 stride-1 conv, no max-pool, so 32x32 ends at 4x4.
    width = model.conv1.out_channels
    model.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    model.maxpool = nn.Identity()
    return model


@register_model
def resnet18(num_classes: int = 10, image_size: int = 32, variant: str = "auto", **_) -> nn.Module:
    model = tvm.resnet18(weights=None, num_classes=num_classes)
    return model if imagenet_geometry(image_size, variant) else _small_resnet(model)


@register_model
def resnet50(num_classes: int = 10, image_size: int = 32, variant: str = "auto", **_) -> nn.Module:
    model = tvm.resnet50(weights=None, num_classes=num_classes)
    return model if imagenet_geometry(image_size, variant) else _small_resnet(model)


@register_model
def mobilenetv2(num_classes: int = 10, image_size: int = 32, variant: str = "auto",
                width_mult: float | None = None, **_) -> nn.Module:
    if imagenet_geometry(image_size, variant):
        return tvm.mobilenet_v2(weights=None, num_classes=num_classes, width_mult=width_mult or 1.0)
    # the shipped Fashion-MNIST teacher's architecture: width 0.5, two reductions removed
    return small_mobilenetv2(num_classes, width_mult or 0.5)


@register_model
def mobilenetv3(num_classes: int = 10, image_size: int = 32, variant: str = "auto", **_) -> nn.Module:
    """torchvision's mobilenet_v3_small (squeeze-and-excitation gates, Hardswish), one geometry for both
    sizes: on 32x32 it ends at 1x1, which a CPU trains in minutes (experiments/modern_blocks/README.md)."""
    return tvm.mobilenet_v3_small(weights=None, num_classes=num_classes)


def _regnet(name: str, num_classes: int, image_size: int, variant: str) -> nn.Module:
    # here, not at the top: it costs the CLI ~0.6 s of start-up for every other model; and it is optional
    timm = require("timm", f"model {name}")

    model = timm.create_model(TIMM_REGNETS[name], pretrained=False, num_classes=num_classes)
    if not imagenet_geometry(image_size, variant):
        _unstride(model.stem.conv)  # CIFAR-style stem (RegNets have no max-pool): 32x32 ends at 2x2
    return model


@register_model
def regnetx_600m(num_classes: int = 10, image_size: int = 32, variant: str = "auto", **_) -> nn.Module:
    return _regnet("regnetx_600m", num_classes, image_size, variant)


@register_model
def regnetx_3200m(num_classes: int = 10, image_size: int = 32, variant: str = "auto", **_) -> nn.Module:
    return _regnet("regnetx_3200m", num_classes, image_size, variant)


@register_model
def mnasnet(num_classes: int = 10, image_size: int = 32, variant: str = "auto",
            alpha: float | None = None, **_) -> nn.Module:
    if imagenet_geometry(image_size, variant):
        return tvm.MNASNet(alpha or 2.0, num_classes=num_classes)
    # Small images: width 1.0 (a CPU-trainable teacher), stem conv and first stack at stride 1,
    # so 32x32 ends at 4x4; BN momentum back to 0.1 because torchvision's 0.0003 (TF-style, for
    # long ImageNet runs) would leave the running statistics near their init after a short training.
    model = tvm.MNASNet(alpha or 1.0, num_classes=num_classes)
    _unstride(model.layers[0])
    _unstride(model.layers[8][0].layers[3])  # depthwise conv of the first inverted residual
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    return model
