"""Read-only access to the warehouse the marts live in: a DuckDB file or a PostgreSQL database.

Only plain `SELECT`s and `information_schema` look-ups are sent, so the same SQL runs on both.
The PostgreSQL password comes from an environment variable and is never echoed: errors name the
host, port, user and database, which are not secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from evidence_pack import ReportError


class Warehouse(Protocol):
    """What the report needs from a warehouse."""

    label: str

    def table_ref(self, schema: str, table: str) -> str:
        """The table's fully qualified, quoted name."""

    def columns(self, schema: str, table: str) -> list[str] | None:
        """The table's column names (lower case), or None when there is no such table."""

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """All rows of a query as dicts keyed by column name."""

    def close(self) -> None:
        """Release the connection."""


def _quote(name: str) -> str:
    """A double-quoted SQL identifier (both dialects)."""
    return '"' + name.replace('"', '""') + '"'


def select_sql(table_ref: str, columns: list[str]) -> str:
    """`SELECT "a", "b" FROM <table>`: only the documented columns are read."""
    cols = ", ".join(_quote(c) for c in columns)
    return f"SELECT {cols} FROM {table_ref}"  # noqa: S608 (quoted names only)


_MISSING = "Python package {module} is not installed: pip install -e '.[report]'"
_COLUMNS_SQL = (
    "SELECT column_name FROM information_schema.columns "
    "WHERE table_schema = {schema} AND table_name = {table}{extra} ORDER BY ordinal_position"
)


class DuckDBWarehouse:
    """A DuckDB file opened read-only (the report never writes to the warehouse)."""

    def __init__(self, path: Path) -> None:
        try:
            import duckdb  # noqa: PLC0415 (needed only for DuckDB warehouses)
        except ModuleNotFoundError:
            raise ReportError(_MISSING.format(module="duckdb")) from None

        if not path.is_file():
            raise ReportError(
                f"DuckDB file {path} not found: run `make demo` first or pass --duckdb PATH"
            )
        try:
            self._con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ReportError(
                f"cannot open DuckDB file {path} read-only ({first}): is a load still writing it?"
            ) from None
        self._error = duckdb.Error
        self.label = f"DuckDB file {path.name}"
        # The catalog is named after the file: a file called evidence.duckdb would make the bare
        # schema name "evidence" ambiguous, so every name carries the catalog.
        self._catalog = str(self._con.execute("SELECT current_database()").fetchone()[0])

    def table_ref(self, schema: str, table: str) -> str:
        """catalog.schema.table, quoted."""
        return f"{_quote(self._catalog)}.{_quote(schema)}.{_quote(table)}"

    def columns(self, schema: str, table: str) -> list[str] | None:
        """Column names from information_schema, None when the table is missing."""
        found = self._con.execute(
            _COLUMNS_SQL.format(schema="?", table="?", extra=" AND table_catalog = ?"),
            [schema, table, self._catalog],
        ).fetchall()
        return [str(r[0]).lower() for r in found] or None

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """Run one query; a database error becomes one line naming it."""
        try:
            cur = self._con.execute(sql)
            names = [d[0].lower() for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        except self._error as err:
            raise ReportError(f"query failed in {self.label}: {str(err).splitlines()[0]}") from None

    def close(self) -> None:
        """Close the file."""
        self._con.close()


@dataclass(frozen=True)
class PostgresTarget:
    """Where the PostgreSQL warehouse is; the password is looked up in `password_env` only."""

    host: str
    port: int
    user: str
    database: str
    password_env: str


class PostgresWarehouse:
    """A PostgreSQL database through psycopg, in a read-only transaction."""

    def __init__(self, target: PostgresTarget) -> None:
        try:
            import psycopg  # noqa: PLC0415 (needed only for PostgreSQL warehouses)
        except ModuleNotFoundError:
            raise ReportError(_MISSING.format(module="psycopg")) from None

        self.label = f"PostgreSQL {target.user}@{target.host}:{target.port}/{target.database}"
        password = os.environ.get(target.password_env) or None
        try:
            self._con = psycopg.connect(
                host=target.host,
                port=target.port,
                user=target.user,
                dbname=target.database,
                password=password,
                connect_timeout=15,
                autocommit=False,
            )
            self._con.read_only = True
        except psycopg.Error as err:
            reason = _pg_reason(err, password)
            hint = (
                f"set the password in environment variable {target.password_env}"
                if password is None
                else "check --pg-host, --pg-port, --pg-user, --pg-database and the password"
            )
            raise ReportError(f"cannot connect to {self.label} ({reason}): {hint}") from None
        self._error = psycopg.Error
        self._password = password

    def table_ref(self, schema: str, table: str) -> str:
        """schema.table, quoted."""
        return f"{_quote(schema)}.{_quote(table)}"

    def columns(self, schema: str, table: str) -> list[str] | None:
        """Column names from information_schema, None when the table is missing."""
        with self._con.cursor() as cur:
            cur.execute(_COLUMNS_SQL.format(schema="%s", table="%s", extra=""), [schema, table])
            found = cur.fetchall()
        return [str(r[0]).lower() for r in found] or None

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """Run one query; a database error becomes one line naming it."""
        try:
            with self._con.cursor() as cur:
                cur.execute(sql)
                names = [d.name.lower() for d in cur.description or []]
                return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        except self._error as err:
            self._con.rollback()
            raise ReportError(
                f"query failed in {self.label}: {_pg_reason(err, self._password)}"
            ) from None

    def close(self) -> None:
        """Close the connection."""
        self._con.close()


def _pg_reason(err: Exception, password: str | None) -> str:
    """The first line of a psycopg error, with the password cut out should a server echo it."""
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    if password:
        text = text.replace(password, "***")
    return text
