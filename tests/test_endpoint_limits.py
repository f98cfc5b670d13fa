"""The endpoint-limits tables against the spec data: every endpoint a stream calls has a row, and
every row's page range, rate limit and required parameters are what the spec documents."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tap_fivetran import streams as fivetran_streams
from tap_fivetran.endpoints import FIVETRAN_ENDPOINTS
from tap_segment import streams as segment_streams
from tap_segment.endpoints import SEGMENT_ENDPOINTS
from taps_common.limiter import SlidingWindow
from tests.test_segment_schemas import load_generator

SPECS = Path(__file__).resolve().parents[1] / "specs"
SEGMENT_SPEC = json.loads((SPECS / "segment-public-api.v73.2.0.derived.json").read_text())
FIVETRAN_SPEC = json.loads((SPECS / "fivetran-rest-api.json").read_text())
SEGMENT_OPS = {op["path"]: op for op in SEGMENT_SPEC["get_operations"]}
SEGMENT_GENERATOR = load_generator()
NOT_IN_SPEC = {"/v1/connections/{connectionId}/sync-history"}  # documented, newer than the spec


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def segment_page_range(op: dict) -> tuple[int, int] | None:
    """(low, high) as the generator reads it from the pagination model's description."""
    return SEGMENT_GENERATOR.page_range(op, SEGMENT_SPEC)


def test_segment_page_ranges_are_the_documented_ones():
    """The research notes' facts, independent of how the spec is read: every list takes
    1..1000 except listAudiences (1..200); the workspace, source settings, connection state and
    labels take no pagination."""
    unpaged = {"/", "/sources/{sourceId}/settings", "/labels"}
    unpaged.add("/warehouses/{warehouseId}/connection-state")
    for limit in SEGMENT_ENDPOINTS:
        expected = (
            None
            if limit.path in unpaged
            else (1, 200)
            if limit.path == "/spaces/{spaceId}/audiences"
            else (1, 1000)
        )
        got = None if limit.page_max is None else (limit.page_min, limit.page_max)
        assert got == expected, limit.path


@pytest.mark.parametrize("limit", list(SEGMENT_ENDPOINTS), ids=lambda e: e.path)
def test_segment_rows_match_the_spec(limit):
    op = SEGMENT_OPS[limit.path]
    page = segment_page_range(op)
    assert (None if limit.page_max is None else (limit.page_min, limit.page_max)) == page
    assert limit.per_minute == op["endpoint_rate_limit_per_minute"]
    required = tuple(p["name"] for p in op["parameters"] if p["required"] and p["in"] == "query")
    assert limit.required == required


def fivetran_operation(path: str) -> dict:
    [found] = [ops["get"] for p, ops in FIVETRAN_SPEC["paths"].items() if _shape(p) == _shape(path)]
    return found


@pytest.mark.parametrize("limit", list(FIVETRAN_ENDPOINTS), ids=lambda e: e.path)
def test_fivetran_rows_match_the_spec(limit):
    if limit.path in NOT_IN_SPEC:
        assert limit.page_max == 1000
        return
    op = fivetran_operation(limit.path)
    params = {p.get("name"): p for p in op.get("parameters", []) if "name" in p}
    if "limit" in params:
        # Where the spec describes it, it says 1..1000; the pagination docs say so for all.
        assert "1..1000" in params["limit"].get("description", "1..1000")
        assert (limit.page_min, limit.page_max) == (1, 1000)
    else:
        assert limit.page_max is None
    required = tuple(n for n, p in params.items() if p.get("required") and p.get("in") == "query")
    assert limit.required == required


@pytest.mark.parametrize(
    ("table", "types"),
    [
        (SEGMENT_ENDPOINTS, segment_streams.stream_types()),
        (FIVETRAN_ENDPOINTS, fivetran_streams.stream_types()),
    ],
    ids=["segment", "fivetran"],
)
def test_every_stream_path_has_a_row(table, types):
    paths = {p for t in types for p in (t.path, t.detail_path) if p}
    for path in paths:
        table.template(path)  # KeyError names the endpoint left out
    assert {_shape(e.path) for e in table} == {_shape(p) for p in paths}, "no stale rows"


def test_rate_limited_segment_endpoints_are_the_documented_ones():
    documented = {
        path: op["endpoint_rate_limit_per_minute"]
        for path, op in SEGMENT_OPS.items()
        if op["endpoint_rate_limit_per_minute"]
    }
    for limit in SEGMENT_ENDPOINTS:
        if limit.path in documented:
            assert limit.per_minute == documented[limit.path]


def test_sliding_window_never_allows_more_than_the_limit_in_a_window():
    window = SlidingWindow(limit=5, seconds=0.3)
    # Nobody sleeps here, so each wait is the send time measured from (about) now.
    sent = [window.reserve() for _ in range(17)]
    span = window.seconds
    for i, moment in enumerate(sent):
        inside = [t for t in sent[i:] if t < moment + span - 0.01]
        assert len(inside) <= 5
    assert max(sent[:5]) < 0.01, "a burst up to the limit goes out at once"
    assert sent[5] >= span - 0.01, "the sixth waits for the first to leave the window"
