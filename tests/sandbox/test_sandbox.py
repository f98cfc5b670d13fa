"""The sandbox server core and its Fivetran emulator behave like the real API where it matters."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from taps_sandbox.base import (
    FIVETRAN_API_KEY,
    FIVETRAN_API_SECRET,
    SENTINEL,
    SandboxOptions,
)
from taps_sandbox.fivetran import FivetranApi, load_spec
from taps_sandbox.server import Sandbox

AUTH = (FIVETRAN_API_KEY, FIVETRAN_API_SECRET)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_sandbox() -> Iterator:
    """Start sandboxes with given options; stop them all afterwards."""
    started: list[Sandbox] = []

    def make(**options) -> Sandbox:
        sandbox = Sandbox(SandboxOptions(**options)).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture(scope="module")
def ft() -> Iterator[tuple[Sandbox, requests.Session]]:
    """A clean small sandbox and an authenticated session, shared by read-only tests."""
    with Sandbox(SandboxOptions(deleted_children=2)) as sandbox:
        session = requests.Session()
        session.auth = AUTH
        yield sandbox, session


def walk(session: requests.Session, url: str, limit: int = 3, **params) -> list[dict]:
    """Every item of a Fivetran list, following next_cursor (bounded)."""
    items: list[dict] = []
    cursor = None
    for _ in range(1000):
        query = dict(params, limit=limit, **({"cursor": cursor} if cursor else {}))
        response = session.get(url, params=query, timeout=10)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        items.extend(data["items"])
        cursor = data.get("next_cursor")
        if not cursor:
            return items
    raise AssertionError("pagination did not end")


def test_binds_loopback_only() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        Sandbox(host="0.0.0.0")
    with Sandbox() as sandbox:
        assert sandbox.url.startswith("http://127.0.0.1:")
        assert sandbox.fivetran_url == sandbox.url + "/fivetran"
        assert sandbox.segment_url == sandbox.url + "/segment"
        assert requests.get(sandbox.url + "/_sandbox/health", timeout=5).json()["status"] == "ok"


def test_auth_required_and_never_echoed(ft) -> None:
    sandbox, _ = ft
    for auth in (None, ("wrong", "pair"), (FIVETRAN_API_KEY, "nope")):
        response = requests.get(sandbox.fivetran_url + "/v1/groups", auth=auth, timeout=5)
        assert response.status_code == 401
        assert response.json()["code"] == "AuthFailed"
        assert SENTINEL not in response.text
        assert response.headers["Content-Type"] == "application/json"
    response = requests.get(sandbox.fivetran_url + "/public/connector-types", timeout=5)
    assert response.status_code == 200


def test_pagination_walks_every_page_once(ft) -> None:
    sandbox, session = ft
    api: FivetranApi = sandbox.apis["fivetran"]
    for path, collection in (
        ("/v1/connections", "connections"),
        ("/v1/groups", "groups"),
        ("/v1/users", "users"),
        ("/v1/roles", "roles"),
        ("/v1/destinations", "destinations"),
    ):
        items = walk(session, sandbox.fivetran_url + path, limit=2)
        key = "name" if collection == "roles" else "id"
        ids = [item[key] for item in items]
        assert len(ids) == len(set(ids))
        assert ids == api.expected_ids(collection)
    first = session.get(sandbox.fivetran_url + "/v1/groups", timeout=5).json()["data"]
    assert len(first["items"]) == 7 and "next_cursor" not in first  # default limit 100


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"cursor": "not-a-cursor"}]
)
def test_bad_page_params_are_invalid_input(ft, params) -> None:
    sandbox, session = ft
    response = session.get(sandbox.fivetran_url + "/v1/connections", params=params, timeout=5)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidInput"


def test_accept_versions(ft) -> None:
    sandbox, session = ft
    url = sandbox.fivetran_url + "/v1/connections"
    for accept in ("application/json;version=2", "application/json", "*/*"):
        assert session.get(url, headers={"Accept": accept}, timeout=5).status_code == 200
    assert session.get(url, headers={"Accept": "text/html"}, timeout=5).status_code == 406


def test_non_get_is_405_and_counted(make_sandbox) -> None:
    sandbox = make_sandbox()
    for method in ("POST", "PATCH", "DELETE"):
        response = requests.request(
            method,
            sandbox.fivetran_url + "/v1/connections/x/sync",
            auth=AUTH,
            json={"force": True},
            timeout=5,
        )
        assert response.status_code == 405
    assert sandbox.non_get_requests == 3


def test_rate_limit_429_with_retry_after(make_sandbox) -> None:
    sandbox = make_sandbox(rate_limit_per_second=5)
    session = requests.Session()
    session.auth = AUTH
    statuses = []
    for _ in range(15):
        response = session.get(sandbox.fivetran_url + "/v1/groups", timeout=5)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.json()["code"] == "TooManyRequests"
            assert int(response.headers["Retry-After"]) >= 1
    assert statuses.count(200) >= 5 and 429 in statuses
    time.sleep(1.05)
    assert session.get(sandbox.fivetran_url + "/v1/groups", timeout=5).status_code == 200


def test_gating(make_sandbox) -> None:
    sandbox = make_sandbox(gated=(("/v1/system-keys", 403), ("/v1/private-links", 404)))
    session = requests.Session()
    session.auth = AUTH
    base = sandbox.fivetran_url
    assert session.get(base + "/v1/system-keys", timeout=5).status_code == 403
    assert session.get(base + "/v1/system-keys/abc", timeout=5).status_code == 403
    assert session.get(base + "/v1/private-links", timeout=5).status_code == 404
    assert session.get(base + "/v1/groups", timeout=5).status_code == 200


def test_deleted_children_and_missing_schema_config(ft) -> None:
    sandbox, session = ft
    api: FivetranApi = sandbox.apis["fivetran"]
    base = sandbox.fivetran_url + "/v1/connections/"
    deleted = api.deleted_connections()
    assert len(deleted) == 2
    assert deleted == api.expected_ids("connections")[-2:]
    listed = {c["id"] for c in walk(session, sandbox.fivetran_url + "/v1/connections")}
    assert set(deleted) <= listed
    for cid in deleted:
        for suffix in ("", "/schemas", "/certificates", "/fingerprints", "/sync-history"):
            response = session.get(base + cid + suffix, timeout=5)
            assert response.status_code == 404, suffix
            assert response.json()["code"] == "NotFound_Connector"
    missing = api.connections_without_schema()
    assert missing and not set(missing) & set(deleted)
    for cid in missing:
        response = session.get(base + cid + "/schemas", timeout=5)
        assert response.status_code == 404
        assert response.json()["code"] == "NotFound_SchemaConfig"
    live = [c for c in api.expected_ids("connections") if c not in deleted and c not in missing]
    config = session.get(base + live[0] + "/schemas", timeout=5).json()["data"]
    assert 1 <= len(config["schemas"]) <= 3
    for schema in config["schemas"].values():
        assert 1 <= len(schema["tables"]) <= 4


def test_data_is_consistent_and_complete(ft) -> None:
    sandbox, session = ft
    api: FivetranApi = sandbox.apis["fivetran"]
    base = sandbox.fivetran_url
    schemas = load_spec()["components"]["schemas"]
    groups = set(api.expected_ids("groups"))
    connections = set(api.expected_ids("connections"))
    users = set(api.expected_ids("users"))
    assert {d["id"] for d in walk(session, base + "/v1/destinations")} == groups
    for item in walk(session, base + "/v1/connections"):
        assert item["group_id"] in groups and item["connected_by"] in users
        assert set(schemas["ConnectorResponse"]["properties"]) <= set(item)
    for uid in users:
        for kind, pool in (("groups", groups), ("connections", connections)):
            ids = {m["id"] for m in walk(session, f"{base}/v1/users/{uid}/{kind}")}
            assert ids <= pool
    long_lists = [u for u in users if len(walk(session, f"{base}/v1/users/{u}/groups")) > 3]
    assert len(long_lists) >= 2
    for tid in api.expected_ids("teams"):
        assert {m["user_id"] for m in walk(session, f"{base}/v1/teams/{tid}/users")} <= users
    for pid in api.expected_ids("proxy_agents"):
        for item in walk(session, f"{base}/v1/proxy/{pid}/connections"):
            assert item["connection_id"] in connections
    cid = api.expected_ids("connections")[0]
    detail = session.get(f"{base}/v1/connections/{cid}", timeout=5).json()["data"]
    assert detail["config"] and detail["setup_tests"]
    assert any(str(v).startswith(SENTINEL) for v in detail["config"].values())
    webhook = walk(session, base + "/v1/webhooks")[0]
    assert webhook["secret"].startswith(SENTINEL)
    assert walk(session, base + "/v1/system-keys")[0]["secret"].startswith(SENTINEL)


def test_state_only_for_function_connections(ft) -> None:
    sandbox, session = ft
    api: FivetranApi = sandbox.apis["fivetran"]
    fn = api.function_connections()[0]
    assert (
        session.get(f"{sandbox.fivetran_url}/v1/connections/{fn}/state", timeout=5).status_code
        == 200
    )
    other = api.expected_ids("connections")[0]
    assert (
        session.get(f"{sandbox.fivetran_url}/v1/connections/{other}/state", timeout=5).status_code
        == 400
    )


def test_sync_history_windows(ft) -> None:
    sandbox, session = ft
    cid = sandbox.apis["fivetran"].expected_ids("connections")[0]
    url = f"{sandbox.fivetran_url}/v1/connections/{cid}/sync-history"
    now = dt.datetime.now(dt.UTC)

    def window(start: dt.datetime, end: dt.datetime) -> requests.Response:
        return session.get(
            url, params={"start_time": start.isoformat(), "end_time": end.isoformat()}, timeout=5
        )

    assert window(now - dt.timedelta(days=8), now).status_code == 400
    assert window(now, now - dt.timedelta(hours=1)).status_code == 400
    items = walk(
        session,
        url,
        limit=5,
        start_time=(now - dt.timedelta(days=7)).isoformat(),
        end_time=now.isoformat(),
    )
    assert 26 <= len(items) <= 29  # one sync every 6 hours
    assert len({i["id"] for i in items}) == len(items)
    assert all(i["connection_id"] == cid and i["status"] for i in items)
    old = window(now - dt.timedelta(days=40), now - dt.timedelta(days=33)).json()["data"]
    assert old["items"] == []


def test_request_log_and_control_endpoints(make_sandbox) -> None:
    sandbox = make_sandbox()
    requests.get(sandbox.fivetran_url + "/v1/groups", params={"limit": 2}, auth=AUTH, timeout=5)
    requests.post(sandbox.fivetran_url + "/v1/groups", auth=AUTH, timeout=5)
    log = sandbox.requests("fivetran")
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/v1/groups", 200),
        ("POST", "/v1/groups", 405),
    ]
    assert log[0]["query"] == {"limit": ["2"]} and log[0]["ts"] > 0
    over_http = requests.get(sandbox.url + "/_sandbox/requests", timeout=5)
    assert over_http.json() == json.loads(json.dumps(sandbox.requests()))
    assert FIVETRAN_API_SECRET not in over_http.text and "Basic" not in over_http.text
    assert requests.get(sandbox.url + "/_sandbox/reset", timeout=5).status_code == 200
    assert sandbox.requests() == []
    sandbox.reset_log()


def _outcome(session: requests.Session, url: str) -> str:
    try:
        return str(session.get(url, timeout=3).status_code)
    except requests.ConnectionError:
        return "dropped"


def test_fault_injection_rate_and_determinism(make_sandbox) -> None:
    kinds = ("429", "500", "502", "503", "reset")
    runs = []
    for _ in range(2):
        sandbox = make_sandbox(fault_rate=0.5, seed=7, fault_kinds=kinds)
        session = requests.Session()
        session.auth = AUTH
        runs.append([_outcome(session, sandbox.fivetran_url + "/v1/groups") for _ in range(200)])
    assert runs[0] == runs[1]
    counts = Counter(runs[0])
    assert 60 <= counts["200"] <= 140, counts
    assert {"429", "500", "502", "503", "dropped"} <= set(counts)


def test_timeout_fault_stalls_then_drops(make_sandbox) -> None:
    sandbox = make_sandbox(fault_rate=1.0, fault_kinds=("timeout",), timeout_sleep_s=0.3)
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        requests.get(sandbox.fivetran_url + "/v1/groups", auth=AUTH, timeout=5)
    assert time.monotonic() - started >= 0.25


def test_echo_request_in_errors_leaks_headers(make_sandbox) -> None:
    sandbox = make_sandbox(fault_rate=1.0, fault_kinds=("503",), echo_request_in_errors=True)
    response = requests.get(sandbox.fivetran_url + "/v1/groups", auth=AUTH, timeout=5)
    assert response.status_code == 503
    assert "Authorization" in response.json()["request"]["headers"]


def test_unknown_fault_kind_is_refused_at_creation() -> None:
    """A misspelt fault kind must not quietly become a connection reset."""
    with pytest.raises(ValueError, match=r"unknown fault kind '5O3'.*'429'.*'timeout'"):
        Sandbox(SandboxOptions(fault_rate=1.0, fault_kinds=("503", "5O3")))


def test_unknown_broken_kind_is_refused_at_creation() -> None:
    with pytest.raises(ValueError, match=r"unknown broken kind 'invalid-json'.*'invalid_json'"):
        Sandbox(SandboxOptions(broken=(("^/v1/groups$", "invalid-json"),)))


def test_broken_kinds(make_sandbox) -> None:
    sandbox = make_sandbox(
        broken=(
            ("^/v1/groups$", "invalid_json"),
            ("^/v1/users$", "missing_list_key"),
            ("^/v1/teams$", "repeat_cursor"),
            ("^/v1/roles$", "html_error"),
            ("^/v1/webhooks$", "error_envelope_200"),
        )
    )
    session = requests.Session()
    session.auth = AUTH
    base = sandbox.fivetran_url
    response = session.get(base + "/v1/groups", timeout=5)
    with pytest.raises(ValueError):
        json.loads(response.text)
    assert "items" not in session.get(base + "/v1/users", timeout=5).json()["data"]
    first = session.get(base + "/v1/teams", params={"limit": 1}, timeout=5).json()["data"]
    again = session.get(
        base + "/v1/teams", params={"limit": 1, "cursor": first["next_cursor"]}, timeout=5
    ).json()["data"]
    assert again["next_cursor"] == first["next_cursor"] and again["items"] == first["items"]
    html = session.get(base + "/v1/roles", timeout=5)
    assert html.status_code == 502 and html.headers["Content-Type"].startswith("text/html")
    envelope = session.get(base + "/v1/webhooks", timeout=5)
    assert envelope.status_code == 200 and "data" not in envelope.json()
    assert session.get(base + "/v1/destinations", timeout=5).status_code == 200


def test_large_size_is_lazy_and_fast() -> None:
    started = time.monotonic()
    api = FivetranApi(SandboxOptions(size="large"))
    assert time.monotonic() - started < 1.0
    assert len(api.expected_ids("connections")) == 2000
    assert len(api.connections_without_schema()) == 200
    body = api.get("/v1/connections", limit="1000")
    assert len(body["data"]["items"]) == 1000 and body["data"]["next_cursor"]


def _run_cli(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "taps_sandbox", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_cli_reports_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run_cli("--port", str(port))
    assert result.returncode == 2
    assert str(port) in result.stderr and "busy" in result.stderr


def test_cli_serves_and_writes_port_file(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [sys.executable, "-m", "taps_sandbox", "--port-file", str(port_file)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists() or not port_file.read_text().strip():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        port = int(port_file.read_text())
        response = requests.get(f"http://127.0.0.1:{port}/fivetran/v1/groups", auth=AUTH, timeout=5)
        assert response.status_code == 200
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert f"http://127.0.0.1:{port}/fivetran" in out
