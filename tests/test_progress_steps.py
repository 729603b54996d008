"""A reconstruction's progress counts optimizer steps (recon.iters), not the chunks of steps that
Lightning runs as one step each."""
import sys

import torch
import torch.nn as nn

import genie_exp


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.stem(x).mean((2, 3)))


def _quantize(iters: int) -> None:
    torch.manual_seed(0)
    genie_exp.quantize(Tiny().eval(), torch.randn(16, 3, 6, 6), w_bits=4, a_bits=4, iters=iters, batch_size=8,
                       calib_samples=16, progress=True)


def test_plain_progress_lines_count_optimizer_steps(capsys):
    _quantize(100)  # 50 chunks of 2 steps
    lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith("recon stem.0:")]
    assert lines == [f"recon stem.0: {p}% ({p}/100 steps)" for p in range(10, 101, 10)]


def test_the_terminal_bar_counts_optimizer_steps(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    _quantize(100)
    out = capsys.readouterr().out
    assert "recon stem.0" in out and "100/100 steps" in out and "50/50" not in out
