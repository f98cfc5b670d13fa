"""What a newcomer types: ``--test`` with bad input, settings from the environment, ``--about``
as Markdown, and a schema config that breaks its promise. Real tap processes, sandbox on
127.0.0.1."""

from __future__ import annotations

import subprocess

from taps_sandbox.base import FIVETRAN_API_KEY, FIVETRAN_API_SECRET, SEGMENT_TOKEN, SENTINEL
from tests.conftest import fivetran_config, segment_config
from tests.tap_runner import BIN, run_tap


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line]


def test_test_flag_with_a_rejected_token_is_one_line(sandbox):
    sandbox.reset_log()
    run = run_tap("tap-segment", segment_config(token=f"{SENTINEL}-wrong"), args=("--test",))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    [line] = error_lines(run.stderr)
    assert "rejected the token in setting 'token'" in line
    assert SENTINEL not in run.stderr + run.stdout
    assert len(sandbox.requests("segment")) == 1, "--test makes one request"


def test_test_flag_with_a_rejected_key_pair_is_one_line(sandbox):
    config = fivetran_config(api_secret=f"{SENTINEL}-wrong")
    run = run_tap("tap-fivetran", config, args=("--test",))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    [line] = error_lines(run.stderr)
    assert "rejected the API key pair" in line


def test_test_flag_with_an_empty_config_names_each_setting():
    run = run_tap("tap-fivetran", {}, args=("--test",))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    lines = error_lines(run.stderr)
    assert len(lines) == 2
    assert "'api_key' is missing" in lines[0] and "'api_secret' is missing" in lines[1]
    assert "--config ENV" in lines[0], "says how the environment variable is read"


def test_settings_from_the_environment_work_as_the_error_says(sandbox):
    env = {
        "TAP_FIVETRAN_API_KEY": FIVETRAN_API_KEY,
        "TAP_FIVETRAN_API_SECRET": FIVETRAN_API_SECRET,
        "TAP_FIVETRAN_API_URL": sandbox.fivetran_url,
    }
    proc = subprocess.run(
        [str(BIN / "tap-fivetran"), "--config", "ENV", "--test"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **env},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "credentials ok" in proc.stdout
    assert SENTINEL not in proc.stdout + proc.stderr


def test_about_markdown_renders_as_markdown():
    for tap in ("tap-segment", "tap-fivetran"):
        text = subprocess.run(
            [str(BIN / tap), "--about", "--format=markdown"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        lines = text.splitlines()
        assert lines[0] == f"# `{tap}`"
        assert not [line for line in lines if line.startswith("    ")], "indented = code block"
        assert "## Settings" in lines


def test_a_schema_config_holding_a_string_ends_only_its_streams(make_sandbox):
    sb = make_sandbox(broken=((r"/schemas$", "scalar_in_map"),))
    run = run_tap("tap-fivetran", fivetran_config(sb))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "AttributeError" not in run.stderr
    failed = [
        line for line in error_lines(run.stderr) if "Stream 'connection_schemas' failed" in line
    ]
    assert len(failed) == 1
    assert "is str, not an object" in failed[0] and "/schemas, HTTP 200" in failed[0]
    assert run.records["connections"] and run.records["users"], "other streams still sync"
    [manifest] = run.records["sync_runs"]
    status = {o["stream"]: o["status"] for o in manifest["streams"]}
    assert status["connection_schemas"] == status["connection_tables"] == "failed"
    assert status["connections"] == "complete"


def test_tokens_never_show_in_a_failing_run(make_sandbox):
    sb = make_sandbox(gated=(("/users", 500),))
    run = run_tap("tap-segment", segment_config(sb, backoff_base_seconds=0.01, max_retries=1))
    assert run.returncode == 1
    assert SEGMENT_TOKEN not in run.stdout + run.stderr


def test_test_flag_with_good_credentials_makes_one_request_and_syncs_nothing(sandbox):
    sandbox.reset_log()
    run = run_tap("tap-segment", segment_config(), args=("--test",))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "credentials ok" in run.stdout
    assert not run.records and not run.states
    assert len(sandbox.requests("segment")) == 1
