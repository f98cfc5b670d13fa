"""The real example responses in specs/examples/ replayed through each tap, over HTTP.

A loopback server answers each endpoint with its example body, exactly as stored (anything it
has no example for answers 404, a cursor answers an empty last page). Each tap runs as a user
runs it, selecting the streams the examples feed; every example item must come out as a record
with every field and value (secrets masked), valid against the stream's schema, with each
date-time field an RFC 3339 timestamp. The error examples go through the same HTTP path: a 404
ends its stream with a warning, a 422 is one line naming path and status, the 429 bodies are
retried with the wait they ask for.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from jsonschema import Draft7Validator

from taps_common.redaction import REDACTED
from tests.datetimes import bad_date_times
from tests.tap_runner import TapRun, discover, run_tap, select

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "specs" / "examples"
TOKEN = "example-token"  # the examples' server checks nothing; no sandbox secret is involved

Route = Callable[[str, dict[str, list[str]]], tuple[int, Any, dict[str, str]]]


def example(api: str, name: str) -> Any:
    return json.loads((EXAMPLES / api / name).read_text(encoding="utf-8"))


# Segment: example file -> (stream, path pattern, list key under data; None: single object).
SEGMENT = {
    "get-workspace.json": ("workspaces", r"/", "workspace"),
    "list-sources.json": ("sources", r"/sources", "sources"),
    "list-destinations.json": ("destinations", r"/destinations", "destinations"),
    "list-warehouses.json": ("warehouses", r"/warehouses", "warehouses"),
    "list-tracking-plans.json": ("tracking_plans", r"/tracking-plans", "trackingPlans"),
    "list-rules-from-tracking-plan.json": (
        "tracking_plan_rules",
        r"/tracking-plans/[^/]+/rules",
        "rules",
    ),
    "list-transformations.json": ("transformations", r"/transformations", "transformations"),
    "list-functions.json": ("functions", r"/functions", "functions"),
    "list-users.json": ("users", r"/users", "users"),
    "list-user-groups.json": ("user_groups", r"/groups", "userGroups"),
    "list-roles.json": ("roles", r"/roles", "roles"),
    "list-invites.json": ("invites", r"/invites", "invites"),
    "list-labels.json": ("labels", r"/labels", "labels"),
    "list-audit-events.json": ("audit_events", r"/audit-events", "events"),
}
SEGMENT_ERRORS = {
    "error-404-not-found.json",
    "error-422-validation.json",
    "error-429-rate-limited.json",
    "error-429-rate-limited-docs.json",
}
# Fivetran: example file -> (stream, path pattern). Details and schema config are replayed through
# the stream that reads them (the connection list merged with its detail; schema config split
# into schemas, tables and columns).
FIVETRAN = {
    "groups_list.json": ("groups", r"/v1/groups"),
    "users_list.json": ("users", r"/v1/users"),
    "system_keys_list.json": ("system_keys", r"/v1/system-keys"),
    "proxy_agents_list.json": ("proxy_agents", r"/v1/proxy"),
    "connections_list.json": ("connections", r"/v1/connections"),
    "connection_details_postgres.json": ("connections", r"/v1/connections/[^/]+"),
    "connection_schema_config.json": ("connection_schemas", r"/v1/connections/[^/]+/schemas"),
    "destination_details.json": ("destinations", r"/v1/destinations/[^/]+"),
}
# Fields the taps mask by default (contract: secrets are redacted), per stream.
SEGMENT_MASKED = {"sources": {"writeKeys"}, "destinations": {"settings.secretId"}}
FIVETRAN_MASKED = {
    "destinations": {"config.password"},
    # format: password in the spec's postgres config
    "connections": {"config.password", "config.client_private_key", "config.public_key"},
}
# The Segment examples are from spec v32, the schemas from v73 (specs/SOURCES.md notes the
# drift): fields the newer spec no longer declares are kept and reported, nothing else.
SEGMENT_DRIFT = {"tracking_plans": {"resourceSchemaId"}}


class ExampleServer:
    """A loopback HTTP server answering from route functions; logs every request."""

    def __init__(self, routes: dict[str, list[tuple[str, Route]]]) -> None:
        self.routes = {
            api: [(re.compile(f"^{p}$"), fn) for p, fn in items] for api, items in routes.items()
        }
        self.log: list[tuple[str, str, int]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                split = urlsplit(self.path)
                api, _, rest = split.path.lstrip("/").partition("/")
                path = "/" + rest.rstrip("/") if rest.rstrip("/") else "/"
                status, body, headers = server.answer(api, path, parse_qs(split.query))
                server.log.append((api, path, status))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, api: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        for pattern, route in self.routes.get(api, []):
            if pattern.match(path):
                return route(path, query)
        if api == "fivetran":
            return 404, {"code": "NotFound", "message": f"no example for {path}"}, {}
        return 404, example("segment", "error-404-not-found.json"), {}

    def url(self, api: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/{api}"

    def __enter__(self) -> ExampleServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ----------------------------------------------------------------------------- Segment


def _segment_list(body: dict, key: str) -> Route:
    def route(path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        if "pagination.cursor" in query:  # the example's next page: the last, empty one
            return 200, {"data": {key: [], "pagination": {"current": "end"}}}, {}
        data = dict(body["data"])
        if key == "events":  # a real server answers only the window asked for, in one page
            start, end = query["startTime"][0], query["endTime"][0]
            data[key] = [
                e for e in data[key] if start <= e["timestamp"].replace("Z", ".000Z") < end
            ]
            data["pagination"] = {"current": data["pagination"]["current"]}
        if key == "functions":  # listed per resourceType
            data[key] = [f for f in data[key] if f.get("resourceType") in query["resourceType"]]
        return 200, {**body, "data": data}, {}

    return route


def segment_routes(overrides: dict[str, Route] | None = None) -> list[tuple[str, Route]]:
    routes = [(p, r) for p, r in (overrides or {}).items()]
    for name, (_, pattern, key) in SEGMENT.items():
        body = example("segment", name)
        if key == "workspace":
            routes.append((pattern, lambda path, query, b=body: (200, b, {})))
        else:
            routes.append((pattern, _segment_list(body, key)))
    return routes


SEGMENT_CONFIG = {
    "token": TOKEN,
    "start_date": "2022-03-01T00:00:00Z",  # the audit example's events are from 2022-03-04
    "audit_window_hours": 24 * 30,
    "backoff_base_seconds": 0.01,
    "max_retries": 2,
    "max_concurrency": 2,
}


@pytest.fixture(scope="module")
def segment_run() -> Iterator[tuple[TapRun, ExampleServer]]:
    streams = {stream for stream, _, _ in SEGMENT.values()}
    with ExampleServer({"segment": segment_routes()}) as server:
        config = {**SEGMENT_CONFIG, "api_url": server.url("segment")}
        catalog = select(discover("tap-segment", config), streams)
        run = run_tap("tap-segment", config, catalog=catalog, timeout=120)
        yield run, server


# ----------------------------------------------------------------------------- Fivetran


def _fivetran(body: dict, *, paged: bool) -> Route:
    def route(path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        if paged and query.get("cursor"):
            return 200, {"code": "Success", "data": {"items": []}}, {}
        return 200, body, {}

    return route


def fivetran_routes() -> list[tuple[str, Route]]:
    # The account check has no example; it only has to prove the key pair.
    account = {"code": "Success", "data": {"account_id": "example", "account_name": "examples"}}
    routes: list[tuple[str, Route]] = [(r"/v1/account/info", _fivetran(account, paged=False))]
    # The destination example is a detail: the list names it, the detail carries it.
    detail = example("fivetran", "destination_details.json")
    listed = {"code": "Success", "data": {"items": [{"id": detail["data"]["id"]}]}}
    routes.append((r"/v1/destinations", _fivetran(listed, paged=True)))
    for name, (_, pattern) in FIVETRAN.items():
        paged = "items" in example("fivetran", name)["data"]
        routes.append((pattern, _fivetran(example("fivetran", name), paged=paged)))
    return routes


@pytest.fixture(scope="module")
def fivetran_run() -> Iterator[tuple[TapRun, ExampleServer]]:
    streams = {s for s, _ in FIVETRAN.values()} | {"connection_tables", "connection_columns"}
    with ExampleServer({"fivetran": fivetran_routes()}) as server:
        config = {
            "api_key": "example-key",
            "api_secret": "example-secret",
            "api_url": server.url("fivetran"),
            "backoff_base_seconds": 0.01,
            "max_retries": 2,
        }
        catalog = select(discover("tap-fivetran", config), streams)
        run = run_tap("tap-fivetran", config, catalog=catalog, timeout=120)
        yield run, server


# ----------------------------------------------------------------------------- checks


def leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a JSON value by path (list items by index)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(leaves(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, sub in enumerate(value):
            out.update(leaves(sub, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def at(record: Any, path: str) -> tuple[bool, Any, bool]:
    """(found, value, masked) at a leaf path; masked when it or an ancestor is redacted."""
    node = record
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if node == REDACTED:
            return True, node, True
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(node, list) or index >= len(node):
                return False, None, False
            node = node[index]
        else:
            if not isinstance(node, dict) or part not in node:
                return False, None, False
            node = node[part]
    return True, node, node == REDACTED


def missing_from(item: Any, records: list[dict], masked: set[str]) -> list[str]:
    """Fields of ``item`` that no single record carries with the same value: [] if one does."""
    expected = leaves(item)
    best: list[str] | None = None
    for record in records:
        wrong = []
        for path, value in expected.items():
            found, got, is_masked = at(record, path)
            base = re.sub(r"\[\d+\]", "", path)
            if is_masked and base in masked:
                continue
            if not found or got != value or is_masked:
                wrong.append(f"{path}={value!r} (record: {got!r})")
        if best is None or len(wrong) < len(best):
            best = wrong
    return best if best is not None else [f"no records; expected {sorted(expected)[:3]}"]


def check_records(run: TapRun, stream: str) -> None:
    """Records valid against the emitted schema, every date-time field RFC 3339 or null."""
    schema = run.schemas[stream]["schema"]
    validator = Draft7Validator(schema)
    for record in run.records[stream]:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(record)]
        assert not errors, f"{stream}: {errors[:3]}"
        assert not bad_date_times(record, schema), (stream, bad_date_times(record, schema))


def undeclared_warnings(run: TapRun) -> list[str]:
    return [line for line in run.stderr.splitlines() if "does not declare" in line]


@pytest.mark.parametrize("name", sorted(SEGMENT))
def test_segment_example_replays(segment_run, name):
    run, _ = segment_run
    assert run.returncode == 0, run.stderr[-3000:]
    stream, _, key = SEGMENT[name]
    data = example("segment", name)["data"][key]
    items = [data] if key == "workspace" else data
    assert items, name
    if stream == "invites":  # plain email strings become {email}
        items = [{"email": email} for email in items]
    for item in items:
        wrong = missing_from(item, run.records[stream], SEGMENT_MASKED.get(stream, set()))
        assert not wrong, f"{name} -> {stream}: {wrong[:5]}"
    check_records(run, stream)


@pytest.mark.parametrize("name", sorted(FIVETRAN))
def test_fivetran_example_replays(fivetran_run, name):
    run, _ = fivetran_run
    assert run.returncode == 0, run.stderr[-3000:]
    stream, _ = FIVETRAN[name]
    body = example("fivetran", name)["data"]
    if name == "connection_schema_config.json":
        [record] = run.records["connection_schemas"]
        wrong = missing_from(body, [record], set())
        assert not wrong, wrong[:5]
        tables = {(r["schema_name"], r["table_name"]) for r in run.records["connection_tables"]}
        columns = {
            (r["schema_name"], r["table_name"], r["column_name"])
            for r in run.records["connection_columns"]
        }
        expected = {(s, t) for s, sv in body["schemas"].items() for t in sv["tables"]}
        assert tables == expected
        assert columns == {
            (s, t, c)
            for s, sv in body["schemas"].items()
            for t, tv in sv["tables"].items()
            for c in tv.get("columns") or {}
        }
        for level in ("connection_schemas", "connection_tables", "connection_columns"):
            check_records(run, level)
        return
    if name == "connections_list.json":
        # The list item is merged with its detail: the detail's values win where both have one.
        detail = example("fivetran", "connection_details_postgres.json")["data"]
        items = [{**item, **detail} for item in body["items"]]
    else:
        items = body.get("items", [body])
    for item in items:
        wrong = missing_from(item, run.records[stream], FIVETRAN_MASKED.get(stream, set()))
        assert not wrong, f"{name} -> {stream}: {wrong[:5]}"
    check_records(run, stream)


def test_examples_fields_are_declared(segment_run, fivetran_run):
    """Every field of the real examples is in the schemas, but the v32-to-v73 drift SOURCES.md
    notes (the taps keep such fields and say so once)."""
    assert not undeclared_warnings(fivetran_run[0]), undeclared_warnings(fivetran_run[0])
    reported = {}
    for line in undeclared_warnings(segment_run[0]):
        stream = re.search(r"Stream '(\w+)'", line).group(1)
        reported[stream] = set(line.rsplit(": ", 1)[1].split(", "))
    assert reported == SEGMENT_DRIFT


def test_every_example_file_is_replayed():
    """A new example in specs/examples/ must be added to this replay."""
    on_disk = {f"segment/{p.name}" for p in (EXAMPLES / "segment").glob("*.json")}
    on_disk |= {f"fivetran/{p.name}" for p in (EXAMPLES / "fivetran").glob("*.json")}
    replayed = {f"segment/{n}" for n in [*SEGMENT, *SEGMENT_ERRORS]}
    replayed |= {f"fivetran/{n}" for n in FIVETRAN}
    assert on_disk == replayed


def test_setup_test_details_in_both_shapes_fit_the_schema():
    """The spec says object, its examples say string: the connection schema takes both."""
    schema = json.loads((ROOT / "schemas" / "fivetran" / "connections.json").read_text())
    validator = Draft7Validator(schema)
    detail = example("fivetran", "connection_details_postgres.json")["data"]
    as_string = {"id": "c", **detail}
    assert isinstance(as_string["setup_tests"][0]["details"], str)
    as_object = {**as_string, "setup_tests": [{"title": "t", "details": {"checked": True}}]}
    for record in (as_string, as_object):
        assert not list(validator.iter_errors(record))


# ----------------------------------------------------------------------------- error examples


def _error_run(path: str, answers: list[tuple[int, Any]], streams: set[str], **config: Any):
    """Run tap-segment with ``path`` answering ``answers`` in turn (then its example)."""
    pending = list(answers)
    normal = dict(segment_routes())

    def route(p: str, query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        if pending:
            status, body = pending.pop(0)
            return status, body, {}
        return normal[path](p, query)

    with ExampleServer({"segment": segment_routes({path: route})}) as server:
        settings = {**SEGMENT_CONFIG, "api_url": server.url("segment"), **config}
        catalog = select(discover("tap-segment", settings), streams)
        return run_tap("tap-segment", settings, catalog=catalog, timeout=120), server


def test_segment_404_example_ends_only_its_stream():
    body = example("segment", "error-404-not-found.json")
    run, _ = _error_run(r"/roles", [(404, body)], {"roles", "users"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr.count("Stream 'roles' skipped") == 1
    assert not run.records.get("roles")
    assert run.records["users"]


def test_segment_422_example_is_one_line_with_path_and_status():
    body = example("segment", "error-422-validation.json")
    run, server = _error_run(r"/labels", [(422, body)], {"labels"})
    assert run.returncode != 0
    lines = [
        line
        for line in run.stderr.splitlines()
        if "/labels" in line and "422" in line and "summary:" not in line
    ]
    assert len(lines) == 1, run.stderr[-2000:]
    assert "Validation failure" in lines[0]
    assert "Traceback" not in run.stderr
    assert [s for a, p, s in server.log if p == "/labels"] == [422], "a 422 is not retried"


def test_segment_429_example_without_hint_is_retried():
    body = example("segment", "error-429-rate-limited.json")
    run, server = _error_run(r"/labels", [(429, body)], {"labels"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert [s for a, p, s in server.log if p == "/labels"] == [429, 200]
    assert len(run.records["labels"]) == len(
        example("segment", "list-labels.json")["data"]["labels"]
    )


def test_segment_429_docs_example_asks_for_its_wait():
    """The documented body says msBeforeNext 57647: the tap reads 58 s from it, which is more
    than this run allows, so it stops at once and says so (no blind backoff)."""
    body = example("segment", "error-429-rate-limited-docs.json")
    run, server = _error_run(r"/labels", [(429, body)], {"labels"}, max_retry_wait_seconds=10)
    assert run.returncode != 0
    assert "asks to wait 58 s" in run.stderr, run.stderr[-2000:]
    assert [s for a, p, s in server.log if p == "/labels"] == [429]
