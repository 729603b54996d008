"""ImageNet (or any ImageFolder tree) at `data.root/{train,val}`: resize bilinear, centre crop."""
from __future__ import annotations

import os
from pathlib import Path

from torch.utils.data import Dataset
from torchvision import datasets, transforms

from ..core.errors import UserError

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def image_folder(root: str, split: str, resize: int, crop: int) -> Dataset:
    folder = Path(os.path.expanduser(root)) / split
    if not folder.is_dir():
        raise UserError(f"ImageNet split '{split}' not found at {folder}; point data.root at a folder "
                        f"holding {split}/<class>/<image> (the usual ImageNet layout)")
    tf = transforms.Compose([
        transforms.Resize(resize, interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.CenterCrop(crop), transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    try:
        return datasets.ImageFolder(str(folder), transform=tf)
    except (FileNotFoundError, OSError) as e:
        raise UserError(f"cannot read images under {folder}: {e}") from None
