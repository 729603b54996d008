"""Data-parallel runs (`trainer=ddp`, `trainer.devices=N`, `trainer.num_nodes=M`).

Lightning starts the processes: Fabric's DDP launcher re-runs this command once per extra local
device (or takes the processes SLURM / torchrun started) and sets up the process group, which the
reconstruction averages its gradients over. Every rank runs the pipeline; `World` says which share of
the work is its own and lets rank 0 alone write files and logs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import torch

from .errors import UserError


@dataclass
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    fabric: Any = None  # lightning_fabric.Fabric when size > 1
    trainer_args: Optional[dict] = None  # accelerator / devices / num_nodes the world was started with
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


def start_world(strategy: str = "auto", accelerator: str = "cpu", devices=1, num_nodes: int = 1,
                backend: Optional[str] = None, multirun: bool = False,
                batch_size: Optional[tuple[str, int]] = None) -> World:
    """The processes of a DDP run (launching them from rank 0 when nobody else did); one process when
    `strategy` is not DDP or only one device is asked for. `accelerator` is Lightning's (cpu | gpu).
    `batch_size` (config key, value): a batch the ranks must share evenly, checked before they start.
    `multirun`: inside a Hydra multirun, where only cluster launchers may start the ranks."""
    if not str(strategy).startswith("ddp"):
        return SINGLE
    from lightning_fabric import Fabric
    from lightning_fabric.strategies import DDPStrategy

    args = {"accelerator": accelerator, "devices": devices, "num_nodes": int(num_nodes)}
    try:
        fabric = Fabric(strategy=DDPStrategy(start_method="popen", process_group_backend=backend), **args)
    except Exception as e:  # Lightning's own check of accelerator / devices (e.g. more GPUs than there are)
        raise UserError(f"trainer=ddp: {str(e).splitlines()[0]} (trainer.accelerator={accelerator}, "
                        f"trainer.devices={devices})") from None
    if fabric.world_size == 1:
        return SINGLE
    if multirun and not fabric._strategy.cluster_environment.creates_processes_externally:
        # Lightning re-runs the command line for each extra rank: inside a local multirun that would
        # re-run the whole sweep
        raise UserError("trainer=ddp with several devices cannot run inside a local multirun: run each "
                        "setting as its own command, or use hydra/launcher=submitit_slurm")
    if batch_size is not None and batch_size[1] % fabric.world_size:
        # said once here, before the other ranks exist (the reconstruction checks it again)
        raise UserError(f"{batch_size[0]}={batch_size[1]} must be a multiple of the number of DDP "
                        f"processes ({fabric.world_size})")
    fabric.launch()
    return World(fabric.global_rank, fabric.world_size, fabric.local_rank, fabric, args, backend)
