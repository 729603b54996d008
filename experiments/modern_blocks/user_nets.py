"""A user's own small net: inverted residuals with squeeze-and-excitation gates, Hardswish, and one
residual add written in the model's own forward."""
import torch
import torch.nn as nn


class Squeeze(nn.Module):
    def __init__(self, ch, reduced):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(ch, reduced, 1)
        self.act = nn.ReLU()
        self.expand = nn.Conv2d(reduced, ch, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.expand(self.act(self.reduce(self.pool(x)))))


class MBConvSE(nn.Module):
    def __init__(self, cin, cout, expand, stride):
        super().__init__()
        mid = cin * expand
        self.pw = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid),
                                nn.Hardswish())
        self.se = Squeeze(mid, max(8, mid // 4))
        self.proj = nn.Sequential(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.proj(self.se(self.dw(self.pw(x))))
        return x + y if self.skip else y


class GateNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
        self.b1 = MBConvSE(16, 24, 4, 2)
        self.b2 = MBConvSE(24, 24, 3, 1)
        self.b3 = MBConvSE(24, 40, 4, 2)
        self.b4 = MBConvSE(40, 40, 3, 1)
        self.b5 = MBConvSE(40, 40, 3, 1)
        self.b6 = MBConvSE(40, 64, 4, 2)
        self.b7 = MBConvSE(64, 64, 3, 1)
        self.head = nn.Sequential(nn.Conv2d(64, 128, 1, bias=False), nn.BatchNorm2d(128), nn.Hardswish())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x):
        x = self.b1(self.stem(x))
        x = self.b2(x)
        x = self.b3(x)
        x = x + self.b5(self.b4(x))  # a residual written in the model's own forward
        x = self.b7(self.b6(x))
        return self.fc(torch.flatten(self.pool(self.head(x)), 1))
