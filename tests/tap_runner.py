"""Run a tap as a user would (its console script, in a subprocess) and collect its messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.contract import ALLOWED_EXTRA, StreamSpec

BIN = Path(sys.executable).parent


@dataclass
class TapRun:
    """What one run printed: records per stream, schemas, states, raw streams."""

    returncode: int
    stdout: str
    stderr: str
    records: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    schemas: dict[str, dict] = field(default_factory=dict)
    states: list[dict] = field(default_factory=list)

    @property
    def last_state(self) -> dict | None:
        """The final STATE value."""
        return self.states[-1] if self.states else None

    def keys(self, stream: str) -> list[tuple]:
        """Primary-key tuples of a stream's records, in emitted order."""
        pk = self.schemas[stream]["key_properties"]
        return [tuple(r.get(k) for k in pk) for r in self.records.get(stream, [])]


def run_tap(
    tap: str,
    config: dict[str, Any],
    *,
    catalog: dict | None = None,
    state: dict | None = None,
    args: tuple[str, ...] = (),
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> TapRun:
    """Run ``tap`` with files for config/catalog/state; parse Singer messages from stdout."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(BIN / tap)]
        cfg = Path(tmp, "config.json")
        cfg.write_text(json.dumps(config))
        cmd += ["--config", str(cfg)]
        if catalog is not None:
            path = Path(tmp, "catalog.json")
            path.write_text(json.dumps(catalog))
            cmd += ["--catalog", str(path)]
        if state is not None:
            path = Path(tmp, "state.json")
            path.write_text(json.dumps(state))
            cmd += ["--state", str(path)]
        cmd += list(args)
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **(env or {})},
            cwd=tmp,
        )
    run = TapRun(proc.returncode, proc.stdout, proc.stderr)
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        kind = msg.get("type")
        if kind == "RECORD":
            run.records[msg["stream"]].append(msg["record"])
        elif kind == "SCHEMA":
            run.schemas[msg["stream"]] = msg
        elif kind == "STATE":
            run.states.append(msg["value"])
    return run


def discover(tap: str, config: dict[str, Any]) -> dict:
    """The tap's catalog (``--discover``)."""
    proc = subprocess.run(
        [str(BIN / tap), "--config", "ENV", "--discover"]
        if not config
        else [str(BIN / tap), "--config", _tmp_json(config), "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout)


def _tmp_json(data: dict) -> str:
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115
    with handle:
        json.dump(data, handle)
    return handle.name


def select(catalog: dict, streams: set[str] | str) -> dict:
    """A copy of ``catalog`` with exactly ``streams`` selected ('all' selects every stream)."""
    out = json.loads(json.dumps(catalog))
    for entry in out["streams"]:
        chosen = streams == "all" or entry["tap_stream_id"] in streams
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = chosen
    return out


def default_selected(catalog: dict) -> set[str]:
    """Streams the catalog selects by default."""
    found = set()
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == [] and meta["metadata"].get("selected-by-default"):
                found.add(entry["tap_stream_id"])
    return found


def assert_catalog_matches(catalog: dict, rows: Mapping[str, StreamSpec]) -> None:
    """The catalog has exactly the contract's streams (plus the allowed run manifest), with
    the contract's keys and default selection."""
    found = {s["tap_stream_id"]: s for s in catalog["streams"]}
    missing = set(rows) - set(found)
    extra = set(found) - set(rows) - ALLOWED_EXTRA
    assert not missing, f"streams of the contract not in the catalog: {sorted(missing)}"
    assert not extra, f"streams the contract does not name: {sorted(extra)}"
    for name, row in rows.items():
        key = found[name]["key_properties"]
        assert row.key_matches(key), f"{name}: key {key}, contract: {row.row}"
        meta = next(m["metadata"] for m in found[name]["metadata"] if m["breadcrumb"] == [])
        assert meta.get("selected-by-default") is row.default, name
