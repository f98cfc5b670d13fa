"""tap-fivetran against the sandbox over real HTTP: every stream, keys, fields, skips, requests."""

from __future__ import annotations

from collections import Counter

import pytest
from jsonschema import Draft7Validator

from taps_common.redaction import REDACTED
from taps_sandbox.base import SENTINEL
from tests import contract
from tests.conftest import fivetran_config
from tests.datetimes import bad_date_times, date_time_paths, values_at
from tests.expected import FIVETRAN_LISTS, fivetran_items, leaf_paths
from tests.tap_runner import assert_catalog_matches, discover, run_tap, select

CONTRACT = contract.streams("tap-fivetran")  # STREAMS.md, the one statement of the contract


@pytest.fixture(scope="module")
def catalog():
    return discover("tap-fivetran", fivetran_config())


@pytest.fixture(scope="module")
def full_run(catalog, sandbox):
    """Every stream selected, small pages, parallel fan-out."""
    run = run_tap(
        "tap-fivetran",
        fivetran_config(max_concurrency=4, start_date="2026-11-01T00:00:00Z"),
        catalog=select(catalog, "all"),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_discover_lists_the_contract(catalog):
    assert_catalog_matches(catalog, CONTRACT)


def test_every_stream_has_records(full_run):
    empty = [name for name in CONTRACT if not full_run.records.get(name)]
    assert empty == []


def test_date_time_fields_hold_a_date_time_or_null(full_run):
    """What the schema declares date-time the sandbox serves as RFC 3339 (or null), so a
    target can type the column TIMESTAMP."""
    checked = 0
    for name, records in full_run.records.items():
        schema = full_run.schemas[name]["schema"]
        paths = list(date_time_paths(schema))
        for record in records:
            assert not bad_date_times(record, schema), (name, bad_date_times(record, schema)[:3])
            checked += sum(1 for path in paths for v in values_at(record, path) if v is not None)
    assert checked > 100, checked


def test_no_duplicate_keys(full_run):
    for name in CONTRACT:
        keys = full_run.keys(name)
        dupes = [k for k, n in Counter(keys).items() if n > 1]
        assert not dupes, f"{name}: duplicate keys {dupes[:3]}"


def test_top_level_lists_match_the_api_with_every_field(full_run, sandbox):
    api = sandbox.apis["fivetran"]
    for stream, path in FIVETRAN_LISTS.items():
        served = fivetran_items(api, path)
        pk = CONTRACT[stream].primary_key[0]
        got = {r[pk]: r for r in full_run.records[stream]}
        assert set(got) == {item[pk] for item in served}, stream
        for item in served:
            missing = leaf_paths(item) - leaf_paths(got[item[pk]])
            assert not missing, f"{stream} {item[pk]}: fields dropped: {sorted(missing)[:5]}"


def test_connections_merge_detail_config_and_setup_tests(full_run, sandbox):
    api = sandbox.apis["fivetran"]
    for record in full_run.records["connections"]:
        detail = api.get(f"/v1/connections/{record['id']}")["data"]
        assert isinstance(record.get("config"), dict) and record["config"], record["id"]
        assert set(detail) <= set(record), set(detail) - set(record)
        assert record.get("setup_tests") is not None


def test_setup_test_details_come_in_both_shapes(full_run):
    """The sandbox serves details as the spec says (object) and as its examples show (string);
    the records validate against the schema either way."""
    kinds = set()
    for stream in ("connections", "destinations"):
        validator = Draft7Validator(full_run.schemas[stream]["schema"])
        for record in full_run.records[stream]:
            assert not list(validator.iter_errors(record)), (stream, record["id"])
            kinds |= {type(test.get("details")) for test in record.get("setup_tests") or []}
    assert {str, dict} <= kinds, kinds


def test_schema_config_feeds_three_streams_and_skips_missing(full_run, sandbox):
    api = sandbox.apis["fivetran"]
    connections = {r["id"] for r in full_run.records["connections"]}
    without = set(api.connections_without_schema())
    assert without, "the sandbox should have connections without schema config"
    got = {r["connection_id"] for r in full_run.records["connection_schemas"]}
    assert got == connections - without
    tables = columns = 0
    for cid in got:
        config = api.get(f"/v1/connections/{cid}/schemas")["data"]
        for schema in config["schemas"].values():
            for table in schema["tables"].values():
                tables += 1
                columns += len(table.get("columns") or {})
    assert len(full_run.records["connection_tables"]) == tables
    assert len(full_run.records["connection_columns"]) == columns
    assert all("columns" not in r for r in full_run.records["connection_tables"])


def test_memberships_name_both_sides(full_run, sandbox):
    api = sandbox.apis["fivetran"]
    users = [r["id"] for r in full_run.records["users"]]
    expected = {
        (u, item["id"]) for u in users for item in fivetran_items(api, f"/v1/users/{u}/groups")
    }
    got = {(r["user_id"], r["group_id"]) for r in full_run.records["user_group_memberships"]}
    assert got == expected
    teams = [r["id"] for r in full_run.records["teams"]]
    expected = {
        (t, item["user_id"]) for t in teams for item in fivetran_items(api, f"/v1/teams/{t}/users")
    }
    got = {(r["team_id"], r["user_id"]) for r in full_run.records["team_user_memberships"]}
    assert got == expected
    for name, side in [
        ("user_connection_memberships", "connection_id"),
        ("team_group_memberships", "group_id"),
        ("team_connection_memberships", "connection_id"),
        ("proxy_agent_connections", "connection_id"),
    ]:
        for record in full_run.records[name]:
            assert record.get(side), (name, record)
            assert "id" not in record, (name, record)


def test_secrets_never_leave_the_tap(full_run):
    assert SENTINEL not in full_run.stdout
    assert SENTINEL not in full_run.stderr
    assert REDACTED in full_run.stdout
    for hook in full_run.records["webhooks"]:
        assert hook.get("secret") in (REDACTED, None, "")


def test_unredacted_when_asked(catalog):
    run = run_tap(
        "tap-fivetran",
        fivetran_config(redact_secrets=False),
        catalog=select(catalog, {"webhooks"}),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert any(SENTINEL in str(r.get("secret")) for r in run.records["webhooks"])


def test_default_run_makes_one_request_per_page_detail_and_schema(make_sandbox):
    sb = make_sandbox()
    config = fivetran_config(sb)
    del config["page_size"]  # the default: 1000
    run = run_tap("tap-fivetran", config)
    assert run.returncode == 0, run.stderr[-2000:]
    log = sb.requests("fivetran")
    calls = Counter(
        (r["path"], tuple(sorted((k, tuple(v)) for k, v in r["query"].items()))) for r in log
    )
    repeated = [c for c, n in calls.items() if n > 1]
    assert repeated == [], f"requests made twice: {repeated[:3]}"
    paths = [r["path"] for r in log]
    connections = {r["id"] for r in run.records["connections"]}
    assert sum(p.endswith("/schemas") for p in paths) == len(connections)
    assert sum(p.startswith("/v1/connections/") and p.count("/") == 3 for p in paths) == len(
        connections
    )
    assert not [p for p in paths if "/columns" in p]
    assert not [p for p in paths if p.startswith("/v1/connectors")]
    assert sb.non_get_requests == 0


def test_deleted_connections_are_skipped_with_a_warning(make_sandbox):
    sb = make_sandbox(deleted_children=2)
    api = sb.apis["fivetran"]
    deleted = set(api.deleted_connections())
    run = run_tap("tap-fivetran", fivetran_config(sb, max_concurrency=4))
    assert run.returncode == 0, run.stderr[-2000:]
    got = {r["id"] for r in run.records["connections"]}
    assert got == set(api.expected_ids("connections")) - deleted
    assert "NotFound_Connector" in run.stderr


def test_system_keys_forbidden_skips_only_that_stream(make_sandbox):
    sb = make_sandbox(gated=(("/v1/system-keys", 403),))
    run = run_tap("tap-fivetran", fivetran_config(sb))
    assert run.returncode == 0, run.stderr[-2000:]
    assert not run.records.get("system_keys")
    assert run.stderr.count("Stream 'system_keys' skipped") == 1
    assert run.records["users"] and run.records["connections"]


def test_same_records_at_concurrency_1_and_16(catalog, make_sandbox):
    sb = make_sandbox()
    runs = [
        run_tap(
            "tap-fivetran", fivetran_config(sb, max_concurrency=n), catalog=select(catalog, "all")
        )
        for n in (1, 16)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    for name in CONTRACT:
        assert runs[0].keys(name) == runs[1].keys(name), name
        assert runs[0].records[name] == runs[1].records[name], name


def test_sync_history_resumes_from_state(catalog, sandbox):
    cat = select(catalog, {"connection_sync_history"})
    first = run_tap("tap-fivetran", fivetran_config(start_date="2026-11-10T00:00:00Z"), catalog=cat)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.records["connection_sync_history"]
    state = first.last_state
    second = run_tap(
        "tap-fivetran", fivetran_config(start_date="2026-11-10T00:00:00Z"), catalog=cat, state=state
    )
    assert second.returncode == 0, second.stderr[-2000:]
    partitions = state["bookmarks"]["connection_sync_history"]["partitions"]
    marks = {p["context"]["connection_id"]: p["replication_key_value"] for p in partitions}
    assert len(marks) == len({r["connection_id"] for r in first.records["connection_sync_history"]})
    # Only syncs at or after each connection's own bookmark come back: no gap, no old rows.
    for record in second.records["connection_sync_history"]:
        assert record["start_time"] >= marks[record["connection_id"]], record
    assert len(second.records["connection_sync_history"]) < len(
        first.records["connection_sync_history"]
    )


def test_long_runs_log_progress_and_a_summary(make_sandbox):
    sb = make_sandbox(latency_ms=20)
    run = run_tap(
        "tap-fivetran",
        fivetran_config(sb, max_concurrency=1, progress_interval_seconds=1),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    progress = [line for line in run.stderr.splitlines() if "progress after" in line]
    assert len(progress) >= 2, "a progress line per interval"
    assert "requests" in progress[-1] and "records" in progress[-1]
    summary = [line for line in run.stderr.splitlines() if "summary:" in line]
    assert any("finished" in line and "retries" in line for line in summary)
    assert any("summary: stream connections:" in line for line in summary)
    total = sum(len(v) for v in run.records.values())
    assert f"{total} records" in summary[0]


def test_streams_that_fan_out_read_smaller_pages(catalog, make_sandbox):
    """Each connection or user costs requests of its own (details, child streams), so their
    lists are read 250 at a time; lists without children keep page_size."""
    sb = make_sandbox(size="medium")
    run = run_tap("tap-fivetran", fivetran_config(sb, page_size=1000), catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    limits: dict[str, set] = {}
    for entry in sb.requests("fivetran"):
        if "limit" in entry["query"]:
            limits.setdefault(entry["path"], set()).update(entry["query"]["limit"])
    assert limits["/v1/connections"] == {"250"}
    assert limits["/v1/users"] == {"250"}
    assert limits["/v1/groups"] == {"1000"}  # no child streams
    assert limits["/v1/webhooks"] == {"1000"}
    sb.reset_log()
    small = run_tap("tap-fivetran", fivetran_config(sb, page_size=100), catalog=catalog)
    assert small.returncode == 0, small.stderr[-2000:]
    asked = {e["query"]["limit"][0] for e in sb.requests("fivetran") if "limit" in e["query"]}
    assert asked == {"100"}
    assert small.records.keys() == run.records.keys()
    assert all(len(small.records[s]) == len(run.records[s]) for s in run.records)


def test_sync_history_is_prefetched_for_few_connections_at_a_time(catalog):
    """A first run can hold thousands of syncs per connection: with sync history selected,
    connections are prefetched max_concurrency at a time, not 250."""
    from tap_fivetran.tap import TapFivetran

    def batch(names: set[str]) -> int:
        tap = TapFivetran(
            config=fivetran_config(max_concurrency=6),
            catalog=select(catalog, names),
            setup_mapper=False,
        )
        return tap.streams["connections"]._parents_per_prefetch()

    assert batch({"connections", "connection_schemas"}) == 250
    assert batch({"connections", "connection_sync_history"}) == 6
