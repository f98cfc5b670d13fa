"""The run manifest: stream ``sync_runs``, one record per run, written last.

It is the completeness evidence a reviewer asks for: when the extract ran, which streams it
took, and for each stream and tenant whether it is whole (``complete``), gated (``skipped``) or
broke (``failed``), with records and requests, the host and paths read, and the count and
digest of the distinct primary keys emitted (``key_digest``), which the warehouse recomputes
to prove it holds what the API returned. Models downstream take "current" from it: a row
missing from the latest run in which its stream was complete is gone. Incremental on
``finished_at`` so no target ever treats the manifest as a table to replace.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from taps_common.run_stats import RunStats, StreamOutcome

MANIFEST_STREAM = "sync_runs"

STREAM_OUTCOME = th.ObjectType(
    th.Property("stream", th.StringType, required=True),
    th.Property("tenant_id", th.StringType, required=True),
    th.Property("status", th.StringType, required=True, description="complete, failed, skipped"),
    th.Property("records", th.IntegerType, required=True),
    th.Property("requests", th.IntegerType, required=True),
    th.Property("reason", th.StringType),
    th.Property(
        "distinct_keys",
        th.IntegerType,
        description="Distinct primary keys among the records emitted (a record emitted twice "
        "is one row once the target upserts it).",
    ),
    th.Property(
        "key_digest",
        th.IntegerType,
        description="Sum modulo 2^60 of the first 15 hex digits of MD5 of each distinct "
        "canonical key: what the warehouse must recompute (taps_common/key_digest.py).",
    ),
    th.Property("api_host", th.StringType, description="Host (and port) the stream read."),
    th.Property(
        "paths",
        th.ArrayType(th.StringType),
        description="Path templates the records came from (derived streams: their parent's).",
    ),
)

SCHEMA = th.PropertiesList(
    th.Property("run_id", th.StringType, required=True, description="A new UUID per run."),
    th.Property("tap", th.StringType, required=True),
    th.Property("tap_version", th.StringType),
    th.Property("started_at", th.DateTimeType, required=True),
    th.Property("finished_at", th.DateTimeType, required=True),
    th.Property(
        "status",
        th.StringType,
        required=True,
        description="'complete' when every selected stream completed for every tenant.",
    ),
    th.Property("tenant_ids", th.ArrayType(th.StringType), description="Workspaces/accounts."),
    th.Property(
        "settings_fingerprint",
        th.StringType,
        description="SHA-256 of the settings that shape the data (API hosts, start_date, "
        "selected streams, redaction); never of a credential.",
    ),
    th.Property("selected_streams", th.ArrayType(th.StringType)),
    th.Property("streams", th.ArrayType(STREAM_OUTCOME)),
).to_dict()


def utc_now() -> str:
    """ISO-8601 UTC with microseconds and an offset."""
    return dt.datetime.now(dt.UTC).isoformat()


def fingerprint(shape: Mapping[str, Any]) -> str:
    """A stable hash of non-secret settings."""
    text = json.dumps(shape, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class RunReport:
    """What the tap tells the manifest about its run, once every other stream ran.

    ``api_hosts``: each tenant's API base URL; ``paths``: each selected stream's path
    templates (``paths_read``); ``settings``: the data-shaping settings, fingerprinted here.
    """

    run_id: str
    tap: str
    tap_version: str
    started_at: str
    selected_streams: list[str]
    tenant_ids: list[str]
    api_base_urls: Mapping[str, str]
    paths: Mapping[str, list[str]]
    settings: Mapping[str, Any]
    stats: RunStats


class SyncRunsStream(Stream):
    """The run manifest (both taps): built from the run report the tap hands over once every
    other stream ran (``report`` is called then, on the SDK's thread)."""

    name = MANIFEST_STREAM
    primary_keys = ("run_id",)
    replication_key = "finished_at"
    is_sorted = True
    schema = SCHEMA

    def __init__(self, tap: Tap, *, stats: RunStats, report: Callable[[], RunReport]) -> None:
        super().__init__(tap=tap)
        self._stats = stats
        self._report = report

    def post_process(
        self, row: dict[str, Any], context: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Counted like any record, so the summary's total is what the target receives."""
        self._stats.count_record(self.name, "")
        return row

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """One record: the outcome of every selected stream for every tenant."""
        yield manifest_record(self._report())


def manifest_record(report: RunReport) -> dict[str, Any]:
    """The ``sync_runs`` record of one run."""
    stats = report.stats
    tenants = report.tenant_ids
    hosts = {tenant: api_host(report.api_base_urls[tenant]) for tenant in tenants}
    outcomes = []
    for name in report.selected_streams:
        paths = report.paths[name]
        for tenant in tenants:
            ending = stats.ending(name, tenant)
            keys = stats.key_digests.digest(name, tenant)
            status = ending.status if ending else StreamOutcome.COMPLETE
            outcomes.append(
                {
                    "stream": name,
                    "tenant_id": tenant,
                    "status": status.value,
                    "records": stats.tenant_records[name, tenant],
                    "requests": stats.tenant_requests[name, tenant],
                    "reason": ending.reason if ending else None,
                    "distinct_keys": keys.distinct_keys,
                    "key_digest": keys.key_digest,
                    "api_host": hosts[tenant],
                    "paths": paths,
                }
            )
    complete = all(o["status"] == StreamOutcome.COMPLETE for o in outcomes)
    run_status = StreamOutcome.COMPLETE if complete else StreamOutcome.FAILED
    return {
        "run_id": report.run_id,
        "tap": report.tap,
        "tap_version": report.tap_version,
        "started_at": report.started_at,
        "finished_at": utc_now(),
        "status": run_status.value,
        "tenant_ids": tenants,
        "settings_fingerprint": fingerprint(report.settings),
        "selected_streams": report.selected_streams,
        "streams": outcomes,
    }


def api_host(base_url: str) -> str:
    """Host and port of an API base URL (never a user or password it might carry)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


def paths_read(stream: Stream) -> list[str]:
    """The path templates a stream's records come from: its list and detail paths, or, for a
    stream derived from its parent's records (no request of its own), the parent's."""
    cls: Any = type(stream)
    while cls is not None:
        found = [p for p in (getattr(cls, "path", ""), getattr(cls, "detail_path", None)) if p]
        if found:
            return found
        cls = getattr(cls, "parent_stream_type", None)
    return []


def new_run_id() -> str:
    """A fresh run id."""
    return str(uuid.uuid4())
