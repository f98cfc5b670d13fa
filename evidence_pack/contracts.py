"""The marts' columns as the dbt project declares them: each mart's contract.

Every mart in transform/models/marts has a yml beside it naming each column, its type and its
meaning, and dbt enforces it when it builds the mart (`contract: {enforced: true}`), so that
declaration is what the tables hold. The pack reads its column lists from there instead of
keeping a copy. In a checkout (or an editable install) the files are read where they are; a
built wheel carries the folder as evidence_pack/contracts (pyproject.toml), since the pack is
installed without the dbt project.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from evidence_pack import ReportError

CHECKOUT_MARTS = Path(__file__).resolve().parent.parent / "transform" / "models" / "marts"
PACKAGED_MARTS = "contracts"


@dataclass(frozen=True)
class Column:
    """One declared column: its name and its dbt data_type (text, timestamp, boolean, ...)."""

    name: str
    data_type: str

    @property
    def is_time(self) -> bool:
        """A timestamp column (the pack reads it as an aware UTC datetime)."""
        return self.data_type.lower().startswith("timestamp")


def marts_folder() -> Traversable:
    """The folder of the marts' yml files: the wheel's copy, else the checkout's."""
    packaged = resources.files("evidence_pack") / PACKAGED_MARTS
    if packaged.is_dir():
        return packaged
    if CHECKOUT_MARTS.is_dir():
        return CHECKOUT_MARTS
    raise ReportError(
        f"the marts' contracts are missing: neither evidence_pack/{PACKAGED_MARTS} nor "
        f"{CHECKOUT_MARTS} exists (reinstall the package)"
    )


def _typed(model: dict[str, Any]) -> bool:
    """A model declared with columns, each with a type (dbt_project.yml enforces a contract on
    every mart, so a mart's yml is its contract; unit-test files declare no models)."""
    columns = model.get("columns") or []
    return bool(columns) and all(c.get("data_type") for c in columns)


@cache
def mart_contracts() -> dict[str, list[Column]]:
    """Every mart, name -> its columns in declared order (the table's order)."""
    found: dict[str, list[Column]] = {}
    for entry in sorted(marts_folder().iterdir(), key=lambda e: e.name):
        if not entry.name.endswith((".yml", ".yaml")):
            continue
        doc = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        for model in doc.get("models") or []:
            if _typed(model):
                found[model["name"]] = [
                    Column(str(c["name"]), str(c["data_type"])) for c in model["columns"]
                ]
    return found
