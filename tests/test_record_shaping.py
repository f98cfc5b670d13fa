"""The record path's shaping rules on real stream objects and their generated schemas."""

from __future__ import annotations

from tap_segment.tap import TapSegment
from taps_sandbox.base import SEGMENT_TOKEN


def segment_stream(name: str):
    tap = TapSegment(config={"token": SEGMENT_TOKEN}, validate_config=True)
    return tap.streams[name]


def test_an_empty_timestamp_becomes_null_and_others_stay():
    stream = segment_stream("destination_filters")
    assert "createdAt" in stream.date_time_fields
    row = {"id": "f1", "createdAt": "", "updatedAt": "2026-01-01T00:00:00Z", "title": ""}
    out = stream.post_process(row, {"workspaceId": "ws"})
    assert out["createdAt"] is None
    assert out["updatedAt"] == "2026-01-01T00:00:00Z"
    assert out["title"] == "", "only date-time fields: an empty title is a value"


def test_secrets_in_settings_are_redacted_and_writekeys_masked():
    stream = segment_stream("sources")
    row = {"id": "s1", "writeKeys": ["wk-1"], "settings": {"apiKey": "k", "region": "us"}}
    out = stream.post_process(row, {"workspaceId": "ws"})
    assert out["writeKeys"] == ["**REDACTED**"]
    assert out["settings"] == {"apiKey": "**REDACTED**", "region": "us"}
