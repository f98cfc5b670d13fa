"""A child stream's Singer metrics once per run, not once per parent.

The SDK syncs a child stream once per parent record and, for each, logs "Beginning sync of"
plus a record_count and a sync_duration METRIC line. A run over 2,000 connections wrote about
47,000 such lines, which Meltano reads and re-logs one by one while the tap runs; they also
hide the lines that matter. Here a child stream keeps one record counter and one timer for the
whole run (the SDK's public ``get_record_counter`` / ``get_sync_timer`` hooks): the counter
still logs every ``log_interval`` while records flow, and the tap logs each child's totals once
at the end of the run. "Beginning sync of" is logged for a child's first parent only.

All of it runs on the SDK's thread (the SDK syncs streams and writes metrics there).
"""

from __future__ import annotations

import logging
import time
from types import TracebackType
from typing import Any, Self

from singer_sdk import Stream, metrics

BEGINNING_SYNC = "Beginning sync of"  # the SDK's per-context opening line


class RunCounter(metrics.Counter):
    """A record counter that spans every parent of a child stream: entering and leaving one
    parent's sync neither resets nor logs it (``log_total`` does, once)."""

    def __enter__(self) -> Self:
        """Keep counting across parents."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """One parent done: nothing to log yet."""

    def log_total(self) -> None:
        """The run's last count for this stream (what is left since the last periodic line)."""
        self.tags.pop(metrics.Tag.CONTEXT, None)
        self.exit()


class RunTimer(metrics.Timer):
    """A sync timer summing the time spent in each parent's sync of one child stream."""

    def __init__(self, metric: metrics.Metric, tags: dict[str, Any] | None = None) -> None:
        super().__init__(metric, tags)
        self.total = 0.0
        self.failed = False

    def __enter__(self) -> Self:
        """Time one parent's sync."""
        self.start_time = time.time()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """Add it to the run's total."""
        self.total += self.elapsed()
        self.failed = self.failed or exc_type is not None

    def log_total(self) -> None:
        """The summed sync time of the run, once."""
        self.tags.pop(metrics.Tag.CONTEXT, None)
        self.tags[metrics.Tag.STATUS] = (
            metrics.Status.FAILED if self.failed else metrics.Status.SUCCEEDED
        )
        metrics.log(self.logger, metrics.Point("timer", self.metric, self.total, self.tags))


class MetricsPerRun(Stream):
    """Stream mixin: child streams report metrics per run; top-level streams as the SDK does."""

    _run_counter: RunCounter | None = None
    _run_timer: RunTimer | None = None
    _announced = False

    def get_record_counter(
        self, *, endpoint: str | None = None, log_interval: float = metrics.DEFAULT_LOG_INTERVAL
    ) -> metrics.Counter:
        """One counter for the whole run when this stream syncs once per parent."""
        if self.parent_stream_type is None:
            return super().get_record_counter(endpoint=endpoint, log_interval=log_interval)
        if self._run_counter is None:
            tags: dict[str, Any] = {metrics.Tag.STREAM: self.name}
            if endpoint:
                tags[metrics.Tag.ENDPOINT] = endpoint
            self._run_counter = RunCounter(metrics.Metric.RECORD_COUNT, tags, log_interval)
        return self._run_counter

    def get_sync_timer(self) -> metrics.Timer:
        """One timer for the whole run when this stream syncs once per parent."""
        if self.parent_stream_type is None:
            return super().get_sync_timer()
        if self._run_timer is None:
            tags: dict[str, Any] = {metrics.Tag.STREAM: self.name}
            self._run_timer = RunTimer(metrics.Metric.SYNC_DURATION, tags)
        return self._run_timer

    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        """As the SDK's, but a child stream announces its sync once, not once per parent."""
        if self.parent_stream_type is not None and message.startswith(BEGINNING_SYNC):
            if self._announced:
                return
            self._announced = True
            message += " (once per parent; logged for the first only)"
        super().log(message, *args, level=level, **kwargs)

    def log_run_metrics(self) -> None:
        """The run's totals of a child stream that synced (end of run, SDK's thread)."""
        counter, self._run_counter = self._run_counter, None
        timer, self._run_timer = self._run_timer, None
        if counter is not None:
            counter.log_total()
        if timer is not None:
            timer.log_total()
