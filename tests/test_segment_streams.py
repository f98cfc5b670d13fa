"""tap-segment against the sandbox over real HTTP: every stream, keys, fields, workspaces,
incremental audit events and usage, gating, redaction, concurrency."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import pytest

from taps_common.redaction import REDACTED
from taps_sandbox.base import SEGMENT_TOKEN, SEGMENT_TOKEN_2, SENTINEL
from tests import contract
from tests.conftest import segment_config
from tests.datetimes import bad_date_times, date_time_paths, values_at
from tests.expected import leaf_paths, segment_items
from tests.tap_runner import assert_catalog_matches, discover, run_tap, select

CONTRACT = contract.streams("tap-segment")  # STREAMS.md, the one statement of the contract
TOP_LEVEL = {
    "sources": ("/sources", "sources"),
    "destinations": ("/destinations", "destinations"),
    "warehouses": ("/warehouses", "warehouses"),
    "tracking_plans": ("/tracking-plans", "trackingPlans"),
    "transformations": ("/transformations", "transformations"),
    "users": ("/users", "users"),
    "user_groups": ("/groups", "userGroups"),
    "roles": ("/roles", "roles"),
    "regulations": ("/regulations", "regulations"),
    "credentials": ("/credentials", "credentials"),
    "spaces": ("/spaces", "spaces"),
    "reverse_etl_models": ("/reverse-etl-models", "models"),
    "catalog_sources": ("/catalog/sources", "sourcesCatalog"),
}
START = "2026-09-01T00:00:00Z"


@pytest.fixture(scope="module")
def catalog():
    return discover("tap-segment", segment_config())


@pytest.fixture(scope="module")
def full_run(catalog, sandbox):
    run = run_tap(
        "tap-segment",
        segment_config(max_concurrency=4, start_date=START),
        catalog=select(catalog, "all"),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_discover_lists_the_contract(catalog):
    assert_catalog_matches(catalog, CONTRACT)


def test_every_stream_has_records_with_workspace_id(full_run, sandbox):
    workspace = (
        sandbox.apis["segment"].get("/")["data"]["workspace"]["id"]
        if hasattr(sandbox.apis["segment"], "get")
        else None
    )
    empty = [name for name in CONTRACT if not full_run.records.get(name)]
    assert empty == []
    for name in CONTRACT:
        ids = {r.get("workspaceId") for r in full_run.records[name]}
        assert None not in ids, name
        if workspace:
            assert ids == {workspace}, name


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
        dupes = [k for k, n in Counter(full_run.keys(name)).items() if n > 1]
        assert not dupes, f"{name}: duplicate keys {dupes[:3]}"


def test_top_level_lists_match_the_api_with_every_field(full_run, sandbox):
    for stream, (path, key) in TOP_LEVEL.items():
        served = segment_items(sandbox.segment_url, SEGMENT_TOKEN, path, key)
        got = {r["id"]: r for r in full_run.records[stream]}
        assert set(got) == {item["id"] for item in served}, stream
        for item in served:
            missing = leaf_paths(item) - leaf_paths(got[item["id"]])
            assert not missing, f"{stream} {item['id']}: fields dropped: {sorted(missing)[:5]}"


def test_functions_cover_every_resource_type(full_run, sandbox):
    expected = set()
    for kind in (
        "DESTINATION",
        "INSERT_DESTINATION",
        "INSERT_SOURCE",
        "INSERT_TRANSFORMATION",
        "SOURCE",
    ):
        items = segment_items(
            sandbox.segment_url, SEGMENT_TOKEN, "/functions", "functions", resourceType=kind
        )
        expected |= {item["id"] for item in items}
    assert {r["id"] for r in full_run.records["functions"]} == expected


def test_invites_suppressions_and_labels_become_records(full_run, sandbox):
    invites = segment_items(sandbox.segment_url, SEGMENT_TOKEN, "/invites", "invites")
    assert sorted(r["email"] for r in full_run.records["invites"]) == sorted(invites)
    suppressed = segment_items(sandbox.segment_url, SEGMENT_TOKEN, "/suppressions", "suppressed")
    ws = sandbox.apis["segment"].workspace_id()
    expected = {(ws, s["subjectType"], sid) for s in suppressed for sid in s["subjectIds"]}
    assert set(full_run.keys("suppressions")) == expected
    assert full_run.records["labels"]
    groups = [r["id"] for r in full_run.records["user_groups"]]
    expected = {
        (ws, g, email)
        for g in groups
        for email in segment_items(
            sandbox.segment_url, SEGMENT_TOKEN, f"/groups/{g}/invites", "emails"
        )
    }
    assert set(full_run.keys("user_group_invites")) == expected


def test_children_carry_parent_keys(full_run, sandbox):
    ws = sandbox.apis["segment"].workspace_id()
    groups = [r["id"] for r in full_run.records["user_groups"]]
    expected = {
        (ws, g, u["id"])
        for g in groups
        for u in segment_items(sandbox.segment_url, SEGMENT_TOKEN, f"/groups/{g}/users", "users")
    }
    assert set(full_run.keys("user_group_members")) == expected
    sources = {r["id"] for r in full_run.records["sources"]}
    assert {r["sourceId"] for r in full_run.records["source_settings"]} == sources
    for record in full_run.records["source_settings"]:
        # The API's shape: {sourceId, settings} with settings one object, as served.
        served = sandbox.apis["segment"].get(f"/sources/{record['sourceId']}/settings")["data"]
        assert record["settings"] == served["settings"]
        assert set(record) == {"workspaceId", "sourceId", "settings"}
    warehouses = {r["id"] for r in full_run.records["warehouses"]}
    assert {r["warehouseId"] for r in full_run.records["warehouse_connection_states"]} == warehouses


def test_secrets_never_leave_the_tap(full_run):
    assert SENTINEL not in full_run.stdout
    assert SENTINEL not in full_run.stderr
    for source in full_run.records["sources"]:
        assert all(key == REDACTED for key in source.get("writeKeys") or [])
    assert REDACTED in full_run.stdout


def test_audit_events_incremental_resume(catalog, make_sandbox):
    sb = make_sandbox()
    api = sb.apis["segment"]
    cat = select(catalog, {"audit_events"})
    config = segment_config(sb, start_date=START)
    first = run_tap("tap-segment", config, catalog=cat)
    assert first.returncode == 0, first.stderr[-2000:]
    ids = [r["id"] for r in first.records["audit_events"]]
    assert len(ids) == len(set(ids)) > 0
    stamps = [r["timestamp"] for r in first.records["audit_events"]]
    assert stamps == sorted(stamps), "emitted oldest first so the bookmark advances safely"
    state = first.last_state
    api.add_audit_events(5)
    second = run_tap("tap-segment", config, catalog=cat, state=state)
    assert second.returncode == 0, second.stderr[-2000:]
    new = [r["id"] for r in second.records["audit_events"] if r["id"] not in set(ids)]
    assert len(new) == 5
    # Everything else re-read lies within the lookback (5 minutes) before the bookmark.
    bookmark = datetime.fromisoformat(max(stamps).replace("Z", "+00:00"))
    earliest = (bookmark - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
    for record in second.records["audit_events"]:
        if record["id"] in set(ids):
            assert earliest <= record["timestamp"] <= max(stamps), record


def test_usage_streams_walk_months_and_resume(catalog, make_sandbox):
    sb = make_sandbox()
    names = {
        "usage_api_calls_daily",
        "usage_mtu_daily",
        "usage_mtu_sources_daily",
        "usage_api_calls_sources_daily",
    }
    cat = select(catalog, names)
    config = segment_config(sb, start_date=START)
    first = run_tap("tap-segment", config, catalog=cat)
    assert first.returncode == 0, first.stderr[-2000:]
    periods = {r["period"] for r in first.records["usage_mtu_daily"]}
    assert len(periods) >= 3, periods  # September to November
    sb.reset_log()
    second = run_tap("tap-segment", config, catalog=cat, state=first.last_state)
    assert second.returncode == 0, second.stderr[-2000:]
    asked = {q for r in sb.requests("segment") for q in r["query"].get("period", [])}
    assert len(asked) == 1, asked  # only the current month is read again


def test_several_workspaces_in_one_run(catalog, sandbox):
    config = segment_config(start_date=START)
    config.pop("token")
    config["workspaces"] = [
        {"token": SEGMENT_TOKEN, "api_url": sandbox.segment_url},
        {"token": SEGMENT_TOKEN_2, "api_url": sandbox.segment_url},
    ]
    run = run_tap(
        "tap-segment",
        config,
        catalog=select(catalog, {"workspaces", "sources", "source_settings", "audit_events"}),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    workspaces = {r["id"] for r in run.records["workspaces"]}
    assert len(workspaces) == 2
    for stream in ("sources", "source_settings", "audit_events"):
        assert {r["workspaceId"] for r in run.records[stream]} == workspaces, stream
    partitions = run.last_state["bookmarks"]["audit_events"]["partitions"]
    assert {p["context"]["workspaceId"] for p in partitions} == workspaces
    assert SENTINEL not in run.stdout + run.stderr


@pytest.mark.parametrize(
    ("prefix", "status", "stream"),
    [
        ("/audit-events", 403, "audit_events"),
        ("/tracking-plans", 404, "tracking_plans"),
        ("/functions", 403, "functions"),
        ("/spaces", 403, "spaces"),
        ("/reverse-etl-models", 404, "reverse_etl_models"),
        ("/credentials", 403, "credentials"),
    ],
)
def test_gated_features_end_only_their_stream(make_sandbox, prefix, status, stream):
    sb = make_sandbox(gated=((prefix, status),))
    run = run_tap("tap-segment", segment_config(sb, start_date=START))
    assert run.returncode == 0, run.stderr[-2000:]
    assert not run.records.get(stream)
    assert run.stderr.count(f"Stream '{stream}' skipped") == 1
    assert run.records["sources"] and run.records["users"]


def test_subscriptions_gated_per_destination_warns_once(sandbox, make_sandbox):
    # Same seed, same ids: gate the first destination's child endpoints only.
    first = segment_items(sandbox.segment_url, SEGMENT_TOKEN, "/destinations", "destinations")[0]
    sb = make_sandbox(gated=((f"/destinations/{first['id']}", 403),))
    run = run_tap("tap-segment", segment_config(sb, start_date=START, max_concurrency=1))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr.count("Stream 'destination_subscriptions' skipped") == 1
    assert run.records["destinations"]


def test_same_records_at_concurrency_1_and_16(catalog, make_sandbox):
    sb = make_sandbox()
    runs = [
        run_tap(
            "tap-segment",
            segment_config(sb, max_concurrency=n, start_date=START),
            catalog=select(catalog, "all"),
        )
        for n in (1, 16)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    for name in CONTRACT:
        assert runs[0].records[name] == runs[1].records[name], name


def test_deleted_children_are_skipped(make_sandbox):
    sb = make_sandbox(deleted_children=2)
    run = run_tap("tap-segment", segment_config(sb, start_date=START, max_concurrency=4))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "probably deleted" in run.stderr
    sources = {r["id"] for r in run.records["sources"]}
    assert len({r["sourceId"] for r in run.records["source_settings"]}) == len(sources) - 2


def _window(entry: dict) -> tuple[datetime, datetime]:
    q = entry["query"]
    return (
        datetime.fromisoformat(q["startTime"][0].replace("Z", "+00:00")),
        datetime.fromisoformat(q["endTime"][0].replace("Z", "+00:00")),
    )


def test_audit_windows_hold_about_a_page_and_lose_nothing(catalog, make_sandbox):
    """Windows are sized from the density seen so far and a window holding more than a page
    is walked as halves instead, so memory does not grow with the trail; nothing is lost."""
    sb = make_sandbox(counts={"audit_events": 6000})  # ~100 a day for 60 days
    api = sb.apis["segment"]
    api.add_audit_events(300)  # a burst: one a second, six pages in five minutes
    config = segment_config(sb, start_date=START, page_size=50, max_concurrency=8)
    run = run_tap("tap-segment", config, catalog=select(catalog, {"audit_events"}))
    assert run.returncode == 0, run.stderr[-2000:]
    ids = [r["id"] for r in run.records["audit_events"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(api.audit_event_ids(start=START))
    stamps = [r["timestamp"] for r in run.records["audit_events"]]
    assert stamps == sorted(stamps)

    log = [e for e in sb.requests("segment") if e["path"] == "/audit-events"]
    assert {e["query"]["pagination.count"][0] for e in log} == {"50"}
    # Only windows too short to split (under two minutes, inside the burst) read a 2nd page.
    for entry in log:
        if "pagination.cursor" in entry["query"]:
            start, end = _window(entry)
            assert end - start < timedelta(minutes=2), entry["query"]
    # A window is split (its first page left unused) only while the density is unknown (the
    # first chunk) or in the burst: the sizing avoids it elsewhere.
    windows = {_window(e) for e in log}
    split = [w for w in windows if any(o != w and w[0] <= o[0] < o[1] <= w[1] for o in windows)]
    assert len(split) <= 40, (len(split), len(windows))
    assert len(windows) >= 6300 / 50, "a window holds about a page, not a day"


def test_state_never_precedes_the_records_it_covers(catalog, make_sandbox):
    """Records are written in batches: every STATE still comes after the records it covers."""
    sb = make_sandbox(counts={"audit_events": 3000})
    config = segment_config(sb, start_date=START, page_size=100, max_concurrency=4)
    run = run_tap("tap-segment", config, catalog=select(catalog, {"audit_events"}))
    assert run.returncode == 0, run.stderr[-2000:]
    newest = ""
    states = 0
    for line in run.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            newest = max(newest, message["record"]["timestamp"])
        elif message["type"] == "STATE":
            for part in message["value"]["bookmarks"]["audit_events"].get("partitions", []):
                mark = part.get("replication_key_value")
                if mark:
                    states += 1
                    assert mark <= newest, (mark, newest)
    assert states > 1
    assert len(run.records["audit_events"]) == 3000
