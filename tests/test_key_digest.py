"""The manifest's key digest: its definition, worked out here independently (hashlib, plain
SQL), against what the taps put in the manifest and what DuckDB recomputes; and sources.yml,
the list the reconciliation mart reads, against the taps' streams and keys."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tap_fivetran import streams as fivetran_streams
from tap_segment import streams as segment_streams
from taps_common.declared import declared_streams
from taps_common.key_digest import (
    EMPTY,
    KeyDigests,
    canonical_key,
    distinct_digest,
    key_hash,
)
from taps_common.streams import ApiStream
from tests.conftest import fivetran_config, segment_config
from tests.tap_runner import run_tap

ROOT = Path(__file__).resolve().parent.parent
MOD = 2**60


def md5_60(text: str) -> int:
    """The definition, spelled out: the first 15 hex digits of MD5 as an integer."""
    return int(hashlib.md5(text.encode()).hexdigest()[:15], 16)


class FakeStream:
    """What KeyDigests reads from a stream."""

    def __init__(self, keys: tuple[str, ...], props: dict[str, Any], selected: bool = True):
        self.name = "things"
        self.primary_keys = keys
        self.schema = {"properties": props}
        self.selected = selected


TEXT = {"type": ["string"]}
TIME = {"type": ["string", "null"], "format": "date-time"}
NUMBER = {"type": ["number"]}


def test_canonical_key_renders_each_kind_as_sql_can() -> None:
    kinds = ("text", "date-time", "other", "other", "other")
    assert canonical_key(["ws", "2026-01-01T00:00:00.123Z", 3.0, True, None], kinds) == (
        "ws\x1f1767225600123000\x1f3\x1ftrue\x1f\x1e"
    )
    # An offset is the same instant; a naive time is UTC; a fraction stays a fraction.
    assert canonical_key(["2026-01-01T02:00:00+02:00"], ["date-time"]) == "1767225600000000"
    assert canonical_key(["2026-01-01 00:00:00"], ["date-time"]) == "1767225600000000"
    assert canonical_key([1.5, 7], ["other", "other"]) == "1.5\x1f7"


def test_key_hash_is_the_first_15_hex_digits_of_md5() -> None:
    for text in ("", "ws1\x1fusers-1-1", "é\x1e", "x" * 300):
        assert key_hash(text) == md5_60(text)
        assert 0 <= key_hash(text) < MOD


@pytest.mark.parametrize("n", [50, 40_000])  # 40,000: the bucketed count as well
def test_digest_is_over_distinct_keys_in_any_order(n: int) -> None:
    rng = random.Random(n)
    ids = [f"id-{i}" for i in range(n)]
    emitted = ids + rng.sample(ids, n // 10)  # some emitted twice, as a lookback re-read does
    rng.shuffle(emitted)
    digests = KeyDigests()
    stream = FakeStream(("workspaceId", "id"), {"workspaceId": TEXT, "id": TEXT})
    for i in emitted:
        digests.add(stream, "ws", {"workspaceId": "ws", "id": i, "other": 1})
    expected = sum(md5_60(f"ws\x1f{i}") for i in ids) % MOD
    assert digests.digest("things", "ws").distinct_keys == n
    assert digests.digest("things", "ws").key_digest == expected
    assert distinct_digest(sorted(md5_60(f"ws\x1f{i}") for i in emitted)) == (n, expected)


def test_tenants_apart_and_unselected_streams_not_noted() -> None:
    digests = KeyDigests()
    stream = FakeStream(("id",), {"id": TEXT})
    digests.add(stream, "a", {"id": "1"})
    digests.add(stream, "b", {"id": "2"})
    assert digests.digest("things", "a").key_digest == md5_60("1")
    assert digests.digest("things", "b").key_digest == md5_60("2")
    quiet = KeyDigests()
    quiet.add(FakeStream(("id",), {"id": TEXT}, selected=False), "a", {"id": "1"})
    assert quiet.digest("things", "a") == EMPTY


def test_duckdb_recomputes_the_digest_from_typed_columns() -> None:
    """The warehouse holds a timestamp, a double and nulls, not the API's strings: plain SQL
    (the expressions of transform/macros/evidence_reconciliation.sql) gives the same digest."""
    stream = FakeStream(
        ("ws", "at", "version", "name"),
        {"ws": TEXT, "at": TIME, "version": NUMBER, "name": {"type": ["string", "null"]}},
    )
    rows = [
        {"ws": "w1", "at": "2026-03-01T10:00:00.250Z", "version": 2, "name": "a"},
        {"ws": "w1", "at": "2026-03-01T10:00:00Z", "version": 3, "name": None},
        {"ws": "w1", "at": "2026-02-28T23:00:00-02:00", "version": 1, "name": "b\u00e9"},
    ]
    digests = KeyDigests()
    for row in [*rows, rows[0]]:
        digests.add(stream, "w1", row)
    con = duckdb.connect()
    con.execute("create table t (ws varchar, at timestamp, version double, name varchar)")
    for r in rows:
        at = datetime.fromisoformat(r["at"]).astimezone(UTC).replace(tzinfo=None)
        con.execute("insert into t values (?, ?, ?, ?)", [r["ws"], at, r["version"], r["name"]])
    (count, digest) = con.execute(
        """
        select count(*), cast(sum(h) % 1152921504606846976 as bigint) from (
            select cast('0x' || substr(md5(
                coalesce(ws, chr(30)) || chr(31)
                || coalesce(cast(epoch_us(at) as text), chr(30)) || chr(31)
                || coalesce(case when version = floor(version)
                    then cast(cast(version as bigint) as text)
                    else cast(version as text) end, chr(30)) || chr(31)
                || coalesce(name, chr(30))
            ), 1, 15) as bigint) as h
            from t
        )
        """
    ).fetchone()
    assert (count, digest) == (3, digests.digest("things", "w1").key_digest)


def _independent_digest(records: list[dict], keys: list[str], schema: dict) -> tuple[int, int]:
    """The manifest's two numbers from the emitted records, by the definition alone."""
    props = schema["properties"]
    seen = set()
    for rec in records:
        parts = []
        for k in keys:
            v = rec.get(k)
            if v is None:
                parts.append("\x1e")
            elif props.get(k, {}).get("format") == "date-time":
                moment = datetime.fromisoformat(v)
                moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                parts.append(str(round(moment.timestamp() * 1_000_000)))
            elif isinstance(v, float) and v.is_integer():
                parts.append(str(int(v)))
            else:
                parts.append(str(v))
        seen.add("\x1f".join(parts))
    return len(seen), sum(md5_60(k) for k in seen) % MOD


@pytest.mark.parametrize(
    ("tap", "config"), [("tap-segment", segment_config), ("tap-fivetran", fivetran_config)]
)
def test_manifest_carries_the_digest_of_what_was_emitted(tap: str, config: Any) -> None:
    cfg = config()
    run = run_tap(tap, cfg)
    assert run.returncode == 0, run.stderr[-2000:]
    [manifest] = run.records["sync_runs"]
    host = cfg["api_url"].split("//", 1)[1].split("/", 1)[0]
    assert manifest["streams"], "the manifest lists the streams"
    for outcome in manifest["streams"]:
        name = outcome["stream"]
        records = run.records.get(name, [])
        schema = run.schemas[name]
        expected = _independent_digest(records, schema["key_properties"], schema["schema"])
        assert (outcome["distinct_keys"], outcome["key_digest"]) == expected, name
        assert outcome["records"] == len(records), name
        assert outcome["api_host"] == host
        assert outcome["paths"] and all(p.startswith("/") for p in outcome["paths"]), name
    by_name = {o["stream"]: o for o in manifest["streams"]}
    if tap == "tap-fivetran":
        schemas = "/v1/connections/{connection_id}/schemas"
        assert by_name["connection_tables"]["paths"] == [schemas]  # derived from its parent
        assert by_name["connections"]["paths"] == ["/v1/connections", "/v1/connections/{id}"]


def test_sources_yml_lists_every_stream_with_its_key() -> None:
    """evidence.extract_reconciliation reads sources.yml: a stream missing there, or a key
    that differs from the tap's, would be reconciled against the wrong columns or not at
    all."""
    doc = yaml.safe_load((ROOT / "transform" / "models" / "sources.yml").read_text())
    listed = {
        (src["name"], t["name"]): t.get("config", {}).get("meta", {}).get("primary_key")
        for src in doc["sources"]
        if src["name"] in ("segment", "fivetran")  # not the HR roster: no control plane
        for t in src["tables"]
        if t["name"] != "sync_runs"
    }
    declared = {
        (system, cls.name): list(cls.primary_keys)
        for system, module in (("segment", segment_streams), ("fivetran", fivetran_streams))
        for cls in declared_streams(vars(module), ApiStream)
    }
    assert listed == declared
