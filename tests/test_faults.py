"""Reliability: injected faults, responses that break the API's promise, killed runs, leaks.

Every run here goes through the sandbox over real HTTP on 127.0.0.1, and every run's stdout and
stderr is scanned for the sentinel that marks each credential and secret value.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from taps_sandbox.base import SENTINEL
from tests.conftest import fivetran_config, segment_config
from tests.tap_runner import BIN, discover, run_tap, select

START = "2026-09-01T00:00:00Z"
FAULTY = {"request_timeout": 0.5, "max_retries": 12, "backoff_base_seconds": 0.01}
TAPS = {
    "tap-segment": (segment_config, "/users"),
    "tap-fivetran": (fivetran_config, "/v1/users"),
}


def assert_clean(run) -> None:
    """No credential or secret value in anything the tap printed."""
    assert SENTINEL not in run.stdout
    assert SENTINEL not in run.stderr


def key_sets(run) -> dict[str, set]:
    """Keys per API stream (the manifest's run id is new each run)."""
    return {name: set(run.keys(name)) for name in run.records if name != "sync_runs"}


@pytest.fixture(scope="module")
def clean_runs(sandbox):
    runs = {}
    for tap, (config, _) in TAPS.items():
        run = run_tap(tap, config(start_date=START))
        assert run.returncode == 0, run.stderr[-2000:]
        assert_clean(run)
        runs[tap] = run
    return runs


@pytest.mark.parametrize("tap", sorted(TAPS))
def test_faults_change_nothing_in_the_output(tap, clean_runs, make_sandbox):
    sb = make_sandbox(
        fault_rate=0.2,
        fault_kinds=("429", "500", "502", "503", "reset", "timeout"),
        timeout_sleep_s=1.0,
        latency_ms=2,
    )
    config, _ = TAPS[tap]
    run = run_tap(tap, config(sb, start_date=START, max_concurrency=4, **FAULTY))
    assert run.returncode == 0, run.stderr[-3000:]
    assert_clean(run)
    assert key_sets(run) == key_sets(clean_runs[tap])
    for name in run.records:
        assert not [k for k, n in Counter(run.keys(name)).items() if n > 1], name
    faults = Counter(r["status"] for r in sb.requests())
    assert faults[429] + faults[500] + faults[502] + faults[503] + faults[None] > 10
    assert "Retrying GET /" in run.stderr


BROKEN = ["invalid_json", "missing_list_key", "repeat_cursor", "html_error", "error_envelope_200"]


@pytest.mark.parametrize("kind", BROKEN)
@pytest.mark.parametrize("tap", sorted(TAPS))
def test_broken_responses_end_the_run_with_path_and_status(tap, kind, make_sandbox):
    config, path = TAPS[tap]
    sb = make_sandbox(broken=((f"^{path}$", kind),))
    started = time.monotonic()
    run = run_tap(tap, config(sb, start_date=START, max_retries=2), timeout=120)
    assert time.monotonic() - started < 100
    assert run.returncode != 0
    assert_clean(run)
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line and path in line]
    assert errors, run.stderr[-2000:]
    assert "HTTP" in errors[-1]
    if kind != "repeat_cursor":  # a repeated cursor is seen on page 2, after page 1 was sent
        assert not run.records.get("users"), "never a silently empty stream that passes"


def _kill_after(tap: str, config: dict, catalog: dict, stream: str, n: int):
    """Run the tap, kill it after ``n`` records of ``stream``; return records and last STATE."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg, cat = Path(tmp, "c.json"), Path(tmp, "cat.json")
        cfg.write_text(json.dumps(config))
        cat.write_text(json.dumps(catalog))
        proc = subprocess.Popen(
            [str(BIN / tap), "--config", str(cfg), "--catalog", str(cat)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        records, state = [], None
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        for line in proc.stdout:
            msg = json.loads(line)
            if msg["type"] == "RECORD" and msg["stream"] == stream:
                records.append(msg["record"])
            elif msg["type"] == "STATE":
                state = msg["value"]
            if len(records) >= n or time.monotonic() > deadline:
                break
        proc.kill()
        _, err = proc.communicate(timeout=30)
        assert SENTINEL not in err
    return records, state


def test_killed_audit_run_resumes_without_gap(make_sandbox):
    sb = make_sandbox(counts={"audit_events": 6000}, latency_ms=3)
    api = sb.apis["segment"]
    config = segment_config(sb, start_date=START, page_size=100, audit_window_hours=72)
    catalog = select(discover("tap-segment", config), {"audit_events"})
    first, state = _kill_after("tap-segment", config, catalog, "audit_events", 2500)
    assert 2500 <= len(first) < 6000 and state is not None
    second = run_tap("tap-segment", config, catalog=catalog, state=state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert_clean(second)
    seen = {r["id"] for r in first} | {r["id"] for r in second.records["audit_events"]}
    assert seen == set(api.audit_event_ids()), "no gap"
    bookmark = state["bookmarks"]["audit_events"]["partitions"][0]["replication_key_value"]
    earliest = _minus_minutes(bookmark, 5)  # audit_lookback_minutes' default
    dupes = {r["id"] for r in first} & {r["id"] for r in second.records["audit_events"]}
    assert dupes, "the lookback re-reads a little"
    for record in second.records["audit_events"]:
        if record["id"] in dupes:
            assert record["timestamp"] >= earliest, "duplicates only within the lookback"


def _minus_minutes(stamp: str, minutes: int) -> str:
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) - timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def test_killed_sync_history_run_resumes_without_gap(make_sandbox):
    sb = make_sandbox(latency_ms=3)
    config = fivetran_config(sb, start_date="2026-10-25T00:00:00Z", max_concurrency=1)
    catalog = select(discover("tap-fivetran", config), {"connection_sync_history"})
    full = run_tap("tap-fivetran", config, catalog=catalog)
    assert full.returncode == 0, full.stderr[-2000:]
    everything = set(full.keys("connection_sync_history"))
    first, state = _kill_after(
        "tap-fivetran", config, catalog, "connection_sync_history", len(everything) // 2
    )
    assert state is not None
    second = run_tap("tap-fivetran", config, catalog=catalog, state=state)
    assert second.returncode == 0, second.stderr[-2000:]
    got = {(r["connection_id"], r["start_time"]) for r in first} | set(
        second.keys("connection_sync_history")
    )
    assert got == everything, "no gap"
    marks = {
        p["context"]["connection_id"]: p["replication_key_value"]
        for p in state["bookmarks"]["connection_sync_history"].get("partitions", [])
        if "replication_key_value" in p
    }
    for cid, start in set(second.keys("connection_sync_history")) & {
        (r["connection_id"], r["start_time"]) for r in first
    }:
        assert start >= marks.get(cid, ""), "re-read only from the connection's bookmark"


def test_error_bodies_that_echo_the_request_never_leak(make_sandbox):
    sb = make_sandbox(fault_rate=1.0, fault_kinds=("500",), echo_request_in_errors=True)
    for tap, (config, _) in TAPS.items():
        run = run_tap(tap, config(sb, max_retries=1))
        assert run.returncode != 0
        assert_clean(run)
        assert "HTTP 500" in run.stderr


def test_wrong_credentials_never_leak(sandbox):
    for tap, config in (
        ("tap-segment", segment_config(token=f"{SENTINEL}-bad")),
        ("tap-fivetran", fivetran_config(api_key=f"{SENTINEL}-bad")),
    ):
        run = run_tap(tap, config)
        assert run.returncode == 1
        assert_clean(run)


@pytest.mark.parametrize("tap", sorted(TAPS))
def test_about_and_discover_never_show_credentials(tap):
    config, _ = TAPS[tap]
    for args in (("--about",), ("--about", "--format=json"), ("--discover",)):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
            json.dump(config(), handle)
            handle.flush()
            proc = subprocess.run(
                [str(BIN / tap), "--config", handle.name, *args],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
        assert SENTINEL not in proc.stdout + proc.stderr


def test_rate_limited_api_slows_the_run_instead_of_failing(clean_runs, make_sandbox):
    sb = make_sandbox(rate_limit_per_second=40)
    started = time.monotonic()
    run = run_tap("tap-fivetran", fivetran_config(sb, max_concurrency=8, start_date=START))
    unlimited = time.monotonic() - started
    assert run.returncode == 0, run.stderr[-2000:]
    assert key_sets(run) == key_sets(clean_runs["tap-fivetran"])
    hits = Counter(r["status"] for r in sb.requests())[429]
    sb2 = make_sandbox(rate_limit_per_second=40)
    started = time.monotonic()
    # A fractional cap: the SDK reads it from JSON as a Decimal, which the limiter must take.
    limited = run_tap(
        "tap-fivetran",
        fivetran_config(sb2, max_concurrency=8, start_date=START, max_requests_per_second=35.5),
    )
    paced = time.monotonic() - started
    assert limited.returncode == 0, limited.stderr[-2000:]
    assert key_sets(limited) == key_sets(clean_runs["tap-fivetran"])
    paced_hits = Counter(r["status"] for r in sb2.requests())[429]
    print(
        f"429s without limiter {hits} in {unlimited:.1f}s; with limiter {paced_hits} in {paced:.1f}s"
    )
    assert hits > 0, "the sandbox limit should bite without the tap's limiter"
    assert paced_hits <= 2
