"""Small-image (32x32) variants used with the embedded data: CIFAR ResNet-20 and a slim MobileNetV2
(the latter registered, with the ImageNet models, in models/imagenet.py).

Both reuse torchvision's block classes so that unit discovery finds them by class name.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torchvision.models.mobilenetv2 import MobileNetV2
from torchvision.models.resnet import BasicBlock, conv1x1

from .registry import register_model


class CifarResNet(nn.Module):
    """ResNet for 32x32 inputs (He et al. 2016, Sec. 4.2): 3 stages of n basic blocks, 16/32/64 wide."""

    def __init__(self, depth: int = 20, num_classes: int = 10, width: int = 16):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError("CIFAR ResNet depth must be 6n+2")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        layers, cin = [], width
        for stage, cout in enumerate([width, 2 * width, 4 * width]):
            blocks = []
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                down = None
                if stride != 1 or cin != cout:
                    down = nn.Sequential(conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))
                blocks.append(BasicBlock(cin, cout, stride, down))
                cin = cout
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@register_model
def resnet20(num_classes: int = 10, image_size: int = 32, width: int = 16, **_) -> nn.Module:
    return CifarResNet(20, num_classes, width)


# (expansion t, channels c, repeats n, stride s): the ImageNet net with two of its five reductions
# removed, so a 32x32 input ends at 4x4 (cheap enough to train on a CPU at width 0.5).
SMALL_MBV2_SETTING = [[1, 16, 1, 1], [6, 24, 2, 1], [6, 32, 3, 2], [6, 64, 4, 2],
                      [6, 96, 3, 1], [6, 160, 3, 1], [6, 320, 1, 1]]


def small_mobilenetv2(num_classes: int = 10, width_mult: float = 0.5) -> nn.Module:
    """Registered as `mobilenetv2` for image_size <= 64 (models/imagenet.py): the zoo teacher's architecture."""
    return MobileNetV2(num_classes=num_classes, width_mult=width_mult,
                       inverted_residual_setting=SMALL_MBV2_SETTING)
