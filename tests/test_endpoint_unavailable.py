"""Completeness is earned: a child stream is ``complete`` for a tenant only if its endpoint
answered for at least one parent. 404 for every parent (or, in Fivetran, a 404 that names no
object) means the endpoint is not available, not that every object vanished: the stream is
``skipped`` there with one warning line and the run still exits 0, so no model or target takes
its rows for removals. One deleted object among many is still a skip of that object only.

Every run is a real tap process against a sandbox over HTTP on 127.0.0.1; the sandbox's
``not_found_for_every_parent`` fault makes one endpoint answer 404 for every parent.
"""

from __future__ import annotations

import json

import pytest
import requests

from taps_sandbox.__main__ import parse_args
from taps_sandbox.base import SEGMENT_TOKEN, SEGMENT_TOKEN_2, SandboxOptions
from taps_sandbox.server import Sandbox
from tests.conftest import fivetran_config, segment_config
from tests.tap_runner import TapRun, discover, run_tap, select

START = "2026-10-01T00:00:00Z"
SYNC_HISTORY = "/v1/connections/*/sync-history"
SOURCE_SETTINGS = "/sources/*/settings"


def outcome(run: TapRun, stream: str) -> dict:
    """The manifest's entry for ``stream`` (one tenant in these runs)."""
    [manifest] = run.records["sync_runs"]
    [entry] = [o for o in manifest["streams"] if o["stream"] == stream]
    return entry


def warnings_about(run: TapRun, stream: str) -> list[str]:
    """Warning lines that name ``stream``."""
    return [
        line for line in run.stderr.splitlines() if "| WARNING " in line and f"'{stream}'" in line
    ]


def activated(run: TapRun) -> set[str]:
    """Streams that sent ACTIVATE_VERSION (what lets target-postgres mark rows deleted)."""
    return {
        msg["stream"]
        for line in run.stdout.splitlines()
        if line.startswith("{") and (msg := json.loads(line)).get("type") == "ACTIVATE_VERSION"
    }


def fivetran_run(sb: Sandbox, **extra: object) -> TapRun:
    cfg = fivetran_config(sb, start_date=START, **extra)
    catalog = select(
        discover("tap-fivetran", cfg), {"connections", "connection_sync_history", "sync_runs"}
    )
    return run_tap("tap-fivetran", cfg, catalog=catalog)


def segment_run(sb: Sandbox, **extra: object) -> TapRun:
    cfg = segment_config(sb, start_date=START, emit_activate_version_messages=True, **extra)
    catalog = select(discover("tap-segment", cfg), {"sources", "source_settings", "sync_runs"})
    return run_tap("tap-segment", cfg, catalog=catalog)


# --------------------------------------------------------------------------- the sandbox fault


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (("/v1/connections", "NotFound"), "'*' segment"),  # a whole endpoint: that is `gated`
        (("v1/connections/*/sync-history", "NotFound"), "start with '/'"),
        (("/v1/connections/x*/sync-history", "NotFound"), "'*' segment"),
        (("/sources/*/settings", "Forbidden"), "NotFound or NotFound_<Entity>"),
        (("/sources/*/settings", ""), "NotFound or NotFound_<Entity>"),
    ],
)
def test_not_found_fault_is_validated(rule, problem, capsys):
    with pytest.raises(ValueError, match=problem):
        Sandbox(SandboxOptions(not_found_for_every_parent=(rule,)))
    with pytest.raises(SystemExit):
        parse_args(["--not-found", "=".join(rule)])
    said = capsys.readouterr().err
    assert (problem if rule[1] else "expected PATH=CODE") in said


def test_not_found_fault_answers_every_parent_in_each_apis_envelope(make_sandbox):
    sb = make_sandbox(
        not_found_for_every_parent=(
            (SYNC_HISTORY, "NotFound_Connector"),
            (SOURCE_SETTINGS, "NotFound"),
        )
    )
    assert parse_args(["--not-found", f"{SYNC_HISTORY}=NotFound"]).not_found == [
        (SYNC_HISTORY, "NotFound")
    ]
    ft, seg = sb.apis["fivetran"], sb.apis["segment"]
    auth = ft.auth_headers()
    for cid in ft.expected_ids("connections"):
        got = requests.get(f"{sb.fivetran_url}/v1/connections/{cid}/sync-history", headers=auth)
        assert got.status_code == 404 and got.json()["code"] == "NotFound_Connector"
        detail = requests.get(f"{sb.fivetran_url}/v1/connections/{cid}", headers=auth)
        assert detail.status_code == 200  # only the named endpoint, not its parent
    token = {"Authorization": f"Bearer {segment_config(sb)['token']}"}
    sources = seg.get("/sources")["data"]["sources"]
    for source in sources:
        got = requests.get(f"{sb.segment_url}/sources/{source['id']}/settings", headers=token)
        assert got.status_code == 404
        assert got.json()["errors"][0]["type"] == "NotFound"
        other = requests.get(
            f"{sb.segment_url}/sources/{source['id']}/connected-warehouses", headers=token
        )
        assert other.status_code == 200


def test_fivetran_sandbox_names_the_object_it_cannot_find(sandbox):
    """As Fivetran: an unknown id names its entity, a route the API lacks says plain NotFound
    (the tap reads the first as one object gone, the second as the endpoint missing)."""
    api = sandbox.apis["fivetran"]
    assert api.get("/v1/users/no_such_user/groups")["code"] == "NotFound_User"
    assert api.get("/v1/teams/no_such_team/users")["code"] == "NotFound_Team"
    assert api.get("/v1/connections/no_such_connection/sync-history")["code"] == (
        "NotFound_Connector"
    )
    assert api.get("/v1/users/no_such_user/roles")["code"] == "NotFound"


# --------------------------------------------------------------------------- Fivetran


def test_fivetran_404_for_every_connection_skips_the_stream(make_sandbox):
    """The object's own code (NotFound_Connector) for all of them: the share decides."""
    sb = make_sandbox(not_found_for_every_parent=((SYNC_HISTORY, "NotFound_Connector"),))
    connections = sb.apis["fivetran"].expected_ids("connections")
    run = fivetran_run(sb)
    assert run.returncode == 0, run.stderr[-3000:]  # skipped is not failed
    entry = outcome(run, "connection_sync_history")
    assert entry["status"] == "skipped", entry
    assert entry["reason"] == f"endpoint not available: 404 for all {len(connections)} connections"
    assert entry["records"] == 0 and entry["requests"] == len(connections)
    [warning] = warnings_about(run, "connection_sync_history")
    assert "endpoint not available: 404 for all" in warning
    assert "probably deleted" not in run.stderr
    assert outcome(run, "connections")["status"] == "complete"
    assert {r["id"] for r in run.records["connections"]} == set(connections)


def test_fivetran_404_that_names_no_object_skips_at_once(make_sandbox):
    """Plain NotFound on a child endpoint is about the endpoint: no request for every parent."""
    sb = make_sandbox(not_found_for_every_parent=((SYNC_HISTORY, "NotFound"),))
    connections = sb.apis["fivetran"].expected_ids("connections")
    run = fivetran_run(sb, max_concurrency=2)
    assert run.returncode == 0, run.stderr[-3000:]
    entry = outcome(run, "connection_sync_history")
    assert entry["status"] == "skipped", entry
    assert "endpoint not available (the 404 names no object: NotFound" in entry["reason"]
    asked = [r for r in sb.requests("fivetran") if r["path"].endswith("/sync-history")]
    assert 0 < len(asked) < len(connections)
    assert len(warnings_about(run, "connection_sync_history")) == 1
    assert "probably deleted" not in run.stderr


def test_fivetran_one_deleted_connection_is_still_complete(make_sandbox):
    sb = make_sandbox(deleted_children=1)
    api = sb.apis["fivetran"]
    [deleted] = api.deleted_connections()
    run = fivetran_run(sb)
    assert run.returncode == 0, run.stderr[-3000:]
    assert outcome(run, "connections")["status"] == "complete"
    assert outcome(run, "connection_sync_history")["status"] == "complete"
    assert {r["id"] for r in run.records["connections"]} == set(api.expected_ids("connections")) - {
        deleted
    }
    assert {r["connection_id"] for r in run.records["connection_sync_history"]} <= (
        set(api.expected_ids("connections")) - {deleted}
    )
    [warning] = warnings_about(run, "connections")
    assert "probably deleted" in warning and "NotFound_Connector" in warning


# --------------------------------------------------------------------------- Segment


def test_segment_404_for_every_source_skips_the_stream(make_sandbox):
    sb = make_sandbox(not_found_for_every_parent=((SOURCE_SETTINGS, "NotFound"),))
    sources = sb.apis["segment"].get("/sources")["data"]["sources"]
    run = segment_run(sb)
    assert run.returncode == 0, run.stderr[-3000:]
    entry = outcome(run, "source_settings")
    assert entry["status"] == "skipped", entry
    assert entry["reason"] == f"endpoint not available: 404 for all {len(sources)} sources"
    assert entry["records"] == 0
    [warning] = warnings_about(run, "source_settings")
    assert "for workspace" in warning
    assert "probably deleted" not in run.stderr
    assert "404 skipped" not in run.stderr  # the summary does not count them as deletions
    # Its rows are never announced as whole, so no target marks them deleted.
    assert "source_settings" not in activated(run)
    assert "sources" in activated(run)


def test_segment_one_deleted_source_is_still_complete(make_sandbox):
    sb = make_sandbox(deleted_children=1)
    sources = sb.apis["segment"].get("/sources")["data"]["sources"]
    run = segment_run(sb)
    assert run.returncode == 0, run.stderr[-3000:]
    entry = outcome(run, "source_settings")
    assert entry["status"] == "complete", entry
    assert len(run.records["source_settings"]) == len(sources) - 1
    [warning] = warnings_about(run, "source_settings")
    assert "probably deleted" in warning
    assert "source_settings" in activated(run)


def test_segment_decides_per_workspace(make_sandbox):
    """Workspace 2's sources all answer 404 on their settings, workspace 1's do not: skipped
    for workspace 2 only, decided when each workspace's sources are through."""
    sb = make_sandbox(gated_for=((SEGMENT_TOKEN_2, SOURCE_SETTINGS, 404),))
    api = sb.apis["segment"]
    ws1, ws2 = api.workspace_id(1), api.workspace_id(2)
    cfg = {
        "workspaces": [
            {"token": SEGMENT_TOKEN, "api_url": sb.segment_url},
            {"token": SEGMENT_TOKEN_2, "api_url": sb.segment_url},
        ],
        "start_date": START,
        "page_size": 3,
    }
    catalog = select(discover("tap-segment", cfg), {"sources", "source_settings", "sync_runs"})
    run = run_tap("tap-segment", cfg, catalog=catalog)
    assert run.returncode == 0, run.stderr[-3000:]
    [manifest] = run.records["sync_runs"]
    got = {o["tenant_id"]: o for o in manifest["streams"] if o["stream"] == "source_settings"}
    sources = {ws: [r for r in run.records["sources"] if r["workspaceId"] == ws] for ws in got}
    assert got[ws1]["status"] == "complete"
    assert got[ws1]["records"] == len(sources[ws1]) > 0
    assert got[ws2]["status"] == "skipped"
    assert got[ws2]["reason"] == (
        f"endpoint not available: 404 for all {len(sources[ws2])} sources"
        if len(sources[ws2]) > 1
        else "endpoint not available: 404 for its only parent in sources"
    )
    [warning] = warnings_about(run, "source_settings")
    assert f"for workspace {ws2}" in warning
    assert {r["workspaceId"] for r in run.records["source_settings"]} == {ws1}
