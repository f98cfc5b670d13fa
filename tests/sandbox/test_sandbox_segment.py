"""The Segment emulator behaves like the real API where the tap depends on it."""

from __future__ import annotations

import requests

from taps_sandbox.base import SEGMENT_TOKEN, SENTINEL


def get(sandbox, path, token=SEGMENT_TOKEN, **params):
    return requests.get(
        f"{sandbox.segment_url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_unknown_token_is_401_without_echo(sandbox):
    response = get(sandbox, "/", token=f"{SENTINEL}-nope")
    assert response.status_code == 401
    assert SENTINEL not in response.text
    assert response.json()["errors"][0]["type"]


def test_dot_and_bracket_pagination_walk_the_same_items(sandbox):
    def walk(count_key, cursor_key):
        ids, cursor = [], None
        for _ in range(100):
            params = {count_key: 2, **({cursor_key: cursor} if cursor else {})}
            data = get(sandbox, "/users", **params).json()["data"]
            ids += [u["id"] for u in data["users"]]
            cursor = data["pagination"].get("next")
            if not cursor:
                return ids
        raise AssertionError("no end")

    dots = walk("pagination.count", "pagination.cursor")
    brackets = walk("pagination[count]", "pagination[cursor]")
    assert dots == brackets and len(dots) == len(set(dots)) > 2


def test_validation_errors(sandbox):
    assert get(sandbox, "/users", **{"pagination.count": 0}).status_code == 422
    assert get(sandbox, "/users", **{"pagination.count": 1001}).status_code == 422
    assert get(sandbox, "/functions").status_code == 422
    assert get(sandbox, "/usage/mtu/daily").status_code == 422
    assert get(sandbox, "/events/volume").status_code == 422


def test_labels_have_no_pagination(sandbox):
    data = get(sandbox, "/labels").json()["data"]
    assert set(data) == {"labels"}


def test_audit_events_newest_first_and_filtered(sandbox):
    events = get(sandbox, "/audit-events", **{"pagination.count": 1000}).json()["data"]["events"]
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps, reverse=True)
    middle = stamps[len(stamps) // 2]
    later = get(sandbox, "/audit-events", startTime=middle, **{"pagination.count": 1000})
    assert all(e["timestamp"] >= middle for e in later.json()["data"]["events"])


def test_secrets_carry_the_sentinel(sandbox):
    source = get(sandbox, "/sources").json()["data"]["sources"][0]
    assert SENTINEL in source["writeKeys"][0]
    assert SENTINEL in str(source["settings"])
