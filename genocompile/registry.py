"""A name -> entry registry: registering a name twice is a bug (RuntimeError); looking up an unknown name
is bad input (the caller's typed error, naming what is known). The compiler's extension points (IR op
kinds, skeleton lowerings, ONNX rules, targets) are instances."""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class Registry(dict, Generic[T]):
    def __init__(self, what: str, error: type[Exception] = KeyError):
        super().__init__()
        self.what, self.error = what, error

    def add(self, name: str, entry: T) -> T:
        if name in self:
            raise RuntimeError(f"{self.what} {name!r} registered twice")
        self[name] = entry
        return entry

    def decorator(self, name: str) -> Callable[[T], T]:
        return lambda entry: self.add(name, entry)

    def get_or_raise(self, name: str, hint: str = "") -> T:
        if name not in self:
            raise self.error(f"unknown {self.what} {name!r}; known: {', '.join(self)}{hint}")
        return self[name]
