"""The streams a tap module declares, found from its classes: adding a stream is writing its class.

Runs at import time, on whatever thread imports the tap's streams module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def declared_streams(namespace: Mapping[str, object], base: type[T]) -> tuple[type[T], ...]:
    """Every class in ``namespace`` (a module's ``globals()``) that subclasses ``base`` and
    names itself (``name`` in its own body), in the order the module defines them. Helper
    bases (``_List``, ``_UsageStream``) name no stream and are left out; the SDK syncs streams
    in this order."""
    found: list[type[T]] = []
    for value in namespace.values():
        named = isinstance(value, type) and "name" in vars(value)
        if named and isinstance(value, type) and issubclass(value, base) and value is not base:
            found.append(value)
    names = [str(vars(cls)["name"]) for cls in found]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise TypeError(f"stream names declared twice: {', '.join(doubled)}")
    return tuple(found)
