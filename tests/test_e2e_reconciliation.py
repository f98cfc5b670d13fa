"""End to end: the warehouse holds what the API returned (evidence.extract_reconciliation).

The real Meltano job (both taps -> warehouse -> dbt build) against the sandbox. A clean run
reconciles in DuckDB and in PostgreSQL: every stream the manifest calls complete is `ok`, and
the mart's counts are the raw tables' own. Then rows are tampered with in the raw tables (one
deleted, one key changed: a timestamp key in DuckDB, the renamed `rule_version` key in
PostgreSQL) and the next `dbt build` fails on test extract_reconciliation_mismatch, with
exactly those streams `mismatch`; the evidence pack shows them and carries the mart as CSV.
In DuckDB a second run then extracts again: the build passes, the first run's streams are
`superseded` and the second run's `ok`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from evidence_pack.pack import build
from evidence_pack.warehouse import DuckDBWarehouse, PostgresTarget, PostgresWarehouse
from taps_sandbox.base import SandboxOptions
from tests import pg_server
from tests.test_e2e_evidence import RUN_TIMEOUT_S, Warehouse, env, pg_env, run_job  # noqa: F401
from tests.test_e2e_meltano import meltano_installed, mt, postgres  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e

MART = "evidence.extract_reconciliation"
COLUMNS = (
    "run_id, system, tenant_id, stream, manifest_records, manifest_keys, warehouse_records, "
    "keys_match, status"
)


def complete_streams(wh: Warehouse) -> set[tuple[str, str, str, str]]:
    """(run_id, system, tenant, stream) of every complete stream, read from the raw manifests
    (not from the models)."""
    found = set()
    for system in ("segment", "fivetran"):
        for run_id, streams in wh.rows(f"select run_id, streams from {system}.sync_runs"):
            items = json.loads(streams) if isinstance(streams, str) else streams
            for item in items:
                s = json.loads(item) if isinstance(item, str) else item
                if s["status"] == "complete":
                    found.add((run_id, system, s["tenant_id"], s["stream"]))
    return found


def mart(wh: Warehouse) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """(run_id, system, tenant, stream) -> the mart's row."""
    names = [c.strip() for c in COLUMNS.split(",")]
    return {
        (r[0], r[1], r[2], r[3]): dict(zip(names, r, strict=True))
        for r in wh.rows(f"select {COLUMNS} from {MART}")
    }


def table_rows(wh: Warehouse, system: str, stream: str) -> int | None:
    """Rows of one raw table, None when the table is not there."""
    exists = wh.rows(
        "select count(*) from information_schema.tables "
        f"where table_schema = '{system}' and table_name = '{stream}'"
    )[0][0]
    if not exists:
        return None
    return int(wh.rows(f'select count(*) from {system}."{stream}"')[0][0])


def check_clean_run(wh: Warehouse) -> None:
    """Every complete stream of the (one) run is ok, counted as the raw table counts it."""
    rows = mart(wh)
    assert set(rows) == complete_streams(wh)
    assert len(rows) > 50, "both taps' default streams"
    bad = {k: r["status"] for k, r in rows.items() if r["status"] != "ok"}
    assert bad == {}
    for (_, system, _, stream), r in rows.items():
        held = table_rows(wh, system, stream)
        assert r["warehouse_records"] == r["manifest_keys"] == (held or 0), stream
        assert r["keys_match"] is True, stream
        assert r["manifest_records"] >= r["manifest_keys"], stream


def dbt_build(environ: dict[str, str], plugin: str) -> Any:
    """`meltano invoke <dbt plugin> build` (no extraction), whatever it returns."""
    return mt.meltano(
        "--environment=sandbox",
        "invoke",
        plugin,
        "build",
        env=environ,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def check_tampered(wh: Warehouse, result: Any, tampered: set[tuple[str, str]]) -> None:
    """The build failed on the mismatch test, and exactly the tampered streams mismatch."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, "dbt build must fail on a mismatch"
    assert re.search(r"FAIL \d+ extract_reconciliation_mismatch", output), result.tail()
    rows = mart(wh)
    mismatched = {(k[1], k[3]) for k, r in rows.items() if r["status"] == "mismatch"}
    assert mismatched == tampered
    assert all(r["keys_match"] is False for r in rows.values() if r["status"] == "mismatch")
    assert {r["status"] for r in rows.values()} == {"ok", "mismatch"}


def check_pack(wh_for_pack: Any, wh: Warehouse, out: Path, tampered: set[tuple[str, str]]) -> None:
    """The pack's reconciliation section and CSV hold the mart, mismatches marked."""
    try:
        build(wh_for_pack, out, now=datetime.now(UTC), since=None)
    finally:
        wh_for_pack.close()
    text = (out / "tables" / "extract_reconciliation.csv").read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(text)))
    assert {
        (r["run_id"], r["system"], r["tenant_id"], r["stream"]): r["status"] for r in table
    } == {k: r["status"] for k, r in mart(wh).items()}
    page = (out / "index.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="reconciliation">') :]
    section = section[: section.index("</section>")]
    assert f'data-testid="recon-mismatch">{len(tampered)}<' in section
    assert 'data-testid="recon-mismatch-warning"' in section
    marked = set(
        re.findall(r'<tr class="status-mismatch"><td data-col-key="stream">([^<]+)<', section)
    )
    assert marked == {stream for _, stream in tampered}


@pytest.mark.e2e
def test_reconciliation_duckdb(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    path = Path(env["TARGET_DUCKDB_PATH"])
    wh = Warehouse(duckdb_path=path)
    run_job(env, SandboxOptions(), "control-planes-evidence")
    check_clean_run(wh)

    # One user row gone; one usage row's timestamp key moved by a second.
    with duckdb.connect(str(path)) as con:
        con.execute("delete from segment.users where id = (select min(id) from segment.users)")
        con.execute(
            'update segment.usage_mtu_daily set "timestamp" = "timestamp" + interval 1 second '
            'where "timestamp" = (select min("timestamp") from segment.usage_mtu_daily)'
        )
    tampered = {("segment", "users"), ("segment", "usage_mtu_daily")}
    check_tampered(wh, dbt_build(env, "dbt-duckdb"), tampered)
    check_pack(DuckDBWarehouse(path), wh, tmp_path / "pack", tampered)

    # The next run extracts again: the deleted user is back, the moved key is an old row of no
    # run; the first run's streams are superseded, the second run's reconcile.
    first = {k[0] for k in mart(wh)}
    run_job(env, SandboxOptions(), "control-planes-evidence")
    rows = mart(wh)
    assert {r["status"] for r in rows.values()} <= {"ok", "superseded"}
    second = {k for k in rows if k[0] not in first}
    assert second and all(rows[k]["status"] == "ok" for k in second)
    read_again = {(k[1], k[2], k[3]) for k in second if rows[k]["manifest_records"] > 0}
    for key, r in rows.items():
        if key[0] in first:
            expect = "superseded" if (key[1], key[2], key[3]) in read_again else "ok"
            assert r["status"] == expect, key
    assert any(r["status"] == "superseded" for r in rows.values())


@pytest.mark.e2e
def test_reconciliation_postgres(
    pg_env: dict[str, str],  # noqa: F811
    postgres: pg_server.PostgresServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wh = Warehouse(dsn=postgres.dsn)
    run_job(pg_env, SandboxOptions(), "control-planes-evidence-postgres")
    check_clean_run(wh)

    # One Fivetran user row gone; one tracking-plan rule's version (a key column, loaded as
    # rule_version in PostgreSQL) changed.
    with psycopg.connect(postgres.dsn, autocommit=True) as con:
        con.execute("delete from fivetran.users where id = (select min(id) from fivetran.users)")
        con.execute(
            "update segment.tracking_plan_rules set rule_version = rule_version + 100 "
            'where ("trackingPlanId", key, type) = (select "trackingPlanId", key, type '
            "from segment.tracking_plan_rules order by 1, 2, 3 limit 1)"
        )
    tampered = {("fivetran", "users"), ("segment", "tracking_plan_rules")}
    check_tampered(wh, dbt_build(pg_env, "dbt-postgres"), tampered)
    monkeypatch.setenv("RECON_TEST_PG_PASSWORD", "unused-trust-auth")
    target = PostgresTarget(
        postgres.host, postgres.port, postgres.user, postgres.database, "RECON_TEST_PG_PASSWORD"
    )
    check_pack(PostgresWarehouse(target), wh, tmp_path / "pack", tampered)
