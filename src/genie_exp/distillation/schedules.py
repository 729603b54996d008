"""Learning-rate schedules applied per parameter group of one optimiser (one group per batch), so
that batches fitted together keep the schedules they would have alone."""
from __future__ import annotations


class Plateau:
    """ReduceLROnPlateau's rule (mode min, relative threshold 1e-4, factor 0.1) for one group."""

    def __init__(self, group: dict, patience: int = 100, factor: float = 0.1, min_lr: float = 1e-4):
        self.group, self.patience, self.factor, self.min_lr = group, patience, factor, min_lr
        self.best, self.bad = float("inf"), 0

    def step(self, loss: float) -> None:
        if loss < self.best * (1 - 1e-4):
            self.best, self.bad = loss, 0
            return
        self.bad += 1
        if self.bad > self.patience:
            self.group["lr"] = max(self.group["lr"] * self.factor, self.min_lr)
            self.bad = 0


class StepDecay:
    """ExponentialLR(gamma) stepped every `every` iterations, for one group."""

    def __init__(self, group: dict, gamma: float = 0.95, every: int = 100):
        self.group, self.gamma, self.every, self.count = group, gamma, every, 0

    def step(self) -> None:
        self.count += 1
        if self.count % self.every == 0:
            self.group["lr"] *= self.gamma
