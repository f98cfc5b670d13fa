"""Settings as a Meltano user sets them: environment variables (strings) for every numeric
setting, through the real meltano.yml, against the sandbox. Meltano 4.4 turns a `kind: decimal`
value from the environment into a Decimal it cannot write to JSON (the run dies in Meltano);
meltano.yml therefore declares fractional settings as strings, which the taps read as numbers,
and a failed stream still lands the run manifest."""

from __future__ import annotations

import duckdb
import pytest

from taps_sandbox.base import SandboxOptions
from taps_sandbox.server import Sandbox
from tests.test_e2e_meltano import meltano_installed, mt  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e

NUMERIC_ENV = {
    "TAP_SEGMENT_BACKOFF_BASE_SECONDS": "0.01",
    "TAP_SEGMENT_MAX_REQUESTS_PER_SECOND": "45.5",
    "TAP_SEGMENT_AUDIT_WINDOW_HOURS": "12.5",
    "TAP_SEGMENT_AUDIT_LOOKBACK_MINUTES": "10",
    "TAP_SEGMENT_REQUEST_TIMEOUT": "30",
    "TAP_SEGMENT_MAX_RETRY_WAIT_SECONDS": "60",
    "TAP_SEGMENT_PROGRESS_INTERVAL_SECONDS": "5",
    "TAP_SEGMENT_MAX_RETRIES": "1",
}


@pytest.mark.usefixtures("meltano_installed")
def test_numeric_settings_from_the_environment_and_a_failed_stream(tmp_path):
    with Sandbox(SandboxOptions(gated=(("/roles", 500),))) as sb:
        db = tmp_path / "run.duckdb"
        env = {
            **NUMERIC_ENV,
            "SANDBOX_PORT": str(sb.port),
            "TARGET_DUCKDB_PATH": str(db),
            "MELTANO_STATE_BACKEND_URI": f"file://{tmp_path}/state",
        }
        result = mt.meltano(
            "--environment=sandbox", "run", "tap-segment", "target-duckdb", env=env, check=False
        )
    text = result.stderr + result.stdout
    assert "Decimal" not in text and "not JSON serializable" not in text
    assert result.returncode == 1, "the failed stream makes the run fail"
    assert "Stream 'roles' failed" in text
    with duckdb.connect(str(db), read_only=True) as con:
        [(status, streams)] = con.execute(
            "select status, streams from segment.sync_runs"
        ).fetchall()
        assert status == "failed"
        assert '"roles"' in streams and '"failed"' in streams
        assert con.execute("select count(*) from segment.users").fetchone()[0] > 0
