"""TapHrRoster: one stream, `roster`, from the CSV file of setting `path`.

The file is read and checked whole before anything is emitted, so a bad file ends the run
with one line (exit 2) and loads nothing. Without a path the run emits the stream's SCHEMA and
no record and succeeds: the evidence job runs the same with or without a roster, and
evidence.leaver_access stays empty until one is given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from tap_hr_roster.roster import RosterError, read_roster

DIST_NAME = "control-plane-taps"
PATH_ENV = "EVIDENCE_HR_ROSTER"
NO_ROSTER = (
    "no roster file given (setting path, environment variable EVIDENCE_HR_ROSTER in the "
    "Meltano project): evidence.leaver_access stays empty until EVIDENCE_HR_ROSTER is set"
)


class RosterStream(Stream):
    """Every person of the roster file; `read_at` is the run's start, the same for every row,
    so the models keep only the latest read (target-duckdb keeps the rows of earlier reads: it
    ignores ACTIVATE_VERSION)."""

    name = "roster"
    primary_keys = ("email",)
    schema = th.PropertiesList(
        th.Property(
            "email",
            th.StringType,
            required=True,
            description="The person's email address, as the file has it.",
        ),
        th.Property(
            "terminated_at",
            th.DateTimeType,
            description="When the person left (UTC); null while employed.",
        ),
        th.Property(
            "read_at",
            th.DateTimeType,
            required=True,
            description="When this run read the file (UTC); one value per run.",
        ),
    ).to_dict()

    def __init__(self, tap: TapHrRoster) -> None:
        super().__init__(tap)
        self.roster_tap = tap

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """The rows the tap read and checked before the sync started."""
        yield from self.roster_tap.rows


class TapHrRoster(Tap):
    """Who left the company and when, from an HR or IdP export (CSV)."""

    name = "tap-hr-roster"
    package_name = DIST_NAME

    config_jsonschema = th.PropertiesList(
        th.Property(
            "path",
            th.StringType,
            title="Roster file",
            description="The CSV file HR or the IdP exports: a header line and at least the "
            "columns email and terminated_at (blank while employed; YYYY-MM-DD or an ISO-8601 "
            "date-time). Without it the roster stream is empty.",
        ),
    ).to_dict()

    rows: list[dict[str, Any]] = []

    def discover_streams(self) -> list[Stream]:
        """The one stream."""
        return [RosterStream(self)]

    def read_rows(self) -> None:
        """Read and check the whole file (or say once that there is none)."""
        path = str(self.config.get("path") or "").strip()
        if not path:
            self.logger.warning("%s: %s", self.name, NO_ROSTER)
            self.rows = []
            return
        read_at = datetime.now(UTC).isoformat()
        self.rows = read_roster(Path(path).expanduser(), read_at)
        leavers = sum(1 for r in self.rows if r["terminated_at"])
        self.logger.info(
            "%s: %d people in %s, %d with a termination date",
            self.name,
            len(self.rows),
            path,
            leavers,
        )

    @classmethod
    def invoke(
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        state: IO[str] | None = None,
        catalog: IO[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """The SDK's sync, with the file read and checked first: a bad file is one error line
        and exit status 2, nothing emitted. (The arguments are the SDK's.)"""
        super(Tap, cls).invoke(about=about, about_format=about_format)  # --about, as the SDK
        tap = cls(
            config=config.config if config else None,
            state=None if state is None else json.load(state),
            catalog=None if catalog is None else json.load(catalog),
            parse_env_config=bool(config and config.parse_env),
            validate_config=True,
        )
        try:
            tap.read_rows()
        except RosterError as err:
            cls.logger.error("%s: %s", cls.name, err)
            raise SystemExit(2) from None
        tap.sync_all()
