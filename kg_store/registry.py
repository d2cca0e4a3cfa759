"""A registry of named plug-ins (name -> ``"module:Class"``), imported only when a name is used.

Each pluggable kind (CTR backbones, rerankers, ingest sources, export formats) keeps one such
table, and it is the only list of that kind's names: CLI choices, error messages and dispatch read
it without importing the plug-ins themselves (torch, for models). A class may also be registered
directly, which is how classes defined outside kgrec join a kind.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from kg_store.errors import ConfigError, KgrecError

T = TypeVar("T")

Target = str | type  # "module:Class", or the class itself


def load_target(target: Target) -> Any:
    """The object a target names: a class given as such, or ``"module:Class"`` imported now."""
    if not isinstance(target, str):
        return target
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Registry(Generic[T]):
    """Names of one kind, each to a ``"module:Class"`` target imported on first :meth:`get`."""

    def __init__(self, kind: str, targets: Mapping[str, Target], error: type[KgrecError] = ConfigError):
        self.kind = kind          # how errors name the kind: "CTR model", "export format", ...
        self.error = error        # raised for an unknown name; a ConfigError subclass by convention
        self._targets: dict[str, Target] = {}
        for name, target in targets.items():
            self.register(name, target)

    def names(self) -> list[str]:
        return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._targets)

    def target(self, name: str) -> str:
        """``"module:Class"`` of ``name``, without importing it."""
        found = self._targets[self._known(name)]
        return found if isinstance(found, str) else f"{found.__module__}:{found.__qualname__}"

    def get(self, name: str) -> type[T]:
        """The class registered under ``name`` (its module imported now); an unknown name lists the known."""
        return load_target(self._targets[self._known(name)])

    def register(self, name: str, target: Target) -> None:
        """Add ``name`` (or point it elsewhere): ``target`` is ``"module:Class"`` or a class."""
        if not name:
            raise ConfigError(f"A {self.kind} needs a non-empty name.")
        if isinstance(target, str) and (":" not in target or target.startswith(":") or target.endswith(":")):
            raise ConfigError(f"Register a {self.kind} as 'module:Class' or a class, not {target!r}.")
        self._targets[name] = target

    def unregister(self, name: str) -> None:
        self._targets.pop(self._known(name))

    def class_of(self, plugin: str | type[T]) -> type[T]:
        """The class for a registered name, or ``plugin`` itself when it is already a class."""
        return self.get(plugin) if isinstance(plugin, str) else plugin

    def create(self, plugin: str | type[T] | T, *args: Any, **kwargs: Any) -> T:
        """An instance from a name, a class or an instance (returned as is, so it takes no arguments)."""
        if isinstance(plugin, str | type):
            return self.class_of(plugin)(*args, **kwargs)
        if args or kwargs:
            raise ConfigError(f"An instance ({self.kind}) takes no arguments; pass a name or class instead.")
        return plugin

    def _known(self, name: str) -> str:
        if name not in self._targets:
            raise self.error(f"No {self.kind} '{name}'; known: {', '.join(self.names())}.")
        return name
