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
    trainer_args: Optional[dict] = None  # accelerator / devices / num_nodes of the DDP Trainers
    backend: Optional[str] = None  # the process group's (nccl / gloo); None: Lightning's choice

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
        # gloo gathers CPU tensors only (it all-reduces and broadcasts CUDA ones, which is all DDP needs)
        on_cpu = torch.distributed.get_backend() == "gloo"
        gathered = self.fabric.all_gather(tensor.cpu() if on_cpu else tensor.to(self.fabric.device))
        return gathered.cpu()

    def all_reduce_mean(self, tensor: torch.Tensor) -> None:
        """In place: the mean of `tensor` over the ranks (a no-op in one process)."""
        if self.fabric is not None:
            torch.distributed.all_reduce(tensor)
            tensor.div_(self.size)

    def agree(self, model: torch.nn.Module) -> bool:
        """Whether every rank holds the same weights and steps (a float64 checksum of the state):
        DDP gives all ranks the same averaged gradients, so after reconstruction they must agree."""
        if self.fabric is None:
            return True
        total = sum(float(t.double().sum()) for t in model.state_dict().values()
                    if torch.is_tensor(t) and t.is_floating_point())
        sums = self.all_gather(torch.tensor([total], dtype=torch.float64)).flatten()
        return bool(torch.allclose(sums, sums[0].expand_as(sums), rtol=1e-9, atol=0.0))

    def close(self) -> None:
        """Wait for every rank, then leave the process group (a clean exit of the gloo threads)."""
        if self.fabric is not None and torch.distributed.is_initialized():
            self.fabric.barrier()
            torch.distributed.destroy_process_group()


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

    args = {"accelerator": lightning_accelerator(cfg), "devices": cfg.trainer.devices,
            "num_nodes": int(cfg.trainer.num_nodes)}
    backend = cfg.trainer.get("ddp_backend")
    try:
        fabric = Fabric(strategy=DDPStrategy(start_method="popen", process_group_backend=backend), **args)
    except Exception as e:  # Lightning's own check of accelerator / devices (e.g. more GPUs than there are)
        raise UserError(f"trainer=ddp: {str(e).splitlines()[0]} (trainer.accelerator="
                        f"{cfg.trainer.accelerator}, trainer.devices={cfg.trainer.devices})") from None
    if fabric.world_size == 1:
        return SINGLE
    _refuse_inside_a_local_sweep(fabric)
    if cfg.quantizer.reconstruct and int(cfg.recon.batch_size) % fabric.world_size:
        # said once here, before the other ranks exist (the reconstruction checks it again)
        raise UserError(f"recon.batch_size={cfg.recon.batch_size} must be a multiple of the number of DDP "
                        f"processes ({fabric.world_size})")
    fabric.launch()
    return World(fabric.global_rank, fabric.world_size, fabric.local_rank, fabric, args, backend)


def _refuse_inside_a_local_sweep(fabric: Any) -> None:
    """Lightning re-runs the command line for each extra rank: inside a local multirun that would
    re-run the whole sweep, so only launchers whose cluster starts the processes are allowed."""
    from .sweep import is_multirun

    if is_multirun() and not fabric._strategy.cluster_environment.creates_processes_externally:
        raise UserError("trainer=ddp with several devices cannot run inside a local multirun: run each "
                        "setting as its own command, or use hydra/launcher=submitit_slurm")


def ddp_strategy(backend: Optional[str] = None) -> Any:
    """The reconstruction Trainers' strategy: the frozen FP weights and BN buffers are equal on every
    rank, so no buffer broadcast; every trainable tensor gets a gradient in every step."""
    from pytorch_lightning.strategies import DDPStrategy

    return DDPStrategy(find_unused_parameters=False, broadcast_buffers=False, process_group_backend=backend)


def rank_devices(cfg: DictConfig, world: World):
    """`devices` for a Trainer that fits this rank's own problem: its own GPU, or one CPU process."""
    if world.size > 1 and lightning_accelerator(cfg) == "gpu":
        return [world.local_rank]
    return 1
