"""Data-parallel runs (`trainer=ddp`, `trainer.devices=N`, `trainer.num_nodes=M`).

Lightning starts the processes: Fabric's DDP launcher re-runs this command once per extra local
device (or takes the processes SLURM / torchrun started) and sets up the process group, which the
reconstruction Trainers' DDPStrategy then reuses. Every rank runs the pipeline; `World` says which
share of the work is its own and lets rank 0 alone write files and logs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch
from omegaconf import DictConfig

from .devices import lightning_accelerator
from .errors import UserError


@dataclass
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    fabric: Any = None  # lightning_fabric.Fabric when size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.fabric is not None:
            self.fabric.barrier()

    def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """(size, *tensor.shape): every rank's tensor, on every rank (on the CPU)."""
        if self.fabric is None:
            return tensor.unsqueeze(0)
        gathered = self.fabric.all_gather(tensor.to(self.fabric.device))
        return gathered.cpu()


SINGLE = World()


def is_ddp(cfg: DictConfig) -> bool:
    return str(cfg.trainer.strategy).startswith("ddp")


def start_world(cfg: DictConfig) -> World:
    """The processes of a DDP run (launching them from rank 0 when nobody else did); one
    process when the strategy is not DDP or only one device is asked for."""
    if not is_ddp(cfg):
        return SINGLE
    from lightning_fabric import Fabric
    from lightning_fabric.strategies import DDPStrategy

    fabric = Fabric(accelerator=lightning_accelerator(cfg), devices=cfg.trainer.devices,
                    num_nodes=int(cfg.trainer.num_nodes), strategy=DDPStrategy(start_method="popen"))
    if fabric.world_size == 1:
        return SINGLE
    _refuse_inside_a_local_sweep(fabric)
    fabric.launch()
    return World(fabric.global_rank, fabric.world_size, fabric.local_rank, fabric)


def _refuse_inside_a_local_sweep(fabric: Any) -> None:
    """Lightning re-runs the command line for each extra rank: inside a local multirun that would
    re-run the whole sweep, so only launchers whose cluster starts the processes are allowed."""
    from .sweep import is_multirun

    if is_multirun() and not fabric._strategy.cluster_environment.creates_processes_externally:
        raise UserError("trainer=ddp with several devices cannot run inside a local multirun: run each "
                        "setting as its own command, or use hydra/launcher=submitit_slurm")


def ddp_strategy() -> Any:
    """The reconstruction Trainers' strategy: the frozen FP weights and BN buffers are equal on every
    rank, so no buffer broadcast; every trainable tensor gets a gradient in every step."""
    from pytorch_lightning.strategies import DDPStrategy

    return DDPStrategy(find_unused_parameters=False, broadcast_buffers=False)


def rank_trainer_args(device: torch.device, world: Optional[World]) -> dict:
    """Lightning arguments for a Trainer that fits this rank's own problem (one device)."""
    if device.type == "cuda":
        return {"accelerator": "gpu", "devices": [device.index if device.index is not None else 0]}
    return {"accelerator": "cpu", "devices": 1}
