"""The stream contract, read from STREAMS.md: the one place tests learn stream names, endpoints,
primary keys, parents, replication and default selection, so no test restates it.

Each tap has one Markdown table (under a heading that starts with ``## tap-segment`` or
``## tap-fivetran``) with the columns stream | endpoint | primary key | parent | replication |
default. Cells mix names in backticks with prose; what is not a plain name is kept as text
(``key_note``, ``replication``) instead of being guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

STREAMS_MD = Path(__file__).resolve().parents[1] / "STREAMS.md"
COLUMNS = ("stream", "endpoint", "primary key", "parent", "replication", "default")
# Streams a tap may have besides the contract's: the run manifest both taps emit.
ALLOWED_EXTRA = frozenset({"sync_runs"})

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_GET = re.compile(r"`GET ([^`?\s]+)[^`]*`")


@dataclass(frozen=True)
class StreamSpec:
    """One row of a contract table."""

    name: str
    endpoints: tuple[str, ...]  # GET paths (query stripped); () for "the same response"
    primary_key: tuple[str, ...]  # the plainly named key fields, in order
    key_note: str | None  # prose after the named fields ("the sync's own id or start time")
    parent: str | None
    incremental: bool
    replication_key: str | None  # the backticked field after "incremental on", if any
    default: bool
    row: str  # the raw Markdown row, for messages

    @property
    def endpoint(self) -> str | None:
        """The first (list) endpoint, or None when the stream reuses its parent's response."""
        return self.endpoints[0] if self.endpoints else None

    def key_matches(self, key: list[str] | tuple[str, ...]) -> bool:
        """Whether a tap's key fits: exactly the named fields, or (when the contract adds
        prose such as "and each groupBy value") the named fields followed by more."""
        key = tuple(key)
        if self.key_note is None:
            return key == self.primary_key
        return key[: len(self.primary_key)] == self.primary_key and len(key) > len(self.primary_key)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _key(cell: str, row: str) -> tuple[tuple[str, ...], str | None]:
    names: list[str] = []
    parts = [p.strip() for p in cell.split(",")]
    for i, part in enumerate(parts):
        plain = part.strip("`")
        if _IDENT.match(plain):
            names.append(plain)
            continue
        rest = ", ".join(parts[i:])
        if not names:
            raise ValueError(f"STREAMS.md: primary key names no field: {row}")
        return tuple(names), rest
    if not names:
        raise ValueError(f"STREAMS.md: empty primary key: {row}")
    return tuple(names), None


def _replication(cell: str, row: str) -> tuple[bool, str | None]:
    if cell == "full":
        return False, None
    if not cell.startswith("incremental on "):
        raise ValueError(f"STREAMS.md: replication must be 'full' or 'incremental on ...': {row}")
    found = re.match(r"incremental on `([A-Za-z_][A-Za-z0-9_]*)`", cell)
    return True, found.group(1) if found else None


def _default(cell: str, row: str) -> bool:
    word = cell.split(maxsplit=1)[0] if cell else ""
    if word not in ("yes", "no"):
        raise ValueError(f"STREAMS.md: default must start with yes or no: {row}")
    return word == "yes"


def parse(text: str) -> dict[str, dict[str, StreamSpec]]:
    """tap name -> stream name -> row, for every table under a ``## tap-...`` heading."""
    tables: dict[str, dict[str, StreamSpec]] = {}
    tap: str | None = None
    for line in text.splitlines():
        heading = re.match(r"^## (tap-[a-z]+)\b", line)
        if heading:
            tap = heading.group(1)
            continue
        if line.startswith("#"):
            tap = None
            continue
        if tap is None or not line.startswith("|"):
            continue
        cells = _cells(line)
        if tuple(c.lower() for c in cells) == COLUMNS:
            tables.setdefault(tap, {})
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        if tap not in tables:
            raise ValueError(f"STREAMS.md: a {tap} row before its header: {line}")
        if len(cells) != len(COLUMNS):
            raise ValueError(f"STREAMS.md: expected {len(COLUMNS)} cells: {line}")
        name, endpoint, key, parent, replication, default = cells
        if not _IDENT.match(name) or name in tables[tap]:
            raise ValueError(f"STREAMS.md: bad or repeated stream name: {line}")
        primary_key, key_note = _key(key, line)
        incremental, replication_key = _replication(replication, line)
        tables[tap][name] = StreamSpec(
            name=name,
            endpoints=tuple(_GET.findall(endpoint)),
            primary_key=primary_key,
            key_note=key_note,
            parent=parent.strip("`") or None,
            incremental=incremental,
            replication_key=replication_key,
            default=_default(default, line),
            row=line,
        )
    for tap_name, streams in tables.items():
        for spec in streams.values():
            if spec.parent is not None and spec.parent not in streams:
                raise ValueError(f"STREAMS.md: {tap_name} parent {spec.parent} is no stream")
    return tables


@cache
def contract() -> dict[str, dict[str, StreamSpec]]:
    """The parsed STREAMS.md of this repository."""
    return parse(STREAMS_MD.read_text(encoding="utf-8"))


def streams(tap: str) -> dict[str, StreamSpec]:
    """The contract rows of ``tap`` ('tap-segment' or 'tap-fivetran')."""
    return contract()[tap]


def not_default(tap: str) -> set[str]:
    """Streams the contract leaves unselected when no catalog is given."""
    return {name for name, spec in streams(tap).items() if not spec.default}


def same_path(a: str, b: str) -> bool:
    """Paths equal up to the names of their {placeholders} ({id} vs {connectionId})."""
    return re.sub(r"\{[^}]*\}", "{}", a) == re.sub(r"\{[^}]*\}", "{}", b)
