"""Name -> object registries for architectures, losses, tricks, datasets and metrics."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Generic, Iterator, TypeVar

from gangrid.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of builders; `register` is a decorator, `get` fails with a clear line."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Register the decorated object under `name` (names are unique)."""

        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str, key: str = "") -> T:
        """Return the object registered as `name`; `key` names the params key for the error."""
        try:
            return self._items[name]
        except KeyError:
            where = f"{key}: " if key else ""
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"{where}unknown {self.kind} '{name}' (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._items)


_IMPORTED: set[str] = set()


def import_submodules(package_name: str) -> None:
    """Import every module of a package (once per process) so that their `@register` decorators run."""
    if package_name in _IMPORTED:
        return
    package = importlib.import_module(package_name)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package_name}.{info.name}")
    _IMPORTED.add(package_name)  # only once all imported (a nested call during the imports scans again)
