"""The evidence models as a dbt package: a dbt project of one's own lists transform/ in its
packages.yml and `dbt deps && dbt build` gives the marts this repo's own job gives.

Per adapter, two runs with a world step between (tests/test_e2e_evidence.py's job and
sandbox). Each run: this repo's Meltano job (both taps -> warehouse -> `dbt build` with
transform/ as the root project), then a fresh dbt project in a temp folder that installs
transform/ as a local package and builds it on the same raw tables, copied into other schemas
(vars segment_schema, fivetran_schema). That project is built the way a stranger's would be:
its own profile with no TimeZone setting, a session time zone far from UTC (TZ, PGTZ), its own
generate_schema_name (a prefix), its own model on top of the package, and a source and a model
named like the package's (dbt's ref() and source() look in the root project first); so a
dependence on the profile, the session, root-level overrides or names shows as a difference. DuckDB: its own file,
the package's schemas as they come (evidence, evidence_staging, evidence_snapshots).
PostgreSQL: the job's own database, the package's schemas moved with +schema (the README's
way to put them elsewhere).

Compared, row for row (as multisets): every mart the contracts declare, every column, but
build-time values. Each build stamps its snapshots with its own start time, so a timestamp
that is a build's time (seen_at, valid_from, valid_to, as_of) is compared as which build it
was, first or second; version_id and change_id hash that time in and are left out, and so are
age_days and unused_days, which count days up to the build's date (two builds a minute apart
can straddle midnight).
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
import yaml

from evidence_pack.contracts import mart_contracts
from taps_sandbox.base import SandboxOptions
from tests import pg_server
from tests.test_e2e_evidence import Row, Warehouse, env, pg_env, run_job  # noqa: F401 (fixtures)
from tests.test_e2e_meltano import ROOT, meltano_installed, mt, postgres  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e

PACKAGE = ROOT / "transform"
DBT_TIMEOUT_S = 600.0
# Far from UTC, on both sides of midnight for most of the day: a time taken from the session
# (now(), a cast through the session's zone) is off by nine hours.
SESSION_TZ = "Asia/Tokyo"
RAW = {"segment": "raw_segment", "fivetran": "raw_fivetran"}  # the job's schema -> the copy's
# The user's own `segment` source: a users table like the taps' but empty, so reading it
# instead of the package's would lose every Segment user.
DECOY = "my_segment_events"
DECOY_SQL = (
    f"drop schema if exists {DECOY} cascade",
    f"create schema {DECOY}",
    f"create table {DECOY}.users as select * from {RAW['segment']}.users where false",
)
# Hashes over a build time, and day counts up to the build's date.
BUILD_DEPENDENT = {"version_id", "change_id", "age_days", "unused_days"}
# Where PostgreSQL's package project moves the package's schemas (its +schema configs).
MOVED = {
    "evidence": "pkg_evidence",
    "evidence_staging": "pkg_evidence_staging",
    "evidence_snapshots": "pkg_evidence_snapshots",
}


# --------------------------------------------------------------------------- the user's project


def user_project(folder: Path, profile: dict[str, Any], *, move_schemas: bool) -> Path:
    """A dbt project of one's own in ``folder`` that installs transform/ as a local package."""
    folder.mkdir(parents=True)
    project: dict[str, Any] = {
        "name": "my_warehouse",
        "version": "1.0",
        "config-version": 2,
        "profile": "my_warehouse",
        # No tracking call from the test (loopback only).
        "flags": {"send_anonymous_usage_stats": False, "use_colors": False},
        "vars": {"segment_schema": RAW["segment"], "fivetran_schema": RAW["fivetran"]},
    }
    if move_schemas:
        project["models"] = {
            "control_plane_evidence": {
                "staging": {"+schema": MOVED["evidence_staging"]},
                "intermediate": {"+schema": MOVED["evidence_staging"]},
                "marts": {"+schema": MOVED["evidence"]},
            }
        }
        project["snapshots"] = {"control_plane_evidence": {"+schema": MOVED["evidence_snapshots"]}}
    (folder / "dbt_project.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    (folder / "packages.yml").write_text(
        yaml.safe_dump({"packages": [{"local": str(PACKAGE)}]}, sort_keys=False)
    )
    (folder / "profiles.yml").write_text(
        yaml.safe_dump({"my_warehouse": {"target": "dev", "outputs": {"dev": profile}}})
    )
    # The project's own naming (a prefix on every schema), a model of its own on top of the
    # package, and namesakes of the package's: a `segment` source over other tables (Segment's
    # own warehouse data, say; DECOY) and a model called like one of the package's. None may
    # change where or what the package builds.
    (folder / "macros").mkdir()
    (folder / "macros" / "generate_schema_name.sql").write_text(
        "{% macro generate_schema_name(custom_schema_name, node) -%}\n"
        "    my_{{ custom_schema_name or target.schema }}\n"
        "{%- endmacro %}\n"
    )
    (folder / "models").mkdir()
    (folder / "models" / "my_access_count.sql").write_text(
        "select count(*) as accounts from {{ ref('access_review') }}\n"
    )
    (folder / "models" / "stg_sync_runs.sql").write_text("select 'not a run' as note\n")
    own_sources = {
        "version": 2,
        "sources": [{"name": "segment", "schema": DECOY, "tables": [{"name": "users"}]}],
    }
    (folder / "models" / "my_sources.yml").write_text(yaml.safe_dump(own_sources))
    return folder


def user_dbt(project: Path, adapter: str, *args: str) -> None:
    """The user's `dbt ARGS` with the dbt that Meltano installed for ``adapter``, bounded, in a
    session zone far from UTC and without this repo's DBT_* settings."""
    exe = ROOT / ".meltano" / "utilities" / f"dbt-{adapter}" / "venv" / "bin" / "dbt"
    session = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "PG"))}
    session |= {"TZ": SESSION_TZ, "PGTZ": SESSION_TZ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = mt.run_bounded(
        [exe, *args, "--project-dir", project, "--profiles-dir", project],
        timeout=DBT_TIMEOUT_S,
        env=session,
        cwd=project,
    )
    assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.tail(80)}"


# --------------------------------------------------------------------------- comparing


def build_labels(wh: Warehouse, snapshots: str) -> dict[Any, str]:
    """Each build's time (the distinct snapshot dbt_valid_from values) -> "build 1", ..."""
    tables = wh.rows(
        "select table_name from information_schema.tables "
        f"where table_schema = '{snapshots}' order by table_name"
    )
    times: set[datetime] = set()
    for (table,) in tables:
        times |= {
            t for (t,) in wh.rows(f'select distinct dbt_valid_from from {snapshots}."{table}"')
        }
    return {t: f"build {i}" for i, t in enumerate(sorted(times), start=1)}


def mart_rows(wh: Warehouse, schema: str, mart: str, builds: dict[Any, str]) -> Counter[Row]:
    """The mart's rows, every contract column but the build-dependent ones, build times
    replaced by which build they were."""
    declared = [c.name for c in mart_contracts()[mart]]
    have = [
        c
        for (c,) in wh.rows(
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{mart}' order by ordinal_position"
        )
    ]
    assert have == declared, f"{schema}.{mart} columns {have} differ from its contract"
    cols = [c for c in declared if c not in BUILD_DEPENDENT]
    rows = wh.rows(
        f'select {", ".join(f"{chr(34)}{c}{chr(34)}" for c in cols)} from {schema}."{mart}"'
    )
    return Counter(
        tuple(builds.get(v, v) if isinstance(v, datetime) else v for v in r) for r in rows
    )


def assert_same_marts(
    job: Warehouse, package: Warehouse, schemas: dict[str, str], builds_so_far: int, own: str
) -> None:
    """Every mart of the package's build equals the job's, with ``builds_so_far`` builds each;
    the user's own model is in schema ``own`` (the user's naming)."""
    job_builds = build_labels(job, "evidence_snapshots")
    package_builds = build_labels(package, schemas["evidence_snapshots"])
    # One time per build: every snapshot of a build carries that build's time.
    assert len(job_builds) == builds_so_far, sorted(job_builds)
    assert len(package_builds) == builds_so_far, sorted(package_builds)
    for mart in sorted(mart_contracts()):
        ours = mart_rows(job, "evidence", mart, job_builds)
        theirs = mart_rows(package, schemas["evidence"], mart, package_builds)
        assert theirs == ours, (
            f"{mart}: only the package's build has {sorted((theirs - ours).elements())[:5]}, "
            f"only the job's has {sorted((ours - theirs).elements())[:5]}"
        )
    # Not an empty comparison: the first run lists accounts, the second finds changes.
    (accounts,) = job.rows("select count(*) from evidence.access_review")[0]
    assert accounts > 0
    if builds_so_far > 1:
        (changes,) = job.rows("select count(*) from evidence.access_changes")[0]
        assert changes > 0
    # The user's own model follows the user's naming; the package's did not.
    (counted,) = package.rows(f"select accounts from {own}.my_access_count")[0]
    assert counted == accounts


# --------------------------------------------------------------------------- tests


def copy_raw_duckdb(job_file: Path, package_file: Path) -> None:
    """The job's raw tables (schemas segment, fivetran) into the package's file, renamed."""
    with duckdb.connect(str(package_file)) as con:
        con.execute(f"attach '{job_file}' as job (read_only)")
        for source, copy in RAW.items():
            con.execute(f"drop schema if exists {copy} cascade")
            con.execute(f"create schema {copy}")
            tables = con.execute(
                "select table_name from information_schema.tables "
                f"where table_catalog = 'job' and table_schema = '{source}'"
            ).fetchall()
            for (table,) in tables:
                con.execute(
                    f'create table {copy}."{table}" as select * from job.{source}."{table}"'
                )
        for sql in DECOY_SQL:
            con.execute(sql)
        con.execute("detach job")


def test_package_duckdb(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    """DuckDB: the package's marts equal the job's after each of two runs."""
    job_file = Path(env["TARGET_DUCKDB_PATH"])
    package_file = tmp_path / "package.duckdb"
    profile = {"type": "duckdb", "path": str(package_file), "schema": "main", "threads": 2}
    project = user_project(tmp_path / "my_warehouse", profile, move_schemas=False)
    user_dbt(project, "duckdb", "deps")
    schemas = {name: name for name in MOVED}
    for step in (0, 1):
        run_job(env, SandboxOptions(world_step=step), "control-planes-evidence")
        copy_raw_duckdb(job_file, package_file)
        user_dbt(project, "duckdb", "build")
        assert_same_marts(
            Warehouse(duckdb_path=job_file),
            Warehouse(duckdb_path=package_file),
            schemas,
            step + 1,
            own="my_main",
        )


def copy_raw_postgres(dsn: str) -> None:
    """The job's raw tables into schemas of their own in the same database."""
    with psycopg.connect(dsn, autocommit=True) as con:
        for source, copy in RAW.items():
            con.execute(f"drop schema if exists {copy} cascade")
            con.execute(f"create schema {copy}")
            tables = con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = %s and table_type = 'BASE TABLE'",
                (source,),
            ).fetchall()
            for (table,) in tables:
                con.execute(f'create table {copy}."{table}" as select * from {source}."{table}"')
        for sql in DECOY_SQL:
            con.execute(sql)


def test_package_postgres(
    pg_env: dict[str, str],  # noqa: F811
    postgres: pg_server.PostgresServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """PostgreSQL: the same, with the package's schemas moved by the user's +schema configs."""
    with psycopg.connect(postgres.dsn, autocommit=True) as con:
        for schema in [*RAW.values(), *MOVED.values(), DECOY, "my_public"]:
            con.execute(f'drop schema if exists "{schema}" cascade')
    profile = {
        "type": "postgres",
        "host": postgres.host,
        "port": postgres.port,
        "user": postgres.user,
        "password": "unused-trust-auth",
        "dbname": postgres.database,
        "schema": "public",
        "threads": 2,
        "connect_timeout": 10,
    }
    project = user_project(tmp_path / "my_warehouse", profile, move_schemas=True)
    user_dbt(project, "postgres", "deps")
    wh = Warehouse(dsn=postgres.dsn)
    for step in (0, 1):
        run_job(pg_env, SandboxOptions(world_step=step), "control-planes-evidence-postgres")
        copy_raw_postgres(postgres.dsn)
        user_dbt(project, "postgres", "build")
        assert_same_marts(wh, wh, MOVED, step + 1, own="my_public")
