"""`evidence-pack` / `python -m evidence_pack`: the options and the one-line errors.

Without a command the options write the pack, as they always have; `evidence-pack
record-review` records a signed access review's decisions (evidence_pack/review.py).

Every problem a user can fix ends the run with exit status 2 and one line on stderr naming the
option or the step to take; no traceback. Arguments argparse does not know are named without
their values, so a password typed by mistake on the command line is not echoed back.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NoReturn

from evidence_pack import ReportError
from evidence_pack.data import DEFAULT_RAW_SCHEMAS
from evidence_pack.diagram import GRAPHVIZ_MISSING, graphviz_available
from evidence_pack.pack import build
from evidence_pack.review import prepare, store
from evidence_pack.warehouse import (
    DuckDBWarehouse,
    PostgresTarget,
    PostgresWarehouse,
    WritableWarehouse,
)

DEFAULT_DUCKDB = Path("output/sandbox.duckdb")
DEFAULT_OUT = Path("output/evidence-pack")
DEFAULT_PASSWORD_ENV = "EVIDENCE_PG_PASSWORD"  # noqa: S105 (a variable name)
PROG = "evidence-pack"
REVIEW_COMMAND = "record-review"
DIST_NAME = "control-plane-taps"


def dist_version() -> str:
    """The installed distribution's version (pyproject's, through the package metadata)."""
    try:
        return version(DIST_NAME)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors cut to one line that repeats no argument value."""

    def error(self, message: str) -> NoReturn:
        """Print one line and exit 2."""
        if message.startswith("unrecognized arguments:"):
            names = [a for a in message.split(":", 1)[1].split() if a.startswith("-")]
            shown = ", ".join(n.split("=", 1)[0] for n in names) or "a stray value"
            message = f"unknown option {shown}"
        raise SystemExit(_fail(f"{message} (see --help)"))


def _fail(message: str) -> int:
    """Write the one line and return the exit status."""
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2


def parse_time(text: str, option: str) -> datetime:
    """An ISO-8601 date or date-time (UTC unless it says otherwise)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(
            f"{option} {text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def build_parser(*, commands: bool = False) -> argparse.ArgumentParser:
    """The command line; with `commands`, the record-review command too (see `main`)."""
    p = _Parser(
        prog=PROG,
        # No abbreviations: "--pg-password X" would otherwise be taken as --pg-password-env.
        allow_abbrev=False,
        description=(
            "Write the evidence pack (index.html, Vanta/Drata CSV files, manifest.json) from "
            "the evidence marts and the taps' sync_runs manifest. The page opens from disk."
        ),
    )
    p.add_argument("--version", action="version", version=f"{PROG} {dist_version()}")
    p.add_argument(
        "--since",
        metavar="DATE",
        help="show access and configuration changes after this date or date-time (UTC); "
        "default: the end of the previous complete run",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"folder to write (replaced if it holds an earlier pack; default {DEFAULT_OUT})",
    )
    p.add_argument(
        "--now",
        metavar="DATETIME",
        help="the moment key, invite and login ages are measured from (default: now, UTC)",
    )
    _warehouse_options(p)
    raw = p.add_argument_group(
        "the taps' tables", "where each tap's sync_runs manifest is (its extractor's load_schema)"
    )
    for system, schema in DEFAULT_RAW_SCHEMAS.items():
        raw.add_argument(
            f"--{system}-schema",
            default=schema,
            metavar="NAME",
            help=f"schema of tap-{system}'s tables (the dbt var {system}_schema; default {schema})",
        )
    if commands:
        sub = p.add_subparsers(
            title="commands",
            dest="command",
            metavar="COMMAND",
            parser_class=_Parser,
            description="without a command, the options above write the pack",
        )
        r = sub.add_parser(
            REVIEW_COMMAND,
            allow_abbrev=False,
            help="store a signed access review's decisions in the warehouse",
            description=(
                "Store the decisions of a signed access review in the warehouse (schema "
                "evidence_reviews, table access_decisions), with the reviewer, the time and the "
                "SHA-256 of the pack's manifest.json; the next run's evidence.review_followup "
                "shows which revokes were carried out. Fill in the decision (keep or revoke) "
                "and comment columns of a copy of the pack's tables/access_review.csv. Bad "
                "input is one line and exit status 2, and nothing is written."
            ),
        )
        r.add_argument(
            "--pack",
            type=Path,
            required=True,
            metavar="DIR",
            help="the evidence pack the review was made on (its manifest.json is checked)",
        )
        r.add_argument(
            "--decisions",
            type=Path,
            required=True,
            metavar="FILE",
            help="CSV with columns access_key, decision (keep or revoke) and comment, such as "
            "the filled-in copy of tables/access_review.csv; rows without a decision are skipped",
        )
        r.add_argument(
            "--reviewer",
            required=True,
            metavar="NAME",
            help="who signs the review (stored as given)",
        )
        _warehouse_options(r)
    return p


def _warehouse_options(p: argparse.ArgumentParser) -> None:
    """--duckdb or the --pg-* options: the same for writing the pack and recording a review."""
    w = p.add_argument_group(
        "warehouse", "a DuckDB file (default) or a PostgreSQL database (give --pg-host)"
    )
    w.add_argument(
        "--duckdb",
        type=Path,
        metavar="PATH",
        help=f"DuckDB file the loaders wrote (default {DEFAULT_DUCKDB})",
    )
    w.add_argument("--pg-host", metavar="HOST", help="PostgreSQL host")
    w.add_argument("--pg-port", type=int, default=5432, metavar="PORT", help="default 5432")
    w.add_argument("--pg-user", metavar="USER", help="PostgreSQL user")
    w.add_argument("--pg-database", metavar="NAME", help="PostgreSQL database")
    w.add_argument(
        "--pg-password-env",
        default=DEFAULT_PASSWORD_ENV,
        metavar="VAR",
        help="environment variable holding the password (never the password itself; "
        f"default {DEFAULT_PASSWORD_ENV})",
    )


def _open_warehouse(args: argparse.Namespace, *, writable: bool = False) -> WritableWarehouse:
    """The warehouse the options name (read-only unless `writable`); one line when they are
    incomplete or conflict."""
    pg_given = [n for n in ("pg_host", "pg_user", "pg_database") if getattr(args, n)]
    if pg_given and args.duckdb is not None:
        raise ReportError("give either --duckdb or --pg-host/--pg-user/--pg-database, not both")
    if pg_given:
        missing = [
            "--" + n.replace("_", "-")
            for n in ("pg_host", "pg_user", "pg_database")
            if not getattr(args, n)
        ]
        if missing:
            raise ReportError(f"PostgreSQL needs {', '.join(missing)} as well")
        if not 0 < args.pg_port < 65536:
            raise ReportError(f"--pg-port {args.pg_port} is not a TCP port (1..65535)")
        return PostgresWarehouse(
            PostgresTarget(
                args.pg_host, args.pg_port, args.pg_user, args.pg_database, args.pg_password_env
            ),
            writable=writable,
        )
    return DuckDBWarehouse(args.duckdb or DEFAULT_DUCKDB, writable=writable)


def _record_review(args: argparse.Namespace) -> int:
    """record-review: check everything, then open the warehouse for writing and store."""
    try:
        review = prepare(args.pack, args.decisions, args.reviewer)
        wh = _open_warehouse(args, writable=True)
        try:
            recorded = store(wh, review, now=datetime.now(UTC))
        finally:
            wh.close()
    except ReportError as err:
        return _fail(str(err))
    except KeyboardInterrupt:
        return _fail("interrupted")
    print(recorded.summary())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; 0 on success, 2 with one line on stderr otherwise."""
    argv = sys.argv[1:] if argv is None else argv
    # The parser knows the commands only when the first argument names one (or asks for help):
    # without a command a stray value stays "a stray value", never echoed back as an unknown
    # command (it may be a password typed after a mistyped option), exactly as before.
    commands = bool(argv) and argv[0] in {REVIEW_COMMAND, "-h", "--help"}
    args = build_parser(commands=commands).parse_args(argv)
    if getattr(args, "command", None) == REVIEW_COMMAND:
        return _record_review(args)
    try:
        now = parse_time(args.now, "--now") if args.now else datetime.now(UTC)
        since = parse_time(args.since, "--since") if args.since else None
        wh = _open_warehouse(args)
        try:
            raw_schemas = {s: getattr(args, f"{s}_schema") for s in DEFAULT_RAW_SCHEMAS}
            out = build(wh, args.out, now=now, since=since, raw_schemas=raw_schemas)
        finally:
            wh.close()
    except ReportError as err:
        return _fail(str(err))
    except OSError as err:
        return _fail(f"cannot write {args.out}: {err.strerror or err}")
    except KeyboardInterrupt:
        return _fail("interrupted")
    if not graphviz_available():
        print(f"{PROG}: {GRAPHVIZ_MISSING}", file=sys.stderr)
    files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"evidence pack written: {out}/index.html ({files} files, see manifest.json)")
    return 0
