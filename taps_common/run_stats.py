"""What happened in one run, per stream and per tenant (a Segment workspace, a Fivetran
account): requests, retries, records, and how each stream ended. Progress logs, the end-of-run
summary, the exit code and the ``sync_runs`` manifest all read it, so they cannot disagree."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from taps_common.key_digest import KeyDigests


class StreamOutcome(StrEnum):
    """How a stream ended for one tenant. The values are what the manifest, the logs and the
    warehouse read (a StrEnum is its value wherever it is written)."""

    COMPLETE = "complete"  # read what exists
    FAILED = "failed"  # broke: the run exits non-zero
    SKIPPED = "skipped"  # gated (plan, role, feature off): nothing to read there


@dataclass(frozen=True)
class Ending:
    """Why a stream stopped early for one tenant: ``skipped`` (gated) or ``failed``."""

    status: StreamOutcome
    reason: str


class RunStats:
    """Thread-safe counters and endings; ``tenant`` is "" where an API has one tenant only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.parents: Counter[tuple[str, str, bool]] = Counter()  # count_parent
        self.requests: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()
        self.tenant_requests: Counter[tuple[str, str]] = Counter()
        self.tenant_records: Counter[tuple[str, str]] = Counter()
        self.endings: dict[tuple[str, str], Ending] = {}
        # Primary-key digests per stream and tenant, for the manifest (key_digest.py).
        self.key_digests = KeyDigests()

    def count_retry(self, stream: str) -> None:
        """One request retried (whichever thread sent it)."""
        with self._lock:
            self.retries[stream] += 1

    def count_warning(self, what: str, n: int = 1) -> None:
        """``n`` more of a warning the summary counts instead of logging each."""
        with self._lock:
            self.warnings[what] += n

    def count_request(self, stream: str, tenant: str) -> None:
        """One request sent (whichever thread sent it: pool worker, read-ahead, SDK's)."""
        with self._lock:
            self.requests[stream] += 1
            self.tenant_requests[stream, tenant] += 1

    def assign_request(self, stream: str, tenant: str) -> None:
        """A request made before its tenant was known (the credential check) now has one."""
        with self._lock:
            if self.tenant_requests[stream, ""] > 0:
                self.tenant_requests[stream, ""] -= 1
                self.tenant_requests[stream, tenant] += 1

    def count_record(self, stream: str, tenant: str) -> None:
        """One record emitted: called from the SDK's (single) main thread only, no lock."""
        self.records[stream] += 1
        self.tenant_records[stream, tenant] += 1

    def end(self, stream: str, tenant: str, status: StreamOutcome, reason: str) -> bool:
        """Mark ``stream`` ended for ``tenant``; False when it had ended already (first wins)."""
        with self._lock:
            if (stream, tenant) in self.endings:
                return False
            self.endings[stream, tenant] = Ending(status, reason)
            return True

    def ending(self, stream: str, tenant: str) -> Ending | None:
        """How ``stream`` ended for ``tenant``, or None while it runs or once it completed."""
        return self.endings.get((stream, tenant))

    def with_status(self, status: StreamOutcome) -> dict[tuple[str, str], str]:
        """(stream, tenant) -> reason for every ending of one status."""
        with self._lock:
            return {k: e.reason for k, e in sorted(self.endings.items()) if e.status == status}

    @property
    def skipped(self) -> dict[str, str]:
        """Stream -> reason of its first skip (any tenant)."""
        out: dict[str, str] = {}
        for (stream, _), reason in self.with_status(StreamOutcome.SKIPPED).items():
            out.setdefault(stream, reason)
        return out

    @property
    def failed(self) -> dict[tuple[str, str], str]:
        """(stream, tenant) -> reason of every failure."""
        return self.with_status(StreamOutcome.FAILED)

    def count_parent(self, stream: str, tenant: str, *, not_found: bool, n: int = 1) -> None:
        """``n`` parents read for ``stream`` (its child request, or its detail GET),
        ``not_found`` when those answered 404. Kept per stream and tenant: a stream is complete
        only if its endpoint answered for at least one parent (``parents_answered``)."""
        with self._lock:
            self.parents[stream, tenant, not_found] += n

    def parents_answered(self, stream: str, tenant: str) -> tuple[int, int]:
        """(parents read, of which answered 404) for ``stream`` and ``tenant``."""
        with self._lock:
            found = self.parents[stream, tenant, False]
            missing = self.parents[stream, tenant, True]
        return found + missing, missing
