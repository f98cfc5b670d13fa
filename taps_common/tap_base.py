"""The Tap base both taps share: settings checks, run-wide pool and stats, progress, summary."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import click
from jsonschema import Draft7Validator
from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError

from taps_common.errors import ApiResponseError
from taps_common.fanout import FanoutPool
from taps_common.http_client import RetryPolicy
from taps_common.manifest import MANIFEST_STREAM, SyncRunsStream, new_run_id, utc_now
from taps_common.message_writer import BatchedMsgSpecWriter
from taps_common.run_stats import RunStats
from taps_common.settings import common_errors

DIST_NAME = "control-plane-taps"


class ControlPlaneTap(Tap):
    """Base tap: validates settings into one line each, owns the run's pool and counters."""

    package_name = DIST_NAME
    message_writer_class = BatchedMsgSpecWriter  # msgspec JSON lines, records batched
    secret_settings: tuple[str, ...] = ()

    # ----- settings ----------------------------------------------------------------------
    def tap_errors(self, config: Mapping[str, Any]) -> list[str]:
        """Tap-specific setting errors (credentials, region, ...)."""
        return []

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        config = self._config
        errors = self.tap_errors(config) + common_errors(config)
        named = {e.split("'")[1] for e in errors if "'" in e}
        schema = dict(self.config_jsonschema)
        self.append_builtin_config(schema)
        for err in Draft7Validator(schema).iter_errors(config):
            text = self._describe_schema_error(err)
            setting = text.split("'")[1] if "'" in text else ""
            if setting not in named:
                named.add(setting)
                errors.append(text)
        if errors and raise_errors:
            lines = [f"{self.name}: {e}" for e in errors]
            raise ConfigValidationError(lines[0], errors=lines, schema=None)
        return errors

    def _describe_schema_error(self, err: Any) -> str:
        path = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "required":
            missing = str(err.message).split("'")[1] if "'" in str(err.message) else "?"
            return f"setting '{(path + '.') if path else ''}{missing}' is missing"
        name = path or "?"
        limits = {
            "minimum": f"must be at least {err.validator_value}",
            "maximum": f"must be at most {err.validator_value}",
            "type": f"must be of type {err.validator_value}",
            "enum": f"must be one of {err.validator_value}",
            "format": f"must be a valid {err.validator_value}",
        }
        # Never echo the value itself: it may be a credential.
        return f"setting '{name}' {limits.get(err.validator, 'is not valid')}"

    # ----- run-wide machinery --------------------------------------------------------------
    @cached_property
    def stats(self) -> RunStats:
        """Counters for progress logs and the end-of-run summary."""
        return RunStats()

    @cached_property
    def fanout(self) -> FanoutPool:
        """The bounded worker pool for per-parent requests."""
        return FanoutPool(int(self.config.get("max_concurrency", 8)))

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """Retry bounds from settings."""
        return RetryPolicy(
            max_retries=int(self.config.get("max_retries", 8)),
            max_wait_seconds=float(self.config.get("max_retry_wait_seconds", 600)),
            backoff_base_seconds=float(self.config.get("backoff_base_seconds", 1.0)),
        )

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

    def data_shaping_settings(self) -> dict[str, Any]:
        """The settings that decide what the data holds (no credential): fingerprinted."""
        return {
            "start_date": self.config.get("start_date"),
            "redact_secrets": self.config.get("redact_secrets", True),
            "selected_streams": self.selected_data_streams(),
        }

    def selected_data_streams(self) -> list[str]:
        """Names of the selected API streams (the manifest itself excluded)."""
        return [s.name for s in self.streams.values() if s.selected and s.name != MANIFEST_STREAM]

    def with_manifest(self, streams: list) -> list:
        """The API streams followed by ``sync_runs`` (last, so it sees every outcome)."""
        return [*streams, SyncRunsStream(self)]

    def load_streams(self) -> list:
        """The SDK's order (by name), with the manifest moved last: the SDK syncs streams in
        this order, and the manifest must see every other stream's outcome."""
        streams = super().load_streams()
        return [s for s in streams if s.name != MANIFEST_STREAM] + [
            s for s in streams if s.name == MANIFEST_STREAM
        ]

    def activate_completed_streams(self) -> None:
        """ACTIVATE_VERSION for each full-table stream that is whole (idempotent)."""
        for stream in self.streams.values():
            activate = getattr(stream, "activate_version", None)
            if activate is not None:
                activate()

    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """``--test``: the SDK's callback, with bad settings or rejected credentials reported
        as the one-line errors a sync prints (and exit 1) instead of a traceback."""
        try:
            super().cb_test(ctx, param, value)
        except ConfigValidationError as exc:
            for error in exc.errors or [str(exc)]:
                cls.logger.error("%s", error)
            ctx.exit(1)
        except ApiResponseError as exc:
            cls.logger.error("%s: %s", cls.name, exc)
            ctx.exit(1)

    def check_credentials(self) -> str:
        """One request per API connection; return a one-line description of who we are."""
        raise NotImplementedError

    def preflight(self) -> None:
        """Called before streams sync: prove the credentials with one request."""

    def run_connection_test(self) -> bool:
        """``--test``: one cheap request per API connection, then report ok or what failed."""
        detail = self.check_credentials()
        self.logger.info("%s: credentials ok (%s)", self.name, detail)
        print(f"{self.name}: credentials ok ({detail})")
        return True

    def sync_all(self) -> None:
        """Sync with periodic progress logs and a summary at the end."""
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
            super().sync_all()  # a failing stream ends only itself (ApiStream.get_records)
            self.activate_completed_streams()
            ok = not self.stats.failed
        except ApiResponseError as exc:
            # Rejected credentials or an unreachable host: nothing else can succeed. One line.
            self.logger.error("%s: %s", self.name, exc)
            raise SystemExit(1) from None
        finally:
            stop.set()
            self.fanout.shutdown()
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
        interval = float(self.config.get("progress_interval_seconds", 30))
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
        for (name, tenant), reason in s.with_status("skipped").items():
            self.logger.info("summary: skipped stream %s%s: %s", name, _for(tenant), reason)
        for (name, tenant), reason in s.failed.items():
            self.logger.error("summary: FAILED stream %s%s: %s", name, _for(tenant), reason)
        for what, count in sorted(s.warnings.items()):
            self.logger.info("summary: %s: %d", what, count)


def _for(tenant: str) -> str:
    return f" (tenant {tenant})" if tenant else ""
