"""The two private SDK hooks this project overrides (taps_common/sdk_overrides.py): each test
fails when the SDK renames the hook, changes its signature or stops calling it."""

from __future__ import annotations

import inspect
import json

from singer_sdk import Stream, Tap
from singer_sdk.plugin_base import PluginBase

from taps_common.sdk_overrides import ActivateVersionWhenWhole, SettingsCheckedInOneLine
from tests.conftest import segment_config
from tests.tap_runner import run_tap


def test_validate_config_is_still_the_hook_the_sdk_calls():
    hook = PluginBase._validate_config
    assert list(inspect.signature(hook).parameters) == ["self", "raise_errors"]
    assert "self._validate_config(" in inspect.getsource(PluginBase.__init__)
    assert list(inspect.signature(SettingsCheckedInOneLine._validate_config).parameters) == [
        "self",
        "raise_errors",
    ]


def test_activate_version_hook_is_still_the_one_sync_calls():
    hook = Stream._write_activate_version_message
    assert list(inspect.signature(hook).parameters) == ["self", "full_table_version"]
    assert "self._write_activate_version_message(" in inspect.getsource(Stream.sync)
    assert "_write_activate_version_message" in ActivateVersionWhenWhole.__dict__


def test_activate_version_comes_after_the_records_of_a_whole_stream(sandbox):
    run = run_tap("tap-segment", segment_config(emit_activate_version_messages=True))
    assert run.returncode == 0, run.stderr[-2000:]
    kinds = [
        message["type"]
        for message in map(json.loads, run.stdout.splitlines())
        if message.get("stream") == "users" and message["type"] != "SCHEMA"
    ]
    assert kinds[-1] == "ACTIVATE_VERSION", "after the records of the whole stream"
    assert kinds.count("ACTIVATE_VERSION") == 1 and "RECORD" in kinds
    full_table = [n for n, s in run.schemas.items() if not s.get("bookmark_properties")]
    activated = {
        line.split('"stream":"')[1].split('"')[0]
        for line in run.stdout.splitlines()
        if '"ACTIVATE_VERSION"' in line
    }
    assert set(full_table) - {"sync_runs"} == activated


def test_finalize_is_still_called_right_after_each_top_level_sync():
    hook = Stream.finalize_state_progress_markers
    assert list(inspect.signature(hook).parameters) == ["self", "state"]
    lines = [line.strip() for line in inspect.getsource(Tap.sync_all).splitlines()]
    assert lines[lines.index("stream.sync()") + 1] == "stream.finalize_state_progress_markers()"


def test_activate_version_goes_once_its_stream_tree_is_through(sandbox):
    """A finished stream's ACTIVATE_VERSION (and its children's) comes before the records of
    the streams read after it, so target-postgres loads it while the tap goes on."""
    run = run_tap("tap-segment", segment_config(emit_activate_version_messages=True))
    assert run.returncode == 0, run.stderr[-2000:]
    order = [
        (message["type"], message.get("stream"))
        for message in map(json.loads, run.stdout.splitlines())
        if message["type"] in ("RECORD", "ACTIVATE_VERSION")
    ]
    first_user = order.index(("RECORD", "users"))
    for stream in ("destinations", "destination_filters", "sources", "source_settings"):
        assert order.index(("ACTIVATE_VERSION", stream)) < first_user, stream
    assert order.index(("ACTIVATE_VERSION", "users")) > first_user


def test_no_activate_version_for_a_stream_gated_or_failed(make_sandbox):
    sb = make_sandbox(gated=(("/users", 403), ("/roles", 500)))
    config = segment_config(
        sb, emit_activate_version_messages=True, backoff_base_seconds=0.01, max_retries=1
    )
    run = run_tap("tap-segment", config)
    activated = {
        line.split('"stream":"')[1].split('"')[0]
        for line in run.stdout.splitlines()
        if '"ACTIVATE_VERSION"' in line
    }
    assert "users" not in activated and "roles" not in activated
    assert "sources" in activated
