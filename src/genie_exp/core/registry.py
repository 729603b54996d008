"""One shape for every name that has code behind it (models, datasets, calibration sources,
quantization methods): a read-only mapping from name to entry, filled by `register`, whose lookup of
an unknown name is one UserError line with the closest name and the choices."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Callable, Generic, Iterator, TypeVar

from .errors import UserError, did_you_mean

T = TypeVar("T")


class Registry(Mapping, Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind  # how an error names the setting: "unknown {kind} '{name}'"
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        self._entries[name] = entry
        return entry

    def decorator(self, name_of: Callable[[T], str] = lambda obj: obj.__name__) -> Callable[[T], T]:
        """`@REGISTRY.decorator()` registers the decorated object under its own name."""
        return lambda obj: self.register(name_of(obj), obj)

    def __getitem__(self, name: str) -> T:
        if name not in self._entries:
            names = list(self._entries)
            raise UserError(f"unknown {self.kind} '{name}'{did_you_mean(str(name), names)} (choose from: "
                            f"{', '.join(names)})")
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str, default=None):
        return self._entries.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
