"""Two models of "a user's own", for the reconstruction-engine study (README.md here): nothing in them is
named like torchvision or timm, so only the graph can tell genie-exp where the blocks are.

- `Treppe`: ResNet-20-sized (3 stages x 3 residual `Stufe` blocks, 16/32/64 wide, 0.27 M parameters).
  The unstrided blocks carry their skip through an `nn.Identity` named `abkuerzung`, as the paper's own
  ResNet does, so that the paper's code quantizes that skip with the block's input quantizer, as
  genie-exp does (without it the paper's code would leave the skip in float).
- `Faltkette`: a depthwise-separable chain without skips (MobileNet-v1 style, `Trennfaltung` stages:
  depthwise 3x3 + BN + ReLU, pointwise 1x1 + BN + ReLU), for the question whether such a pair is better
  reconstructed together or one layer at a time.

Train (seed 0, 8 epochs, as the shipped teachers), from the repository root:
    PYTHONPATH=experiments/user_model python -m genie_exp.train +model=custom model.target=user_nets.Treppe \\
        train.out=experiments/user_model/teachers/treppe.pt
"""
from __future__ import annotations

import torch
import torch.nn as nn


class Stufe(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.falte1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.norm1 = nn.BatchNorm2d(cout)
        self.falte2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.abkuerzung = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        else:
            self.abkuerzung = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.norm1(self.falte1(x)))
        y = self.norm2(self.falte2(y))
        return torch.relu(y + self.abkuerzung(x))


class Treppe(nn.Module):
    def __init__(self, num_classes: int = 10, width: int = 16):
        super().__init__()
        self.eingang = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        stages, cin = [], width
        for k, cout in enumerate((width, 2 * width, 4 * width)):
            stages += [Stufe(cin, cout, 2 if k else 1), Stufe(cout, cout), Stufe(cout, cout)]
            cin = cout
        self.stufen = nn.Sequential(*stages)
        self.ausgang = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ausgang(self.stufen(self.eingang(x)).mean((2, 3)))


class Trennfaltung(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.tief = nn.Sequential(nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                                  nn.ReLU())
        self.punkt = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.punkt(self.tief(x))


# (output channels, stride) of the separable stages: 32x32 in, 4x4 out
FALTKETTE = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (256, 1), (512, 2))


class Faltkette(nn.Module):
    def __init__(self, num_classes: int = 10, width: float = 0.5):
        super().__init__()
        cin = int(32 * width)
        self.eingang = nn.Sequential(nn.Conv2d(3, cin, 3, 1, 1, bias=False), nn.BatchNorm2d(cin), nn.ReLU())
        stages = []
        for cout, stride in FALTKETTE:
            stages.append(Trennfaltung(cin, int(cout * width), stride))
            cin = int(cout * width)
        self.kette = nn.Sequential(*stages)
        self.ausgang = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ausgang(self.kette(self.eingang(x)).mean((2, 3)))
