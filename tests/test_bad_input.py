"""Bad configuration and rejected credentials: one clear line, non-zero exit, no secret shown."""

from __future__ import annotations

import json
import subprocess

import pytest

from taps_sandbox.base import SENTINEL
from tests.conftest import fivetran_config, segment_config
from tests.tap_runner import BIN, run_tap

BAD_SEGMENT = [
    ({"token": None}, "setting 'token' is missing"),
    ({"token": "  "}, "setting 'token' is empty"),
    ({"region": "mars", "api_url": None}, "setting 'region' must be 'us' or 'eu'"),
    ({"page_size": 0}, "setting 'page_size'"),
    ({"page_size": 1001}, "setting 'page_size'"),
    ({"max_concurrency": 0}, "setting 'max_concurrency'"),
    ({"api_url": "http://api.example.com"}, "setting 'api_url' uses plain http://"),
    ({"start_date": "last tuesday"}, "setting 'start_date' is not a date"),
    ({"workspaces": [{"region": "eu"}]}, "setting 'workspaces[0].token' is missing"),
]
BAD_FIVETRAN = [
    ({"api_key": None}, "setting 'api_key' is missing"),
    ({"api_secret": ""}, "setting 'api_secret' is empty"),
    ({"api_url": "http://10.1.2.3:8080"}, "setting 'api_url' uses plain http://"),
    ({"page_size": 5000}, "setting 'page_size'"),
    ({"max_concurrency": -1}, "setting 'max_concurrency'"),
    ({"start_date": "2026-13-45"}, "setting 'start_date' is not a date"),
]


def _config(base: dict, change: dict) -> dict:
    merged = {**base, **change}
    return {k: v for k, v in merged.items() if v is not None}


@pytest.mark.parametrize(("change", "expected"), BAD_SEGMENT)
def test_segment_bad_config_is_one_line_before_any_request(sandbox, change, expected):
    before = len(sandbox.requests())
    run = run_tap("tap-segment", _config(segment_config(), change))
    assert run.returncode != 0
    assert expected in run.stderr
    assert SENTINEL not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert len(sandbox.requests()) == before, "no request may be made with a bad config"


@pytest.mark.parametrize(("change", "expected"), BAD_FIVETRAN)
def test_fivetran_bad_config_is_one_line_before_any_request(sandbox, change, expected):
    before = len(sandbox.requests())
    run = run_tap("tap-fivetran", _config(fivetran_config(), change))
    assert run.returncode != 0
    assert expected in run.stderr
    assert SENTINEL not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert len(sandbox.requests()) == before


def test_segment_rejected_token_names_setting_and_region(sandbox):
    run = run_tap("tap-segment", segment_config(token=f"{SENTINEL}-wrong-token"))
    assert run.returncode == 1
    assert "Segment rejected the token in setting 'token' (HTTP 401)" in run.stderr
    assert "region" in run.stderr
    assert SENTINEL not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def test_fivetran_rejected_key_pair_names_both_settings(sandbox):
    run = run_tap("tap-fivetran", fivetran_config(api_secret=f"{SENTINEL}-wrong-secret"))
    assert run.returncode == 1
    assert "Fivetran rejected the API key pair (401)" in run.stderr
    assert "api_key" in run.stderr and "api_secret" in run.stderr
    assert SENTINEL not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("tap", ["tap-segment", "tap-fivetran"])
def test_about_lists_every_setting_with_a_description(tap):
    about = json.loads(
        subprocess.run(
            [str(BIN / tap), "--about", "--format=json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    props = about["settings"]["properties"]
    own = {
        k: v
        for k, v in props.items()
        if not k.startswith(("stream_map", "flattening", "faker", "batch"))
    }
    assert len(own) >= 12
    for name, spec in own.items():
        assert spec.get("description"), f"{tap} setting {name} has no description"
    secrets = {"tap-segment": ["token"], "tap-fivetran": ["api_key", "api_secret"]}[tap]
    for name in secrets:
        assert props[name].get("secret") is True
    markdown = subprocess.run(
        [str(BIN / tap), "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    for name in own:
        assert f"| {name} |" in markdown


@pytest.mark.parametrize(
    ("tap", "config"),
    [("tap-segment", segment_config), ("tap-fivetran", fivetran_config)],
)
def test_credential_check_makes_one_request_per_api(sandbox, tap, config):
    sandbox.reset_log()
    run = run_tap(tap, config(), args=("--test",))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "credentials ok" in run.stdout
    assert len(sandbox.requests()) == 1
    assert SENTINEL not in run.stdout + run.stderr
