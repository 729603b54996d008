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


def shuffle(x, groups=2):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleUnit(nn.Module):
    """ShuffleNet-v2 style: split the channels (or, when it downsamples, feed both branches), run one
    half through pw-dw-pw, concatenate and shuffle."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        half = cout // 2
        inner = cin // 2 if stride == 1 else cin
        self.main = nn.Sequential(
            nn.Conv2d(inner, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
            nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU())
        self.side = None if stride == 1 else nn.Sequential(
            nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
            nn.Conv2d(cin, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU())

    def forward(self, x):
        if self.stride == 1:
            a, b = x.chunk(2, dim=1)
            out = torch.cat((a, self.main(b)), dim=1)
        else:
            out = torch.cat((self.side(x), self.main(x)), dim=1)
        return shuffle(out)


class ShuffleNetish(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 24, 3, 1, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU())
        self.stages = nn.Sequential(ShuffleUnit(24, 48, 2), ShuffleUnit(48, 48, 1), ShuffleUnit(48, 96, 2),
                                    ShuffleUnit(96, 96, 1), ShuffleUnit(96, 96, 1))
        self.head = nn.Sequential(nn.Conv2d(96, 256, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU())
        self.fc = nn.Linear(256, num_classes)

    def forward(self, x):
        x = self.head(self.stages(self.stem(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
