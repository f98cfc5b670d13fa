"""Access to the warehouse the marts live in: a DuckDB file or a PostgreSQL database.

The pack opens it read-only and sends only plain `SELECT`s and `information_schema` look-ups,
so the same SQL runs on both. `evidence-pack record-review` alone opens it for writing, to
append a review's decisions in one transaction (`write`).
The PostgreSQL password comes from an environment variable and is never echoed: errors name the
host, port, user and database, which are not secret.
"""

from __future__ import annotations

import contextlib
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


class WritableWarehouse(Warehouse, Protocol):
    """A warehouse opened for writing (record-review)."""

    placeholder: str  # the driver's query parameter mark

    def schema_ref(self, schema: str) -> str:
        """The schema's qualified, quoted name."""

    def write(self, steps: list[tuple[str, list[list[Any]]]]) -> None:
        """Run each (statement, parameter rows) in one transaction: all of them or none."""


def _quote(name: str) -> str:
    """A double-quoted SQL identifier (both dialects)."""
    return '"' + name.replace('"', '""') + '"'


def quote_name(name: str) -> str:
    """A double-quoted SQL identifier, for statements built outside this module."""
    return _quote(name)


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
    """A DuckDB file, opened read-only unless `writable` (record-review only)."""

    placeholder = "?"

    def __init__(self, path: Path, *, writable: bool = False) -> None:
        try:
            import duckdb  # noqa: PLC0415 (needed only for DuckDB warehouses)
        except ModuleNotFoundError:
            raise ReportError(_MISSING.format(module="duckdb")) from None

        if not path.is_file():
            raise ReportError(
                f"DuckDB file {path} not found: run `make demo` first or pass --duckdb PATH"
            )
        try:
            self._con = duckdb.connect(str(path), read_only=not writable)
        except duckdb.Error as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            mode = "for writing" if writable else "read-only"
            raise ReportError(
                f"cannot open DuckDB file {path} {mode} ({first}): is a load still writing it?"
            ) from None
        self._error = duckdb.Error
        self.label = f"DuckDB file {path.name}"
        # The catalog is named after the file: a file called evidence.duckdb would make the bare
        # schema name "evidence" ambiguous, so every name carries the catalog.
        self._catalog = str(self._con.execute("SELECT current_database()").fetchone()[0])

    def table_ref(self, schema: str, table: str) -> str:
        """catalog.schema.table, quoted."""
        return f"{_quote(self._catalog)}.{_quote(schema)}.{_quote(table)}"

    def schema_ref(self, schema: str) -> str:
        """catalog.schema, quoted."""
        return f"{_quote(self._catalog)}.{_quote(schema)}"

    def write(self, steps: list[tuple[str, list[list[Any]]]]) -> None:
        """All statements in one transaction; on any error none of them stays."""
        try:
            self._con.begin()
            for sql, rows in steps:
                if rows:
                    self._con.executemany(sql, rows)
                else:
                    self._con.execute(sql)
            self._con.commit()
        except self._error as err:
            with contextlib.suppress(self._error):  # no transaction left to roll back
                self._con.rollback()
            raise ReportError(
                f"writing to {self.label} failed, nothing was written: {str(err).splitlines()[0]}"
            ) from None

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
    """A PostgreSQL database through psycopg, in a read-only transaction unless `writable`
    (record-review only)."""

    placeholder = "%s"

    def __init__(self, target: PostgresTarget, *, writable: bool = False) -> None:
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
            self._con.read_only = not writable
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

    def schema_ref(self, schema: str) -> str:
        """The schema, quoted."""
        return _quote(schema)

    def write(self, steps: list[tuple[str, list[list[Any]]]]) -> None:
        """All statements in one transaction (the connection is not autocommit); on any error
        none of them stays."""
        try:
            with self._con.cursor() as cur:
                for sql, rows in steps:
                    if rows:
                        cur.executemany(sql, rows)
                    else:
                        cur.execute(sql)
            self._con.commit()
        except self._error as err:
            self._con.rollback()
            raise ReportError(
                f"writing to {self.label} failed, nothing was written: "
                f"{_pg_reason(err, self._password)}"
            ) from None

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
