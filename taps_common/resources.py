"""Where a tap's JSON schema files live: inside the wheel, or in the checkout's schemas/."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


def schema_root(package: str, api: str) -> Traversable:
    """The wheel ships ``<package>/schemas``; an editable install reads ``schemas/<api>``."""
    packaged = resources.files(package) / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "schemas" / api
