"""Name -> class registries for policies and mixes. Built-ins register exactly as a user's code
does; `module:Class` names import a class from anywhere without registering it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Generic, TypeVar

from allocator.params.errors import SpecError

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    def __init__(self, kind: str, plural: str, base: T, load_builtins: Callable[[], None]) -> None:
        self.kind = kind
        self.plural = plural
        self.base = base
        self._load_builtins = load_builtins
        self._classes: dict[str, T] = {}

    def register(self, cls: T) -> T:
        name = getattr(cls, "name", "")
        if not name:
            raise TypeError(f"{cls.__qualname__} has no name")
        self._classes[name] = cls
        return cls

    def all(self) -> dict[str, T]:
        self._load_builtins()
        return dict(self._classes)

    def get(self, name: str) -> T:
        """A registered class by name, or `module:Class` imported from the user's code."""
        self._load_builtins()
        if name in self._classes:
            return self._classes[name]
        if ":" in name:
            module_name, _, attr = name.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise SpecError(
                    f"{self.kind} '{name}': cannot import module '{module_name}': {exc}"
                ) from exc
            cls = getattr(module, attr, None)
            if not (isinstance(cls, type) and issubclass(cls, self.base)):
                raise SpecError(
                    f"{self.kind} '{name}': '{attr}' is not a {self.base.__name__} subclass "
                    f"in {module_name}"
                )
            return cls
        known = ", ".join(sorted(self._classes))
        raise SpecError(
            f"unknown {self.kind} '{name}'; known {self.plural}: {known} (or module:Class)"
        )
