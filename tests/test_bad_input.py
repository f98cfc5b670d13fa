"""Bad configuration and rejected credentials: one clear line, non-zero exit, no secret shown."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests

from taps_sandbox.base import SENTINEL
from tests.conftest import fivetran_config, segment_config
from tests.tap_runner import BIN, run_tap

# Every case points at the live shared sandbox: a tap that skipped the check would reach it.
# Plain http:// to a non-loopback host reaches it through an HTTP proxy (the environment's
# HTTP_PROXY, which requests honours), checked by PROXIED_URLS_REACH_THE_SANDBOX below.
PROXIED = "proxied"  # placeholder for the proxied non-loopback URL of the API under test
BAD_SEGMENT = [
    ({"token": None}, "setting 'token' is missing"),
    ({"token": "  "}, "setting 'token' is empty"),
    ({"region": "mars"}, "setting 'region' must be 'us' or 'eu'"),
    ({"page_size": 0}, "setting 'page_size'"),
    ({"page_size": 1001}, "setting 'page_size'"),
    ({"max_concurrency": 0}, "setting 'max_concurrency'"),
    ({"api_url": PROXIED}, "setting 'api_url' uses plain http://"),
    ({"start_date": "last tuesday"}, "setting 'start_date' is not a date"),
    ({"workspaces": [{"region": "eu"}]}, "setting 'workspaces[0].token' is missing"),
]
BAD_FIVETRAN = [
    ({"api_key": None}, "setting 'api_key' is missing"),
    ({"api_secret": ""}, "setting 'api_secret' is empty"),
    ({"api_url": PROXIED}, "setting 'api_url' uses plain http://"),
    ({"page_size": 5000}, "setting 'page_size'"),
    ({"max_concurrency": -1}, "setting 'max_concurrency'"),
    ({"start_date": "2026-13-45"}, "setting 'start_date' is not a date"),
]
NON_LOOPBACK = {
    "segment": "http://api.example.com/segment",
    "fivetran": "http://10.1.2.3:8080/fivetran",
}
SDK_TRAILER = "Config validation failed"  # the SDK's own closing line, not a problem line


def proxy_env(sandbox) -> dict[str, str]:
    """Send plain-http requests to the sandbox whatever host they name (requests reads these)."""
    proxy = f"http://127.0.0.1:{sandbox.port}"
    return {"HTTP_PROXY": proxy, "http_proxy": proxy, "NO_PROXY": "", "no_proxy": ""}


@pytest.mark.parametrize("api", sorted(NON_LOOPBACK))
def test_proxied_urls_reach_the_sandbox(sandbox, api, monkeypatch):
    """The premise of the http:// cases: that URL, through the proxy, is the live sandbox."""
    for key, value in proxy_env(sandbox).items():
        monkeypatch.setenv(key, value)
    before = len(sandbox.requests(api))
    requests.get(NON_LOOPBACK[api] + "/", timeout=10)
    assert len(sandbox.requests(api)) == before + 1


def _config(base: dict, change: dict, api: str) -> dict:
    merged = {**base, **change}
    if merged.get("api_url") == PROXIED:
        merged["api_url"] = NON_LOOPBACK[api]
    return {k: v for k, v in merged.items() if v is not None}


def problem_lines(run) -> list[str]:
    """Lines that report a problem: one per problem, whatever else the SDK logs."""
    lines = (run.stdout + "\n" + run.stderr).splitlines()
    return [
        line
        for line in lines
        if ("setting '" in line or "ERROR" in line or "CRITICAL" in line)
        and not line.rstrip().endswith(SDK_TRAILER)
    ]


def _check_bad_config(sandbox, tap: str, api: str, config: dict, expected: str, args) -> None:
    before = len(sandbox.requests())
    run = run_tap(tap, config, args=args, env=proxy_env(sandbox))
    assert len(sandbox.requests()) == before, "no request may be made with a bad config"
    assert run.returncode != 0
    lines = problem_lines(run)
    assert len(lines) == 1, lines
    assert expected in lines[0], lines
    assert SENTINEL not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert not [line for line in run.stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("args", [(), ("--test",)], ids=["sync", "test"])
@pytest.mark.parametrize(("change", "expected"), BAD_SEGMENT)
def test_segment_bad_config_is_one_line_before_any_request(sandbox, change, expected, args):
    config = _config(segment_config(), change, "segment")
    _check_bad_config(sandbox, "tap-segment", "segment", config, expected, args)


@pytest.mark.parametrize("args", [(), ("--test",)], ids=["sync", "test"])
@pytest.mark.parametrize(("change", "expected"), BAD_FIVETRAN)
def test_fivetran_bad_config_is_one_line_before_any_request(sandbox, change, expected, args):
    config = _config(fivetran_config(), change, "fivetran")
    _check_bad_config(sandbox, "tap-fivetran", "fivetran", config, expected, args)


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
