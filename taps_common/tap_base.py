"""The Tap base both taps share: the command line, the run (checks, manifest, summary, exit
code), the run-wide scheduler and stats, progress logs."""

from __future__ import annotations

import json
import threading
import time
from functools import cached_property
from typing import IO, Any

import click
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.tap_base import CliTestOptionValue

from taps_common.errors import ApiResponseError
from taps_common.http_client import Answer, RetryPolicy
from taps_common.manifest import (
    MANIFEST_STREAM,
    RunReport,
    SyncRunsStream,
    new_run_id,
    paths_read,
    utc_now,
)
from taps_common.message_writer import BatchedMsgSpecWriter
from taps_common.run_metrics import MetricsPerRun
from taps_common.run_stats import RunStats, StreamOutcome
from taps_common.scheduler import Scheduler
from taps_common.sdk_overrides import SettingsCheckedInOneLine
from taps_common.settings import CommonSettings

DIST_NAME = "control-plane-taps"


class ControlPlaneTap(SettingsCheckedInOneLine):
    """Base tap: validates settings into one line each, owns the run's scheduler and stats."""

    package_name = DIST_NAME
    message_writer_class = BatchedMsgSpecWriter  # msgspec JSON lines, records batched
    secret_settings: tuple[str, ...] = ()

    # ----- run-wide machinery --------------------------------------------------------------
    @cached_property
    def settings(self) -> CommonSettings:
        """The settings, typed and with the schema's defaults (parsed once, after validation)."""
        return CommonSettings.parse(self.config, self.config_jsonschema)

    @cached_property
    def stats(self) -> RunStats:
        """Counters for progress logs and the end-of-run summary."""
        return RunStats()

    @cached_property
    def scheduler(self) -> Scheduler:
        """The run's scheduler: request slots, worker pool, results waiting for the SDK."""
        return Scheduler(self.settings.max_concurrency)

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """Retry bounds from settings, and the API's own reading of how long to wait."""
        return RetryPolicy(
            max_retries=self.settings.max_retries,
            max_wait_seconds=self.settings.max_retry_wait_seconds,
            backoff_base_seconds=self.settings.backoff_base_seconds,
            wait_hint=self.retry_wait,
        )

    def retry_wait(self, answer: Answer) -> float | None:
        """Seconds the API asks to wait after a retriable ``answer`` (a header or the body),
        or None to back off; each tap reads its API's hints."""
        return None

    @cached_property
    def user_agent(self) -> str:
        """``tap-x/<version>``: lets the API owner see who calls."""
        return f"{self.name}/{self.plugin_version}"

    # ----- tenants and the run manifest ------------------------------------------------------
    run_id: str = ""
    run_started_at: str = ""

    def tenant_ids(self) -> list[str]:
        """Every workspace or account this run reads (after the credential check)."""
        raise NotImplementedError

    def api_base_url(self, tenant: str) -> str:
        """The API base URL ``tenant`` is read from: the manifest names its host."""
        raise NotImplementedError

    def data_shaping_settings(self) -> dict[str, Any]:
        """The settings that decide what the data holds (no credential): fingerprinted.
        ``start_date`` as written (not parsed), so the fingerprint of a run stays what it was."""
        return {
            "start_date": self.config.get("start_date"),
            "redact_secrets": self.settings.redact_secrets,
            "selected_streams": self.selected_data_streams(),
        }

    def selected_data_streams(self) -> list[str]:
        """Names of the selected API streams (the manifest itself excluded)."""
        return [s.name for s in self.streams.values() if s.selected and s.name != MANIFEST_STREAM]

    def with_manifest(self, streams: list[Stream]) -> list[Stream]:
        """The API streams followed by ``sync_runs`` (last, so it sees every outcome)."""
        return [*streams, SyncRunsStream(self, stats=self.stats, report=self.run_report)]

    def run_report(self) -> RunReport:
        """What the manifest reports, once every other stream ran: ACTIVATE_VERSION for the
        whole streams first (deletions are announced before the manifest), then the selected
        streams, the tenants and where each was read, the settings, the stats."""
        self.activate_completed_streams()
        selected = self.selected_data_streams()
        tenants = self.tenant_ids()
        return RunReport(
            run_id=self.run_id,
            tap=self.name,
            tap_version=self.plugin_version,
            started_at=self.run_started_at,
            selected_streams=selected,
            tenant_ids=tenants,
            api_base_urls={tenant: self.api_base_url(tenant) for tenant in tenants},
            paths={name: paths_read(self.streams[name]) for name in selected},
            settings=self.data_shaping_settings(),
            stats=self.stats,
        )

    def manifest_last(self) -> None:
        """The SDK syncs streams in the order of ``streams`` (by name): the manifest goes last,
        so it sees every other stream's outcome."""
        streams = self.streams
        if MANIFEST_STREAM in streams:
            streams[MANIFEST_STREAM] = streams.pop(MANIFEST_STREAM)

    def log_run_metrics(self) -> None:
        """Each child stream's record count and sync time for the run, once (run_metrics)."""
        for stream in self.streams.values():
            if isinstance(stream, MetricsPerRun):
                stream.log_run_metrics()

    def activate_completed_streams(self) -> None:
        """ACTIVATE_VERSION for each full-table stream that is whole (idempotent)."""
        for stream in self.streams.values():
            activate = getattr(stream, "activate_version", None)
            if activate is not None:
                activate()

    # ----- command line ------------------------------------------------------------------------
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
        """The SDK's sync command, running ``run_sync`` (checks, isolation, summary, exit code)
        instead of the bare ``sync_all``. (``kwargs``: the plugin base's signature; the CLI
        passes only the options named here.)"""
        super(Tap, cls).invoke(about=about, about_format=about_format)  # --about, as the SDK
        cls.print_version(print_fn=cls.logger.info)
        tap = cls(
            config=config.config if config else None,
            state=None if state is None else json.load(state),
            catalog=None if catalog is None else json.load(catalog),
            parse_env_config=bool(config and config.parse_env),
            validate_config=True,
        )
        tap.run_sync()

    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """``--test``: one request per API connection (``check_connection``); bad settings or
        rejected credentials are the one-line errors a sync prints, and exit 1."""
        if value == CliTestOptionValue.Disabled.value:
            return
        config = ctx.params.get("config")
        try:
            tap = cls(
                config=config.config if config else None,
                parse_env_config=bool(config and config.parse_env),
                validate_config=True,
            )
            if value == CliTestOptionValue.Schema.value:
                tap.write_schemas()
            else:
                tap.check_connection()
        except ConfigValidationError as exc:
            for error in exc.errors or [str(exc)]:
                cls.logger.error("%s", error)
            ctx.exit(1)
        except ApiResponseError as exc:
            cls.logger.error("%s: %s", cls.name, exc)
            ctx.exit(1)
        ctx.exit()

    def check_credentials(self) -> str:
        """One request per API connection; return a one-line description of who we are."""
        raise NotImplementedError

    def preflight(self) -> None:
        """Called before streams sync: prove the credentials with one request."""

    def check_connection(self) -> None:
        """One cheap request per API connection, then say who the credentials belong to."""
        detail = self.check_credentials()
        self.logger.info("%s: credentials ok (%s)", self.name, detail)
        print(f"{self.name}: credentials ok ({detail})")

    def run_sync(self) -> None:
        """The SDK's ``sync_all`` with the credential check first, progress logs, the
        manifest last, ACTIVATE_VERSION for whole streams, the summary and the exit code."""
        started = time.monotonic()
        stop = threading.Event()
        reporter = threading.Thread(
            target=self._report_progress, args=(stop, started), daemon=True, name="progress"
        )
        reporter.start()
        self.run_id, self.run_started_at = new_run_id(), utc_now()
        ok = False
        try:
            self.preflight()
            self.manifest_last()
            self.sync_all()  # a failing stream ends only itself (ApiStream.get_records)
            self.log_run_metrics()
            self.activate_completed_streams()
            ok = not self.stats.failed
        except ApiResponseError as exc:
            # Rejected credentials or an unreachable host: nothing else can succeed. One line.
            self.logger.error("%s: %s", self.name, exc)
            raise SystemExit(1) from None
        finally:
            stop.set()
            self.scheduler.shutdown()
            if isinstance(self.message_writer, BatchedMsgSpecWriter):
                self.message_writer.flush()
            self._log_summary(started, ok=ok)
        if not ok:
            failed = sorted({stream for stream, _ in self.stats.failed})
            self.logger.error(
                "%s: %d stream(s) failed: %s (every other stream synced; see the summary)",
                self.name,
                len(failed),
                ", ".join(failed),
            )
            raise SystemExit(1)

    def _report_progress(self, stop: threading.Event, started: float) -> None:
        interval = self.settings.progress_interval_seconds
        while not stop.wait(interval):
            s = self.stats
            busy = ", ".join(
                f"{name}={s.records.get(name, 0)} records/{s.requests.get(name, 0)} requests"
                for name in sorted(set(s.requests) | set(s.records))
            )
            self.logger.info(
                "progress after %.0f s: %d requests, %d retries; %s",
                time.monotonic() - started,
                sum(s.requests.values()),
                sum(s.retries.values()),
                busy or "no requests yet",
            )

    def _log_summary(self, started: float, *, ok: bool) -> None:
        s = self.stats
        self.logger.info(
            "summary: %s in %.1f s; %d streams with records, %d records, %d requests, "
            "%d retries, %d skipped streams, %d failed streams",
            "finished" if ok else "FAILED",
            time.monotonic() - started,
            sum(1 for v in s.records.values() if v),
            sum(s.records.values()),
            sum(s.requests.values()),
            sum(s.retries.values()),
            len(s.skipped),
            len({stream for stream, _ in s.failed}),
        )
        for name in sorted(s.records):
            self.logger.info(
                "summary: stream %s: %d records, %d requests, %d retries",
                name,
                s.records[name],
                s.requests.get(name, 0),
                s.retries.get(name, 0),
            )
        for (name, tenant), reason in s.with_status(StreamOutcome.SKIPPED).items():
            self.logger.info("summary: skipped stream %s%s: %s", name, _for(tenant), reason)
        for (name, tenant), reason in s.failed.items():
            self.logger.error("summary: FAILED stream %s%s: %s", name, _for(tenant), reason)
        for what, count in sorted(s.warnings.items()):
            self.logger.info("summary: %s: %d", what, count)


def _for(tenant: str) -> str:
    return f" (tenant {tenant})" if tenant else ""
