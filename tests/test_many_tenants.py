"""Many tenants at once: examples/many-tenants/meltano.yml, run as a user runs it.

Two Segment workspaces and one Fivetran account, each an inherited extractor with its own
credentials variables, run as three concurrent `meltano run` processes (each bounded) into one
throw-away PostgreSQL, then the project's `evidence` job (dbt build). Checked: each run has its
own state ID holding only its tenant's bookmarks; the marts show all three tenants with exactly
the accounts the sandbox serves; after a second concurrent round against the sandbox's world
step 1, only the accounts step 1 removes show as removed (the Segment tenants share a schema and
send no ACTIVATE_VERSION, so one workspace's run never soft-deletes the other's rows).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from taps_sandbox import world as w
from taps_sandbox.base import (
    FIVETRAN_API_KEY,
    FIVETRAN_API_SECRET,
    SEGMENT_TOKEN,
    SEGMENT_TOKEN_2,
    SENTINEL,
    SandboxOptions,
)
from taps_sandbox.fivetran_api import FivetranApi
from taps_sandbox.segment_api import SegmentApi
from taps_sandbox.server import Sandbox
from tests import pg_server
from tests.expected import fivetran_items
from tests.test_e2e_meltano import mt, postgres  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "examples" / "many-tenants"
RUN_TIMEOUT_S = 600.0
INSTALL_TIMEOUT_S = 900.0
ENV = "prod"  # the example's only environment; the test supplies its variables
LOADER = "target-postgres"
TENANT_JOBS = {
    "acme-us": "tap-segment--acme-us",
    "acme-eu": "tap-segment--acme-eu",
    "fivetran-finance": "tap-fivetran--finance",
}
SCHEMAS = ("segment", "fivetran_finance", "evidence", "evidence_staging", "evidence_snapshots")


def project() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT / "meltano.yml").read_text("utf-8"))
    return loaded


def run(
    env: Mapping[str, str], *args: str, timeout: float = RUN_TIMEOUT_S, check: bool = True
) -> mt.Result:
    """`meltano ARGS` in the example project, bounded (its process group killed on timeout)."""
    try:
        result = mt.run_bounded(
            [mt.meltano_executable(), f"--environment={ENV}", *args],
            timeout=timeout,
            env=env,
            cwd=PROJECT,
        )
    except mt.MeltanoError as err:
        pytest.fail(str(err))
    assert SENTINEL not in result.stdout + result.stderr, "a secret reached Meltano's output"
    if check and result.returncode != 0:
        pytest.fail(f"meltano {' '.join(args)} exited {result.returncode}:\n{result.tail()}")
    return result


def run_at_once(env: Mapping[str, str], jobs: list[str]) -> dict[str, float]:
    """Start `meltano run JOB` for every job at the same time; job -> seconds it took."""

    def one(job: str) -> tuple[str, float, mt.Result]:
        started = time.monotonic()
        result = run(env, "run", job, check=False)
        return job, time.monotonic() - started, result

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        done = list(pool.map(one, jobs))
    failed = [f"{job} exited {r.returncode}:\n{r.tail(40)}" for job, _, r in done if r.returncode]
    if failed:
        pytest.fail("\n\n".join(failed))
    return {job: seconds for job, seconds, _ in done}


@pytest.fixture(scope="module")
def installed() -> None:
    """Pinned Meltano, and the example's plugins in examples/many-tenants/.meltano/."""
    try:
        mt.ensure_meltano(timeout=INSTALL_TIMEOUT_S)
    except mt.MeltanoError as err:
        pytest.fail(f"Meltano setup failed: {err}")
    env = base_env()
    run(env, "install", timeout=INSTALL_TIMEOUT_S)


def base_env() -> dict[str, str]:
    """A user's shell: none of this checkout's Meltano, tap, target or dbt variables leak in."""
    return {
        k: v
        for k, v in mt.clean_env().items()
        if not k.startswith(("MELTANO_", "TAP_", "TARGET_", "DBT_", "EVIDENCE_"))
    } | {"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}


@pytest.fixture
def env(
    installed: None,
    tmp_path: Path,
    postgres: pg_server.PostgresServer,  # noqa: F811
) -> dict[str, str]:
    """State, system database and dbt's files under tmp_path; PostgreSQL emptied."""
    with psycopg.connect(postgres.dsn, autocommit=True) as con:
        for schema in SCHEMAS:
            con.execute(f'drop schema if exists "{schema}" cascade')
    return base_env() | {
        "MELTANO_STATE_BACKEND_URI": f"file://{tmp_path}/state",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
        "TARGET_POSTGRES_HOST": postgres.host,
        "TARGET_POSTGRES_PORT": str(postgres.port),
        "TARGET_POSTGRES_USER": postgres.user,
        # The throw-away server trusts loopback; the target insists on some password.
        "TARGET_POSTGRES_PASSWORD": "unused-trust-auth",
        "TARGET_POSTGRES_DATABASE": postgres.database,
    }


def tenant_env(sb: Sandbox) -> dict[str, str]:
    """Each tenant's own credentials variables, as the example's comments name them."""
    return {
        "TAP_SEGMENT__ACME_US_API_URL": sb.segment_url,
        "TAP_SEGMENT__ACME_US_TOKEN": SEGMENT_TOKEN,
        "TAP_SEGMENT__ACME_EU_API_URL": sb.segment_url,
        "TAP_SEGMENT__ACME_EU_TOKEN": SEGMENT_TOKEN_2,
        "TAP_FIVETRAN__FINANCE_API_URL": sb.fivetran_url,
        "TAP_FIVETRAN__FINANCE_API_KEY": FIVETRAN_API_KEY,
        "TAP_FIVETRAN__FINANCE_API_SECRET": FIVETRAN_API_SECRET,
    }


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxOptions(), port=0) as sb:
        yield sb


def apis(sb: Sandbox) -> tuple[SegmentApi, FivetranApi]:
    seg, ft = sb.apis["segment"], sb.apis["fivetran"]
    assert isinstance(seg, SegmentApi) and isinstance(ft, FivetranApi)
    return seg, ft


def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as con:
        return [tuple(r) for r in con.execute(sql).fetchall()]


# --------------------------------------------------------------------------- what is served


def served_accounts(sb: Sandbox) -> dict[tuple[str, str], set[str]]:
    """(system, tenant_id) -> the accounts the sandbox serves each tenant's credentials: users
    and (Segment) pending invites, by email."""
    seg, ft = apis(sb)
    out: dict[tuple[str, str], set[str]] = {}
    for index, token in ((1, SEGMENT_TOKEN), (2, SEGMENT_TOKEN_2)):
        users = seg.get("/users", token=token, **{"pagination.count": "1000"})["data"]["users"]
        invites = seg.get("/invites", token=token, **{"pagination.count": "1000"})["data"]
        out[("segment", seg.workspace_id(index))] = {u["id"] for u in users} | {
            i if isinstance(i, str) else i["email"] for i in invites["invites"]
        }
    account = ft.account_info()["account_id"]
    out[("fivetran", account)] = {u["id"] for u in fivetran_items(ft, "/v1/users")}
    return out


def accounts(dsn: str, removed: bool) -> dict[tuple[str, str], set[str]]:
    """(system, tenant_id) -> accounts in evidence.access_review, removed ones or the others."""
    out: dict[tuple[str, str], set[str]] = {}
    op = "=" if removed else "<>"
    for system, tenant, account in rows(
        dsn,
        "select system, tenant_id, account_id from evidence.access_review "
        f"where status {op} 'removed'",
    ):
        out.setdefault((system, tenant), set()).add(account)
    return out


# --------------------------------------------------------------------------- state


def state_ids(env: Mapping[str, str]) -> set[str]:
    listed = run(env, "state", "list").stdout
    return {line.strip() for line in listed.splitlines() if line.strip().startswith(f"{ENV}:")}


def state_of(env: Mapping[str, str], state_id: str) -> dict[str, Any]:
    out = run(env, "state", "get", state_id).stdout
    loaded: dict[str, Any] = json.loads(out[out.find("{") :])
    return loaded


# --------------------------------------------------------------------------- the test


def test_example_tenants_are_inherited_with_their_own_jobs() -> None:
    """The file is what the README describes: three inherited tenants, a job and schedule each."""
    plugins = {p["name"]: p for p in project()["plugins"]["extractors"]}
    for tenant in TENANT_JOBS.values():
        assert plugins[tenant]["inherit_from"] == tenant.split("--")[0]
    jobs = {j["name"]: j["tasks"] for j in project()["jobs"]}
    for job, tenant in TENANT_JOBS.items():
        assert jobs[job] == [f"{tenant} {LOADER}"]
    scheduled = {s["job"] for s in project()["schedules"]}
    assert set(TENANT_JOBS) | {"evidence"} <= scheduled
    # Tenants sharing a load schema must not send ACTIVATE_VERSION (one would soft-delete
    # the other's rows); only a tenant alone in its schema may.
    schema_of = {
        name: p.get("load_schema") or plugins[p["inherit_from"]]["load_schema"]
        for name, p in plugins.items()
        if "inherit_from" in p
    }
    for name, schema in schema_of.items():
        shared = [n for n, s in schema_of.items() if s == schema and n != name]
        emits = plugins[name].get("config", {}).get("emit_activate_version_messages")
        if shared:
            assert emits is False, f"{name} shares schema {schema} with {shared}"


def test_three_tenants_at_once(env: dict[str, str], sandbox: Sandbox) -> None:
    dsn = (
        f"host={env['TARGET_POSTGRES_HOST']} port={env['TARGET_POSTGRES_PORT']} "
        f"user={env['TARGET_POSTGRES_USER']} dbname={env['TARGET_POSTGRES_DATABASE']}"
    )
    round_env = env | tenant_env(sandbox)
    timings: dict[str, float] = {}

    # As the example says: first-load (one tenant after the other) creates the system database
    # and the shared Segment tables; only then do the tenants run at once.
    started = time.monotonic()
    run(round_env, "run", "first-load")
    timings["first-load"] = time.monotonic() - started
    for job, seconds in run_at_once(round_env, list(TENANT_JOBS)).items():
        timings[f"round 1 {job}"] = seconds

    # Each run has its own state ID, holding only its own tenant's bookmarks.
    expected_ids = {f"{ENV}:{tap}-to-{LOADER}" for tap in TENANT_JOBS.values()}
    assert state_ids(env) == expected_ids
    seg, ft = apis(sandbox)
    ws1, ws2 = seg.workspace_id(1), seg.workspace_id(2)
    for tap in TENANT_JOBS.values():
        text = json.dumps(state_of(env, f"{ENV}:{tap}-to-{LOADER}"))
        assert '"bookmarks"' in text, tap
        if tap == "tap-segment--acme-us":
            assert ws1 in text and ws2 not in text, tap
        elif tap == "tap-segment--acme-eu":
            assert ws2 in text and ws1 not in text, tap
        else:
            assert ws1 not in text and ws2 not in text, tap

    started = time.monotonic()
    run(round_env, "run", "evidence")
    timings["evidence 1"] = time.monotonic() - started
    served = served_accounts(sandbox)
    assert accounts(dsn, removed=False) == served, "the marts should show every tenant's users"
    assert accounts(dsn, removed=True) == {}
    tenants = rows(
        dsn, "select system, count(distinct tenant_id) from evidence.access_review group by system"
    )
    assert dict(tenants) == {"segment": 2, "fivetran": 1}

    # Second round: world step 1 removes one user of workspace 1 and one Fivetran user.
    with Sandbox(SandboxOptions(world_step=1), port=0) as step1:
        for job, seconds in run_at_once(env | tenant_env(step1), list(TENANT_JOBS)).items():
            timings[f"round 2 {job}"] = seconds
        served_after = served_accounts(step1)
    started = time.monotonic()
    run(env, "run", "evidence")
    timings["evidence 2"] = time.monotonic() - started

    account = ft.account_info()["account_id"]
    removed = {
        ("segment", ws1): {f"users-1-{w.SEGMENT_REMOVED_USER}"},
        ("fivetran", account): {ft.expected_ids("users")[w.FIVETRAN_REMOVED_USER]},
    }
    assert accounts(dsn, removed=True) == removed, "only what step 1 removes is removed"
    assert accounts(dsn, removed=False) == served_after
    # The shared Segment tables hold no soft delete at all: no ACTIVATE_VERSION reached them.
    (deleted,) = rows(dsn, "select count(*) from segment.users where _sdc_deleted_at is not null")
    assert deleted == (0,)
    print("timings (s):", json.dumps({k: round(v, 1) for k, v in timings.items()}))
