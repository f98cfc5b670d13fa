"""One warehouse per environment: in a fresh copy of the repository (the files a clone has, no
.meltano/, no output/, no .env), the prod environment's evidence job run with TARGET_DUCKDB_PATH
as the only warehouse setting loads, builds the dbt marts and writes the pack from that one
file; the prod default file is never created.

meltano.yml lets dbt-duckdb's `path` and evidence-pack's `duckdb` read the loader's variable
(env_aliases), so this holds only while those lines are there. The taps read the sandbox,
through the variables a prod user sets for real APIs (TAP_*_API_URL and the fixed sandbox
credentials).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pytest

from taps_sandbox.base import (
    FIVETRAN_API_KEY,
    FIVETRAN_API_SECRET,
    SEGMENT_TOKEN,
    SandboxOptions,
)
from taps_sandbox.server import Sandbox
from tests.test_e2e_meltano import mt

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = (
    "tap-segment",
    "tap-fivetran",
    "tap-hr-roster",  # in the evidence job; without EVIDENCE_HR_ROSTER it loads nothing
    "target-duckdb",
    "dbt-duckdb",
    "evidence-pack",
)
STEP_TIMEOUT_S = 900.0
# Marts that hold rows after one run (changes need a second: the first build is the baseline).
MARTS = ("access_review", "access_history", "credentials_inventory", "data_flows")


def clone_files(dest: Path) -> Path:
    """What a clone holds: files git tracks, plus new ones it does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():  # a tracked file deleted in the work tree is not copied
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def clean(extra: Mapping[str, str]) -> dict[str, str]:
    """No Meltano, tap, target, dbt or pack variable of the caller's shell leaks in."""
    env = {
        k: v
        for k, v in mt.clean_env().items()
        if not k.startswith(("MELTANO_", "TAP_", "TARGET_", "DBT_", "EVIDENCE_"))
    }
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    return {**env, **extra}


def meltano(copy: Path, *args: str, env: Mapping[str, str]) -> str:
    """`meltano ARGS` in the copy, bounded; its stdout, or the test fails with its output."""
    result = mt.run_bounded(
        [mt.meltano_executable(), *args], timeout=STEP_TIMEOUT_S, env=clean(env), cwd=copy
    )
    if result.returncode != 0:
        pytest.fail(f"meltano {' '.join(args)} exited {result.returncode}:\n{result.tail()}")
    return result.stdout


def printed(stdout: str) -> dict[str, Any]:
    """The JSON `meltano config print` writes (after any line Meltano logs first)."""
    return json.loads(stdout[stdout.find("{") :])


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy with its own .meltano/ and the plugins the DuckDB evidence job needs."""
    try:
        mt.ensure_meltano(timeout=STEP_TIMEOUT_S)
    except mt.MeltanoError as err:
        pytest.fail(f"Meltano setup failed: {err}")
    dest = clone_files(tmp_path_factory.mktemp("clone"))
    assert not (dest / ".meltano").exists() and not list((dest / "output").rglob("*.duckdb"))
    meltano(dest, "install", *PLUGINS, env={})
    return dest


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(SandboxOptions(), port=0)
    sb.start()
    yield sb
    sb.stop()


def prod_env(sb: Sandbox, warehouse: Path) -> dict[str, str]:
    """A prod user's variables: API endpoints and credentials, and the warehouse file."""
    return {
        "TAP_SEGMENT_API_URL": sb.segment_url,
        "TAP_SEGMENT_TOKEN": SEGMENT_TOKEN,
        "TAP_FIVETRAN_API_URL": sb.fivetran_url,
        "TAP_FIVETRAN_API_KEY": FIVETRAN_API_KEY,
        "TAP_FIVETRAN_API_SECRET": FIVETRAN_API_SECRET,
        "TARGET_DUCKDB_PATH": str(warehouse),
    }


def test_config_follows_the_loaders_variable(copy: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere.duckdb"
    for environment, default in (("prod", "prod.duckdb"), ("sandbox", "sandbox.duckdb")):
        for plugin, setting in (("dbt-duckdb", "path"), ("evidence-pack", "duckdb")):
            args = (f"--environment={environment}", "config", "print", plugin)
            moved_to = printed(meltano(copy, *args, env={"TARGET_DUCKDB_PATH": str(moved)}))
            assert moved_to[setting] == str(moved), (environment, plugin)
            unset = printed(meltano(copy, *args, env={}))
            assert unset[setting] == str(copy / "output" / default), (environment, plugin)
        # The loader's own path, for comparison: the same file in each case.
        loader = (f"--environment={environment}", "config", "print", "target-duckdb")
        assert printed(meltano(copy, *loader, env={}))["path"] == str(copy / "output" / default)


def test_prod_job_builds_the_marts_in_the_one_file(
    copy: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    warehouse = tmp_path / "moved" / "moved_warehouse.duckdb"
    warehouse.parent.mkdir()
    env = prod_env(sandbox, warehouse)
    meltano(copy, "--environment=prod", "run", "control-planes-evidence", env=env)
    assert warehouse.is_file()
    assert not (copy / "output" / "prod.duckdb").exists(), "dbt or the loader used the default"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for schema, table in (("segment", "users"), ("fivetran", "users")):
            [(loaded,)] = con.execute(f"select count(*) from {schema}.{table}").fetchall()
            assert loaded > 0, (schema, table)
        for mart in MARTS:
            [(rows,)] = con.execute(f"select count(*) from evidence.{mart}").fetchall()
            assert rows > 0, mart
    meltano(copy, "--environment=prod", "invoke", "evidence-pack:report", env=env)
    manifest = json.loads(
        (copy / "output" / "evidence-pack-prod" / "manifest.json").read_text("utf-8")
    )
    assert manifest["warehouse"] == f"DuckDB file {warehouse.name}"
    assert not (copy / "output" / "prod.duckdb").exists(), "the pack opened the default file"
