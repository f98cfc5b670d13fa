"""The run manifest counts what the tap emitted: per stream and tenant, `sync_runs` says as many
records as the run's stdout holds for that stream and tenant, no more, no fewer.

The evidence marts and the pack show these counts as proof that a list is whole, so a count
that drifts from the records is false evidence. Real tap processes against the sandbox over
HTTP on 127.0.0.1: runs with fan-out (children of children, two Segment workspaces) and runs
in which a stream fails part-way for one tenant.
"""

from __future__ import annotations

from collections import Counter

from taps_sandbox.base import SEGMENT_TOKEN, SEGMENT_TOKEN_2
from tests.conftest import fivetran_config, segment_config
from tests.tap_runner import TapRun, discover, run_tap, select

MANIFEST = "sync_runs"
START = "2026-11-01T00:00:00Z"
FAST_FAIL = {"backoff_base_seconds": 0.01, "max_retries": 2, "start_date": START}


def two_workspaces(sandbox) -> dict:
    """tap-segment settings reading both of the sandbox's workspaces in one run."""
    config = segment_config(sandbox, max_concurrency=4, **FAST_FAIL)
    del config["token"]
    url = config.pop("api_url")
    config["workspaces"] = [
        {"token": SEGMENT_TOKEN, "api_url": url},
        {"token": SEGMENT_TOKEN_2, "api_url": url},
    ]
    return config


def emitted(run: TapRun, tenants: list[str]) -> Counter[tuple[str, str]]:
    """Records on stdout per (stream, tenant): Segment records carry their workspaceId (a
    workspace record is its own), a Fivetran run reads one account."""
    counts: Counter[tuple[str, str]] = Counter()
    for stream, records in run.records.items():
        if stream == MANIFEST:
            continue
        for record in records:
            if len(tenants) == 1:
                tenant = tenants[0]
            else:
                tenant = record.get("workspaceId") or record.get("id")
            counts[stream, str(tenant)] += 1
    return counts


def assert_manifest_counts_records(run: TapRun) -> dict[tuple[str, str], dict]:
    """Every (stream, tenant) of the manifest claims exactly the records emitted, and every
    record emitted belongs to a (stream, tenant) the manifest lists. Returns the outcomes."""
    [manifest] = run.records[MANIFEST]
    tenants = [str(t) for t in manifest["tenant_ids"]]
    outcomes = {(o["stream"], o["tenant_id"]): o for o in manifest["streams"]}
    counts = emitted(run, tenants)
    assert set(counts) <= set(outcomes), f"records of {sorted(set(counts) - set(outcomes))}"
    wrong = {
        key: {"manifest": o["records"], "emitted": counts.get(key, 0)}
        for key, o in outcomes.items()
        if o["records"] != counts.get(key, 0)
    }
    assert wrong == {}
    assert sum(counts.values()) > 100, "too few records for the comparison to mean much"
    return outcomes


def test_fan_out_runs_count_every_stream_and_tenant(sandbox) -> None:
    """Both taps, every level of children: Segment over two workspaces at once, Fivetran with
    every stream selected (schemas -> tables and columns, users -> memberships)."""
    seg = run_tap("tap-segment", two_workspaces(sandbox))
    assert seg.returncode == 0, seg.stderr[-3000:]
    outcomes = assert_manifest_counts_records(seg)
    assert len({tenant for _, tenant in outcomes}) == 2
    assert {o["status"] for o in outcomes.values()} == {"complete"}

    catalog = select(discover("tap-fivetran", fivetran_config()), "all")
    ft = run_tap("tap-fivetran", fivetran_config(max_concurrency=4, **FAST_FAIL), catalog=catalog)
    assert ft.returncode == 0, ft.stderr[-3000:]
    outcomes = assert_manifest_counts_records(ft)
    columns = [o for (stream, _), o in outcomes.items() if stream == "connection_columns"]
    assert columns and all(o["records"] > 0 for o in columns), "grandchildren were read"


def test_runs_with_a_failed_stream_count_what_was_emitted(sandbox, make_sandbox) -> None:
    """A stream failing for one workspace (Segment users) or for one parent after others
    were read (Fivetran memberships of one user): the manifest still counts what went out."""
    seg_sb = make_sandbox(gated_for=((SEGMENT_TOKEN, "/users", 500),))
    seg = run_tap("tap-segment", two_workspaces(seg_sb))
    assert seg.returncode == 1, "a failed stream makes the run exit non-zero"
    outcomes = assert_manifest_counts_records(seg)
    users = {tenant: o for (stream, tenant), o in outcomes.items() if stream == "users"}
    assert sorted(o["status"] for o in users.values()) == ["complete", "failed"]
    assert any(o["records"] > 0 for o in users.values())

    uid = sandbox.apis["fivetran"].expected_ids("users")[3]  # same seed, same ids
    ft_sb = make_sandbox(gated=((f"/v1/users/{uid}/groups", 500),))
    ft = run_tap("tap-fivetran", fivetran_config(ft_sb, max_concurrency=1, **FAST_FAIL))
    assert ft.returncode == 1, "a failed stream makes the run exit non-zero"
    outcomes = assert_manifest_counts_records(ft)
    [groups] = [o for (stream, _), o in outcomes.items() if stream == "user_group_memberships"]
    assert groups["status"] == "failed"
    assert groups["records"] > 0, "memberships of users read before the failure are counted"
