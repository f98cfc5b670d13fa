"""End to end: evidence over time. Run, change the sandbox's world, run again, read the marts.

Each run is the real Meltano job (both taps -> warehouse -> dbt snapshots and build) against a
fresh sandbox serving the world of a given step (taps_sandbox.world). The expected changes are
worked out from what the sandbox serves at step 0 and step 1, not from the models, and the
marts must show exactly those: access_changes lists nothing else, access as of the first run's
time is the old state, removed objects show as removed (DuckDB: from the run manifest;
PostgreSQL: ACTIVATE_VERSION soft deletes too), a gated or failed stream never turns its rows
into removals, and no secret value reaches any table. The access review goes along
(tests/access_review_flow.py): an HR roster before run 1, a review recorded on run 1's pack,
then leavers, revokes followed up, privacy requests kept and grants checked after run 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from taps_sandbox import world as w
from taps_sandbox.base import SENTINEL, SandboxOptions
from taps_sandbox.server import Sandbox
from tests import pg_server
from tests.access_review_flow import add_roster, check_access_review, record_review
from tests.expected import fivetran_items
from tests.test_e2e_meltano import meltano_installed, mt, postgres  # noqa: F401 (fixtures)

RUN_TIMEOUT_S = 600.0
Row = tuple[Any, ...]


# --------------------------------------------------------------------------- what changed


def _segment_resources(user: dict[str, Any]) -> dict[str, str]:
    """resource -> roles on it, for one Segment user as the API serves it."""
    roles: dict[str, set[str]] = {}
    for perm in user.get("permissions") or []:
        for res in perm.get("resources") or []:
            key = f"{(res.get('type') or 'resource').lower()}:{res.get('id') or ''}"
            roles.setdefault(key, set()).add(perm["roleName"])
    return {k: ", ".join(sorted(v)) for k, v in roles.items()}


def _serve(step: int) -> Sandbox:
    """A sandbox (not started) whose world is at ``step``."""
    return Sandbox(SandboxOptions(world_step=step), port=0)


def expected_access_changes() -> set[Row]:
    """(system, tenant, account, change, resource, before, after) that step 1 makes."""
    before, after = _serve(0), _serve(1)
    seg0, seg1 = before.apis["segment"], after.apis["segment"]
    ft0 = before.apis["fivetran"]
    ws = seg0.workspace_id(1)
    acct = ft0.account_info()["account_id"]
    users0 = {
        u["id"]: u for u in seg0.get("/users", **{"pagination.count": "1000"})["data"]["users"]
    }
    users1 = {
        u["id"]: u for u in seg1.get("/users", **{"pagination.count": "1000"})["data"]["users"]
    }
    gone = set(users0) - set(users1)
    new = set(users1) - set(users0)
    assert gone == {f"users-1-{w.SEGMENT_REMOVED_USER}"} and new == {w.SEGMENT_NEW_USER_ID}
    rows: set[Row] = set()
    for uid in gone:
        roles = ", ".join(sorted({p["roleName"] for p in users0[uid]["permissions"]}))
        rows.add(("segment", ws, uid, "removed", f"workspace:{ws}", roles, None))
    rows.add(
        (
            "segment",
            ws,
            w.SEGMENT_NEW_USER_ID,
            "granted",
            f"workspace:{ws}",
            None,
            "Workspace Owner",
        )
    )
    for uid in set(users0) & set(users1):
        r0, r1 = _segment_resources(users0[uid]), _segment_resources(users1[uid])
        for res in set(r0) | set(r1):
            if r0.get(res) != r1.get(res):
                change = (
                    "granted" if res not in r0 else "revoked" if res not in r1 else "role_changed"
                )
                rows.add(("segment", ws, uid, change, res, r0.get(res), r1.get(res)))
    assert any(r[2] == f"users-1-{w.SEGMENT_ROLE_CHANGED_USER}" for r in rows), rows
    rows.add(("segment", ws, w.SEGMENT_NEW_INVITE, "invited", f"workspace:{ws}", None, "invited"))
    ft_users = {u["id"]: u for u in (ft0.user(i) for i in range(ft0.counts["users"]))}
    ids = ft0.expected_ids("users")
    removed = ids[w.FIVETRAN_REMOVED_USER]
    changed = ids[w.FIVETRAN_ROLE_CHANGED_USER]
    rows |= {
        ("fivetran", acct, removed, "removed", f"account:{acct}", ft_users[removed]["role"], None),
        (
            "fivetran",
            acct,
            changed,
            "role_changed",
            f"account:{acct}",
            ft_users[changed]["role"],
            w.FIVETRAN_NEW_ROLE,
        ),
        (
            "fivetran",
            acct,
            w.FIVETRAN_NEW_USER_ID,
            "granted",
            f"account:{acct}",
            None,
            "Account Reviewer",
        ),
        (
            "fivetran",
            acct,
            w.FIVETRAN_NEW_INVITED_ID,
            "invited",
            f"account:{acct}",
            None,
            "Account Reviewer",
        ),
    }
    rows |= fivetran_membership_changes(ft0, after.apis["fivetran"], acct)
    assert any(r[3] == "role_changed" and r[4].startswith("group:") for r in rows), rows
    return rows


def fivetran_membership_changes(ft0: Any, ft1: Any, acct: str) -> set[Row]:
    """Group and connection memberships of users served at both steps, on resources that
    still exist: granted, revoked or role_changed (a membership that goes with its user or
    its resource is that object's removal, not a change of its own)."""
    users0 = {u["id"] for u in fivetran_items(ft0, "/v1/users")}
    users1 = {u["id"] for u in fivetran_items(ft1, "/v1/users")}
    resources1 = {
        "group": {g["id"] for g in fivetran_items(ft1, "/v1/groups")},
        "connection": {c["id"] for c in fivetran_items(ft1, "/v1/connections")},
    }
    rows: set[Row] = set()
    for uid in sorted(users0 & users1):
        for kind, path in (("group", "groups"), ("connection", "connections")):
            r0 = {m["id"]: m["role"] for m in fivetran_items(ft0, f"/v1/users/{uid}/{path}")}
            r1 = {m["id"]: m["role"] for m in fivetran_items(ft1, f"/v1/users/{uid}/{path}")}
            for rid in (set(r0) | set(r1)) & resources1[kind]:
                if r0.get(rid) != r1.get(rid):
                    change = (
                        "granted"
                        if rid not in r0
                        else "revoked"
                        if rid not in r1
                        else "role_changed"
                    )
                    rows.add(
                        ("fivetran", acct, uid, change, f"{kind}:{rid}", r0.get(rid), r1.get(rid))
                    )
    return rows


def expected_config_changes() -> set[Row]:
    """(system, object_type, object_id, change, field, before, after) that step 1 makes."""
    ft = _serve(0).apis["fivetran"]
    conns = ft.expected_ids("connections")
    table_conn = conns[w.FIVETRAN_TABLE_CONNECTION]
    found = w.first_disabled_table(ft.get(f"/v1/connections/{table_conn}/schemas")["data"])
    assert found, "the sandbox should have a disabled table to enable"
    schema, table = found
    return {
        (
            "fivetran",
            "connection",
            conns[w.FIVETRAN_DELETED_CONNECTION],
            "removed",
            None,
            None,
            None,
        ),
        (
            "fivetran",
            "table",
            f"{table_conn}:{schema}.{table}",
            "changed",
            "enabled",
            "false",
            "true",
        ),
    }


def removed_objects() -> dict[str, set[str]]:
    """Objects step 1 removes: credential ids as credentials_inventory names them, flows."""
    sb = _serve(0)
    ft, seg = sb.apis["fivetran"], sb.apis["segment"]
    key = ft.expected_ids("system_keys")[w.FIVETRAN_REVOKED_SYSTEM_KEY]
    conn = ft.expected_ids("connections")[w.FIVETRAN_DELETED_CONNECTION]
    cred = f"credentials-1-{w.SEGMENT_REVOKED_CREDENTIAL}"
    assert any(c["id"] == cred for c in seg.get("/credentials")["data"]["credentials"])
    return {
        "credentials": {f"system_key:{key}", f"credential:{cred}"},
        "flows": {conn},
        "accounts": {
            f"users-1-{w.SEGMENT_REMOVED_USER}",
            ft.expected_ids("users")[w.FIVETRAN_REMOVED_USER],
        },
    }


# --------------------------------------------------------------------------- warehouses


class Warehouse:
    """Read-only queries against the DuckDB file or the PostgreSQL database, same SQL."""

    def __init__(self, duckdb_path: Path | None = None, dsn: str | None = None) -> None:
        self.duckdb_path, self.dsn = duckdb_path, dsn

    def rows(self, sql: str) -> list[Row]:
        """All rows of one query."""
        if self.duckdb_path is not None:
            with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
                return [tuple(r) for r in con.execute(sql).fetchall()]
        with psycopg.connect(self.dsn, autocommit=True) as con:
            return [tuple(r) for r in con.execute(sql).fetchall()]

    def tables(self) -> list[tuple[str, str]]:
        """Every base table and view in every schema but the catalogs."""
        return [
            (s, t)
            for s, t in self.rows(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema not in ('information_schema', 'pg_catalog')"
            )
        ]

    def text_of(self, schema: str, table: str) -> str:
        """Every value of a table as text, one string (for the secret scan)."""
        cols = [
            c
            for (c,) in self.rows(
                "select column_name from information_schema.columns "
                f"where table_schema = '{schema}' and table_name = '{table}'"
            )
        ]
        if not cols:
            return ""
        exprs = ", ".join(f'cast("{c}" as text)' for c in cols)
        return json.dumps(self.rows(f'select {exprs} from "{schema}"."{table}"'), default=str)


def access_changes(wh: Warehouse) -> set[Row]:
    return set(
        wh.rows(
            "select system, tenant_id, account_id, change, resource, before, after "
            "from evidence.access_changes"
        )
    )


def config_changes(wh: Warehouse) -> set[Row]:
    return set(
        wh.rows(
            "select system, object_type, object_id, change, field, before, after "
            "from evidence.config_changes"
        )
    )


def review(wh: Warehouse, table: str = "access_review") -> dict[str, tuple[str, str | None]]:
    """access_key -> (status, roles)."""
    return {
        k: (s, r) for k, s, r in wh.rows(f"select access_key, status, roles from evidence.{table}")
    }


def removed_accounts(wh: Warehouse) -> set[str]:
    return {
        a
        for (a,) in wh.rows(
            "select account_id from evidence.access_review where status = 'removed'"
        )
    }


def assert_no_secret(wh: Warehouse) -> None:
    """The sandbox puts SENTINEL-SECRET in every secret: it must be in no table at all."""
    tables = wh.tables()
    assert any(s == "evidence" for s, _ in tables), "no evidence marts to scan"
    leaks = [f"{s}.{t}" for s, t in tables if SENTINEL in wh.text_of(s, t)]
    assert not leaks, f"secret sentinel found in {leaks}"


def latest_stream_status(wh: Warehouse, tap: str, stream: str) -> str | None:
    rows = wh.rows(
        "select status from evidence_staging.stg_sync_run_streams "
        f"where tap = '{tap}' and stream = '{stream}' order by started_at desc limit 1"
    )
    return rows[0][0] if rows else None


# --------------------------------------------------------------------------- runs


@pytest.fixture
def env(tmp_path: Path, meltano_installed: None) -> dict[str, str]:  # noqa: F811
    """Meltano environment isolated under tmp_path (state, system db, DuckDB file)."""
    path = str(tmp_path / "warehouse.duckdb")
    return {
        "MELTANO_STATE_BACKEND_URI": f"file://{tmp_path}/state",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "TARGET_DUCKDB_PATH": path,
        # dbt's compiled files and logs per test, not in the shared transform/ folder.
        "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
    }


def run_job(env: dict[str, str], options: SandboxOptions, *args: str, check: bool = True) -> Any:
    """One Meltano run against a fresh sandbox with ``options``; returns Meltano's result."""
    with Sandbox(options, port=0) as sandbox:
        result = mt.meltano(
            "--environment=sandbox",
            "run",
            *args,
            env={**env, "SANDBOX_PORT": str(sandbox.port)},
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    if check and result.returncode != 0:
        pytest.fail(f"meltano run {' '.join(args)} exited {result.returncode}:\n{result.tail()}")
    assert SENTINEL not in result.stdout + result.stderr, "a secret reached Meltano's output"
    return result


def dbt(env: dict[str, str], plugin: str, *args: str, extra: dict[str, str] | None = None) -> None:
    """``meltano invoke <dbt plugin> ARGS`` (no extraction)."""
    result = mt.meltano(
        "--environment=sandbox",
        "invoke",
        plugin,
        *args,
        env={**env, **(extra or {})},
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.tail()}"


def check_second_run(wh: Warehouse, first: dict[str, tuple[str, str | None]]) -> None:
    """After step 1: exactly the changes made, removed objects removed, nothing else moved."""
    assert access_changes(wh) == expected_access_changes()
    assert config_changes(wh) == expected_config_changes()
    gone = removed_objects()
    assert removed_accounts(wh) == gone["accounts"]
    creds = {
        c
        for (c,) in wh.rows(
            "select credential_id from evidence.credentials_inventory where status = 'removed'"
        )
    }
    assert creds == gone["credentials"]
    flows = {
        f for (f,) in wh.rows("select from_id from evidence.data_flows where status = 'removed'")
    }
    assert flows == gone["flows"]
    (seen,) = wh.rows("select count(distinct seen_at) from evidence.access_changes")[0]
    assert seen == 1, "every change of one run shares the build's seen_at"
    now = review(wh)
    kept = {
        k: v for k, v in first.items() if not any(k.endswith("|" + a) for a in gone["accounts"])
    }
    moved = {k for k, v in kept.items() if now.get(k) != v}
    changed = {r[2] for r in expected_access_changes()}
    assert {k.rsplit("|", 1)[1] for k in moved} <= changed, f"accounts changed unasked: {moved}"


# --------------------------------------------------------------------------- tests


def test_world_step_changes_only_what_it_names() -> None:
    """The sandbox's step 1 adds, removes and patches exactly the objects world.py names."""
    before, after = _serve(0), _serve(1)
    for api, path, key in (
        ("segment", "/users", "users"),
        ("segment", "/invites", "invites"),
        ("segment", "/credentials", "credentials"),
        ("segment", "/regulations", "regulations"),
        ("segment", "/groups/user_groups-1-1/users", "users"),
        ("segment", "/sources", "sources"),
    ):
        ids0 = [
            i if isinstance(i, str) else i["id"] for i in before.apis[api].get(path)["data"][key]
        ]
        ids1 = [
            i if isinstance(i, str) else i["id"] for i in after.apis[api].get(path)["data"][key]
        ]
        assert len(set(ids0) ^ set(ids1)) <= 2, (path, set(ids0) ^ set(ids1))
    ft0, ft1 = before.apis["fivetran"], after.apis["fivetran"]
    for path in ("/v1/groups", "/v1/destinations", "/v1/teams", "/v1/webhooks", "/v1/roles"):
        assert ft0.get(path) == ft1.get(path), path
    conn = ft0.expected_ids("connections")[w.FIVETRAN_DELETED_CONNECTION]
    assert ft1.get(f"/v1/connections/{conn}")["code"] == "NotFound_Connector"
    assert ft0.get(f"/v1/connections/{conn}")["code"] == "Success"
    other = ft0.expected_ids("connections")[1]
    assert ft0.get(f"/v1/connections/{other}/schemas") == ft1.get(
        f"/v1/connections/{other}/schemas"
    )
    with Sandbox(SandboxOptions(), port=0) as sb:
        assert sb._control("/_sandbox/world/1").body["step"] == 1
        assert sb.apis["fivetran"].world is not None
        assert sb._control("/_sandbox/world/0").body == {"step": 0, "changes": []}
        assert sb._control("/_sandbox/world/9").status == 400


@pytest.mark.e2e
def test_evidence_duckdb(env: dict[str, str], tmp_path: Path) -> None:
    """DuckDB: two runs, the changes between them, as-of, gated and failed streams, secrets."""
    wh = Warehouse(duckdb_path=Path(env["TARGET_DUCKDB_PATH"]))
    env, leavers = add_roster(env, tmp_path)
    run_job(env, SandboxOptions(), "control-planes-evidence")
    assert access_changes(wh) == set() and config_changes(wh) == set(), "first run is the baseline"
    assert removed_accounts(wh) == set()
    first = review(wh)
    recorded = record_review(["--duckdb", env["TARGET_DUCKDB_PATH"]], tmp_path)
    between = datetime.now(UTC)

    step1 = SandboxOptions(world_step=1)
    run_job(env, step1, "control-planes-evidence")
    check_second_run(wh, first)
    check_access_review(wh.rows, leavers, recorded)
    assert_no_secret(wh)

    # As of the first run's time, the old state shows (the removed users as they were).
    dbt(
        env,
        "dbt-duckdb",
        "run",
        "--select",
        "access_as_of",
        extra={"DBT_EVIDENCE_AS_OF": between.isoformat()},
    )
    assert review(wh, "access_as_of") == first
    at = between.replace(tzinfo=None).isoformat(sep=" ")
    history = wh.rows(
        "select access_key, status, roles from evidence.access_history "
        f"where valid_from <= '{at}' and (valid_to is null or valid_to > '{at}')"
    )
    assert {k: (st, r) for k, st, r in history} == first

    # A gated stream (403: Segment users, Fivetran system keys) is skipped, not emptied.
    after_two = (access_changes(wh), review(wh), config_changes(wh))
    gated = replace(step1, gated=(("/users", 403), ("/v1/system-keys", 403)))
    run_job(env, gated, "control-planes-evidence")
    assert latest_stream_status(wh, "tap-segment", "users") == "skipped"
    assert latest_stream_status(wh, "tap-fivetran", "system_keys") == "skipped"
    assert (access_changes(wh), review(wh), config_changes(wh)) == after_two
    assert (
        wh.rows("select count(*) from evidence.credentials_inventory where status = 'removed'")[0][
            0
        ]
        == 2
    )

    # A failed stream (Fivetran users answer broken JSON): the tap fails, the job stops before
    # dbt; building anyway still shows no removal.
    broken = replace(step1, broken=((r"^/v1/users$", "invalid_json"),))
    result = run_job(env, broken, "control-planes-evidence", check=False)
    assert result.returncode != 0
    dbt(env, "dbt-duckdb", "build")
    status = latest_stream_status(wh, "tap-fivetran", "users")
    assert status in ("complete", "failed")  # complete = the failed run's manifest never landed
    assert (access_changes(wh), review(wh), config_changes(wh)) == after_two


@pytest.fixture
def pg_env(env: dict[str, str], postgres: pg_server.PostgresServer) -> Iterator[dict[str, str]]:  # noqa: F811
    """env plus target-postgres and dbt-postgres pointed at the throw-away server, emptied."""
    with psycopg.connect(postgres.dsn, autocommit=True) as con:
        for schema in (
            "segment",
            "fivetran",
            "hr",
            "evidence",
            "evidence_staging",
            "evidence_snapshots",
            "evidence_reviews",
        ):
            con.execute(f'drop schema if exists "{schema}" cascade')
    conn = {
        "HOST": postgres.host,
        "PORT": str(postgres.port),
        "USER": postgres.user,
        # The throw-away server trusts loopback; the target insists on some password.
        "PASSWORD": "unused-trust-auth",
    }
    yield {
        **env,
        **{f"TARGET_POSTGRES_{k}": v for k, v in conn.items()},
        "TARGET_POSTGRES_DATABASE": postgres.database,
    }


@pytest.mark.e2e
def test_evidence_postgres(
    pg_env: dict[str, str],
    postgres: pg_server.PostgresServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """PostgreSQL: same changes; removals are ACTIVATE_VERSION soft deletes in the raw tables."""
    wh = Warehouse(dsn=postgres.dsn)
    pg_env, leavers = add_roster(pg_env, tmp_path)
    run_job(pg_env, SandboxOptions(), "control-planes-evidence-postgres")
    assert access_changes(wh) == set()
    assert (
        wh.rows("select count(*) from segment.users where _sdc_deleted_at is not null")[0][0] == 0
    )
    first = review(wh)
    pg_args = [
        "--pg-host",
        postgres.host,
        "--pg-port",
        str(postgres.port),
        "--pg-user",
        postgres.user,
        "--pg-database",
        postgres.database,
    ]
    # Trust auth ignores the password; the pack's options want one in their variable.
    recorded = record_review(pg_args, tmp_path, {"EVIDENCE_PG_PASSWORD": "unused-trust-auth"})

    step1 = SandboxOptions(world_step=1)
    run_job(pg_env, step1, "control-planes-evidence-postgres")
    check_second_run(wh, first)
    check_access_review(wh.rows, leavers, recorded)
    gone = removed_objects()
    deleted = {
        (table, key)
        for table, column in (
            ("segment.users", "id"),
            ("fivetran.users", "id"),
            ("fivetran.connections", "id"),
            ("fivetran.system_keys", "id"),
            ("segment.credentials", "id"),
        )
        for (key,) in wh.rows(f"select {column} from {table} where _sdc_deleted_at is not null")
    }
    conn = next(iter(gone["flows"]))
    key = next(c for c in gone["credentials"] if c.startswith("system_key:")).split(":", 1)[1]
    cred = next(c for c in gone["credentials"] if c.startswith("credential:")).split(":", 1)[1]
    ft_user = next(a for a in gone["accounts"] if not a.startswith("users-"))
    assert deleted == {
        ("segment.users", f"users-1-{w.SEGMENT_REMOVED_USER}"),
        ("fivetran.users", ft_user),
        ("fivetran.connections", conn),
        ("fivetran.system_keys", key),
        ("segment.credentials", cred),
    }
    assert_no_secret(wh)

    # Gated: ACTIVATE_VERSION must not soft-delete a stream the run could not read.
    after_two = (access_changes(wh), review(wh))
    run_job(pg_env, replace(step1, gated=(("/users", 403),)), "control-planes-evidence-postgres")
    assert latest_stream_status(wh, "tap-segment", "users") == "skipped"
    assert (
        wh.rows("select count(*) from segment.users where _sdc_deleted_at is not null")[0][0] == 1
    )
    assert (access_changes(wh), review(wh)) == after_two
