"""What a target receives besides records: every SCHEMA and STATE costs a target a drain.

target-duckdb loads its whole batch on every SCHEMA message and SDK targets may drain on a
STATE, so a child stream whose SCHEMA went out once per parent loaded its rows one at a time.
These runs fan out (a child per parent) against the sandbox over HTTP and count the messages.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.conftest import fivetran_config, segment_config
from tests.tap_runner import run_tap


def message_counts(stdout: str) -> tuple[Counter[str], Counter[str], int]:
    """SCHEMA messages per stream, RECORD messages per stream, STATE messages."""
    schemas: Counter[str] = Counter()
    records: Counter[str] = Counter()
    states = 0
    for line in stdout.splitlines():
        msg = json.loads(line)
        if msg["type"] == "SCHEMA":
            schemas[msg["stream"]] += 1
        elif msg["type"] == "RECORD":
            records[msg["stream"]] += 1
        elif msg["type"] == "STATE":
            states += 1
    return schemas, records, states


@pytest.mark.parametrize(
    ("tap", "config", "children"),
    [
        # each connection's schema config, each user's and team's memberships: one sync per parent
        (
            "tap-fivetran",
            fivetran_config,
            ("connection_schemas", "user_connection_memberships", "team_user_memberships"),
        ),
        # each source's settings and connected warehouses, each group's members
        ("tap-segment", segment_config, ("source_settings", "user_group_members")),
    ],
)
def test_one_schema_per_stream_in_a_fan_out_run(tap, config, children):
    run = run_tap(tap, config(page_size=1000))
    assert run.returncode == 0, run.stderr[-2000:]
    schemas, records, states = message_counts(run.stdout)
    for child in children:  # the run did fan out: many parents, records from several
        assert records[child] > 1, f"{child}: no fan-out to count"
    repeated = {name: n for name, n in schemas.items() if n != 1}
    assert not repeated, f"SCHEMA sent more than once per stream: {repeated}"
    assert set(schemas) >= set(records), "a stream's records came without its SCHEMA"
    # The SDK writes STATE only when it changed; a full-table child adds none per parent.
    assert states <= len(schemas) + 2, f"{states} STATE messages for {len(schemas)} streams"


def test_child_streams_log_their_metrics_once_per_run():
    """A child's record_count and sync_duration come once per run, and the count is the
    number of records it emitted (Meltano relays every log line the tap writes)."""
    run = run_tap("tap-fivetran", fivetran_config(page_size=1000))
    assert run.returncode == 0, run.stderr[-2000:]
    _, records, _ = message_counts(run.stdout)
    counts: dict[str, list[int]] = {}
    timers: Counter[str] = Counter()
    openings: Counter[str] = Counter()
    for line in run.stderr.splitlines():
        if "METRIC: " in line:
            point = json.loads(line.split("METRIC: ", 1)[1])
            stream = point["tags"].get("stream")
            if point["metric"] == "record_count":
                counts.setdefault(stream, []).append(point["value"])
            elif point["metric"] == "sync_duration":
                timers[stream] += 1
        elif "Beginning sync of '" in line:
            openings[line.split("Beginning sync of '", 1)[1].split("'", 1)[0]] += 1
    for child in ("connection_schemas", "connection_columns", "user_group_memberships"):
        assert timers[child] == 1, f"{child}: {timers[child]} sync_duration lines"
        assert openings[child] == 1, f"{child}: {openings[child]} 'Beginning sync' lines"
        assert sum(counts[child]) == records[child], f"{child}: {counts[child]}"


def test_a_changed_schema_goes_out_again(capfdbinary):
    """Only an identical SCHEMA is dropped: one changed in place (the SDK hands the same schema
    object each time), or with other key properties, goes out."""
    from singer_sdk.singerlib.messages import SchemaMessage

    from taps_common.message_writer import BatchedMsgSpecWriter

    writer = BatchedMsgSpecWriter()
    schema = {"type": "object", "properties": {"id": {"type": "string"}}}
    for _ in range(3):
        writer.write_message(SchemaMessage("s", schema, ["id"]))
    schema["properties"]["name"] = {"type": ["string", "null"]}
    writer.write_message(SchemaMessage("s", schema, ["id"]))
    writer.write_message(SchemaMessage("s", schema, ["id"]))
    writer.write_message(SchemaMessage("s", schema, ["id", "name"]))
    writer.write_message(SchemaMessage("t", schema, ["id", "name"]))
    writer.flush()
    sent = [json.loads(line) for line in capfdbinary.readouterr().out.splitlines()]
    assert [
        (m["stream"], sorted(m["schema"]["properties"]), m["key_properties"]) for m in sent
    ] == [
        ("s", ["id"], ["id"]),
        ("s", ["id", "name"], ["id"]),
        ("s", ["id", "name"], ["id", "name"]),
        ("t", ["id", "name"], ["id", "name"]),
    ]
