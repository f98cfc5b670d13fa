"""One failure costs only what depends on it (STREAMS.md): endpoint limits, failing endpoints,
per-workspace entitlement, fan-out stopping after a 403. Every run is a real tap process against
a sandbox over HTTP on 127.0.0.1."""

from __future__ import annotations

from collections import Counter

import pytest

from taps_sandbox.base import SEGMENT_TOKEN, SEGMENT_TOKEN_2
from tests.conftest import fivetran_config, segment_config
from tests.tap_runner import TapRun, run_tap

START = "2026-10-01T00:00:00Z"
FAST_FAIL = {"backoff_base_seconds": 0.01, "max_retries": 2, "start_date": START}
MANIFEST = "sync_runs"


def records_by_stream(run: TapRun) -> dict[str, list[dict]]:
    """Every API stream's records (the manifest is new each run)."""
    return {name: recs for name, recs in run.records.items() if name != MANIFEST}


def manifest(run: TapRun) -> dict:
    [record] = run.records[MANIFEST]
    return record


def outcome(run: TapRun, stream: str) -> set[str]:
    return {o["status"] for o in manifest(run)["streams"] if o["stream"] == stream}


def without_audit_tail(records: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Windowed streams end 'now': compare them by key, the rest record for record."""
    return {k: v for k, v in records.items() if k not in {"audit_events"}}


def test_space_with_more_audiences_than_one_page_allows(make_sandbox):
    sb = make_sandbox(counts={"audiences_per_space": 450})
    run = run_tap("tap-segment", {**segment_config(sb), "page_size": 1000, **FAST_FAIL})
    assert run.returncode == 0, run.stderr[-3000:]
    spaces = run.records["spaces"]
    assert len(run.records["audiences"]) == 450 * len(spaces)
    counts = [
        int(r["query"]["pagination.count"][0])
        for r in sb.requests("segment")
        if r["path"].endswith("/audiences")
    ]
    assert counts and max(counts) == 200, "listAudiences takes pagination.count 1..200"
    assert len(counts) == 3 * len(spaces)
    assert outcome(run, "audiences") == {"complete"}


def test_sandbox_refuses_a_page_size_the_api_refuses(sandbox):
    api = sandbox.apis["segment"]
    space = api.get("/spaces")["data"]["spaces"][0]["id"]
    body = api.get(f"/spaces/{space}/audiences", **{"pagination.count": "201"})
    assert body["errors"][0]["type"] == "ValidationFailure"
    assert "between 1 and 200" in body["errors"][0]["message"]
    assert "errors" not in api.get(f"/spaces/{space}/audiences", **{"pagination.count": "200"})
    fivetran = sandbox.apis["fivetran"]
    response = fivetran.handle("/v1/users", {"limit": ["1001"]}, {"authorization": fivetran_auth()})
    assert response.status == 400 and response.body["code"] == "InvalidInput"


def fivetran_auth() -> str:
    import base64

    cfg = fivetran_config()
    pair = f"{cfg['api_key']}:{cfg['api_secret']}".encode()
    return "Basic " + base64.b64encode(pair).decode()


@pytest.fixture(scope="module")
def clean(sandbox):
    """One clean run per tap against the shared sandbox."""
    runs = {
        "tap-segment": run_tap("tap-segment", segment_config(**FAST_FAIL)),
        "tap-fivetran": run_tap("tap-fivetran", fivetran_config(**FAST_FAIL)),
    }
    for run in runs.values():
        assert run.returncode == 0, run.stderr[-3000:]
    return runs


FAILING = [
    # (tap, gate, status, failing stream, its parent, streams that fail with it)
    ("tap-segment", "/tracking-plans/*/rules", 500, "tracking_plan_rules", "tracking_plans", ()),
    ("tap-segment", "/regulations", 400, "regulations", None, ()),
    ("tap-segment", "/sources", 500, "sources", None, ("source_settings",)),
    ("tap-fivetran", "/v1/users/*/groups", 500, "user_group_memberships", "users", ()),
    ("tap-fivetran", "/v1/webhooks", 400, "webhooks", None, ()),
]


@pytest.mark.parametrize(("tap", "gate", "status", "stream", "parent", "with_it"), FAILING)
def test_a_failing_endpoint_costs_only_its_stream(
    tap, gate, status, stream, parent, with_it, clean, make_sandbox
):
    sb = make_sandbox(gated=((gate, status),))
    config = (
        segment_config(sb, **FAST_FAIL)
        if tap == "tap-segment"
        else fivetran_config(sb, **FAST_FAIL)
    )
    run = run_tap(tap, config)
    assert run.returncode == 1, "a failed stream makes the run exit non-zero"
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert any(f"Stream '{stream}' failed" in line and f"HTTP {status}" in line for line in errors)
    assert "Traceback" not in run.stderr
    got, want = records_by_stream(run), records_by_stream(clean[tap])
    lost = {stream, *with_it}
    if stream == "sources":  # every child of sources needs its records
        lost |= {"source_connected_warehouses"}
    for name in set(want) - lost - {"audit_events"}:
        assert got.get(name) == want[name], f"{name} changed because {stream} failed"
    if parent:
        assert got[parent] == want[parent], "a failing child never costs its parent's records"
    assert outcome(run, stream) == {"failed"}
    assert manifest(run)["status"] == "failed"
    for name in with_it:
        assert outcome(run, name) == {"failed"}
    assert run.last_state is not None and "bookmarks" in run.last_state
    retries_after_end = [
        r for r in sb.requests() if r["status"] == status and gate.split("*")[0] in r["path"]
    ]
    assert len(retries_after_end) <= 3 * 8, "no endless retries on a dead endpoint"


GATED = ("/audit-events", "/spaces", "/credentials", "/reverse-etl-models")


def test_a_gated_workspace_costs_the_other_workspace_nothing(make_sandbox):
    both = make_sandbox(gated_for=tuple((SEGMENT_TOKEN, p, 403) for p in GATED))
    url = both.segment_url
    config = {
        "workspaces": [
            {"token": SEGMENT_TOKEN, "api_url": url},
            {"token": SEGMENT_TOKEN_2, "api_url": url},
        ],
        **FAST_FAIL,
    }
    run = run_tap("tap-segment", config)
    assert run.returncode == 0, run.stderr[-3000:]
    alone_sb = make_sandbox()
    alone = run_tap(
        "tap-segment",
        {"token": SEGMENT_TOKEN_2, "api_url": alone_sb.segment_url, **FAST_FAIL},
    )
    ws2 = both.apis["segment"].workspace_id(2)
    ws1 = both.apis["segment"].workspace_id(1)
    for name, records in records_by_stream(alone).items():
        if name in ("audit_events",):
            continue
        mine = [r for r in run.records.get(name, []) if r.get("workspaceId", r.get("id")) == ws2]
        assert mine == records, f"{name}: workspace 2 lost records to workspace 1's gating"
    for name in ("spaces", "audiences", "computed_traits", "credentials", "reverse_etl_models"):
        assert run.records[name], name
        assert {r["workspaceId"] for r in run.records[name]} == {ws2}, name
    assert {r["workspaceId"] for r in run.records["audit_events"]} == {ws2}
    # One table, two workspaces: no two records share a primary key.
    for name, records in records_by_stream(run).items():
        keys = Counter(
            tuple(r.get(k) for k in run.schemas[name]["key_properties"]) for r in records
        )
        assert not [k for k, n in keys.items() if n > 1], f"{name}: keys collide"
    by_tenant = {(o["stream"], o["tenant_id"]): o["status"] for o in manifest(run)["streams"]}
    assert by_tenant["spaces", ws1] == "skipped" and by_tenant["spaces", ws2] == "complete"
    assert by_tenant["audiences", ws1] == "skipped", "children of a gated stream end with it"


def test_a_gated_child_endpoint_stops_the_fan_out(make_sandbox):
    concurrency = 4
    sb = make_sandbox(gated=(("/destinations/*/subscriptions", 403),), counts={"destinations": 120})
    run = run_tap(
        "tap-segment", segment_config(sb, max_concurrency=concurrency, page_size=1000, **FAST_FAIL)
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(run.records["destinations"]) == 120
    assert len(run.records["destination_filters"]) == 120, "the sibling child is unaffected"
    asked = [r for r in sb.requests("segment") if r["path"].endswith("/subscriptions")]
    assert 1 <= len(asked) <= concurrency, f"{len(asked)} requests after a 403"
    assert outcome(run, "destination_subscriptions") == {"skipped"}
    warnings = [
        line
        for line in run.stderr.splitlines()
        if "destination_subscriptions" in line and "summary:" not in line
    ]
    assert sum("skipped" in line for line in warnings) == 1, "one warning, not one per parent"


def test_endpoint_rate_limits_are_kept(make_sandbox):
    """Computed traits allow 25 requests a minute: with 26 spaces the tap waits instead of
    collecting 429s from a sandbox that enforces the limit."""
    sb = make_sandbox(counts={"spaces": 26})
    run = run_tap("tap-segment", segment_config(sb, page_size=1000, **FAST_FAIL), timeout=200)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(run.records["computed_traits"]) == 2 * 26
    statuses = Counter(r["status"] for r in sb.requests("segment"))
    assert statuses[429] == 0, "the limiter keeps to the documented limit"


def test_an_unreachable_host_stops_at_once():
    import socket

    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {"token": SEGMENT_TOKEN, "api_url": f"http://127.0.0.1:{port}", "max_retries": 8}
    run = run_tap("tap-segment", config, timeout=60)
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if "Cannot reach" in line]
    assert len(lines) == 1 and "connection was refused" in lines[0]
    assert "Retrying" not in run.stderr and "Traceback" not in run.stderr
