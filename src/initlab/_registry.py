"""A small name registry shared by initializers, activations and datasets.

One place decides how names are looked up, how aliases work and what an unknown name's
error says, so the CLI, config files and docs all list choices the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(ValueError):
    """Raised for a name that no registry entry or alias has; the message lists them all."""


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    value: T
    description: str
    aliases: tuple[str, ...] = ()


class Registry(Generic[T]):
    """Maps canonical names and aliases to values, case-insensitively.

    >>> r = Registry[int]("number")
    >>> r.register("one", 1, "the first", aliases=("uno",))
    >>> r.get("UNO")
    1
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._lookup: dict[str, str] = {}

    def register(
        self,
        name: str,
        value: T,
        description: str,
        *,
        aliases: tuple[str, ...] = (),
        overwrite: bool = False,
    ) -> None:
        keys = [name.lower(), *(a.lower() for a in aliases)]
        if not overwrite:
            taken = [k for k in keys if k in self._lookup]
            if taken:
                raise ValueError(
                    f"{self.kind} name {taken[0]!r} is already registered; "
                    "pass overwrite=True to replace it"
                )
        self._entries[name.lower()] = Entry(name.lower(), value, description, aliases)
        for key in keys:
            self._lookup[key] = name.lower()

    def unregister(self, name: str) -> None:
        """Remove an entry and its aliases (for plugins and tests that register temporarily)."""
        canonical = self.canonical(name)
        del self._entries[canonical]
        self._lookup = {k: v for k, v in self._lookup.items() if v != canonical}

    def canonical(self, name: str) -> str:
        """The canonical name for ``name`` or one of its aliases."""
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} name must be a string. Received: {name!r}")
        try:
            return self._lookup[name.lower()]
        except KeyError:
            known = ", ".join(self.names())
            raise UnknownNameError(
                f"Unknown {self.kind} {name!r}. Known {self.kind}s: {known}."
            ) from None

    def get(self, name: str) -> T:
        return self._entries[self.canonical(name)].value

    def entry(self, name: str) -> Entry[T]:
        return self._entries[self.canonical(name)]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))
