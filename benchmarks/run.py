"""Benchmark both taps against the sandbox: requests, records, wall time, speed-up, memory.

Not part of the test suite. Every run is a subprocess (the tap's own console script) with a
timeout, against a sandbox on 127.0.0.1. Prints one line per run and PASS/FAIL per goal:

  speed-up (requests x latency / wall) >= 10x       wall <= 1.2 x requests x latency / concurrency
  the same messages as at max_concurrency 1 (records in order per stream, every STATE)
  peak RSS < 200 MB, flat across sizes
  audit_events >= 20,000 records/s at 0 ms latency

Usage: python benchmarks/run.py [--tap both] [--size large] [--latency-ms 100]
       [--concurrency 16] [--baseline-size large|medium|small|none] [--repeat 1]
       [--rate-limit 0] [--max-rps 0] [--skip-audit] [--skip-memory]
       python benchmarks/run.py --pipeline [--warehouses duckdb,postgres] [--size large]
       [--latency-ms 100] [--concurrency 16]     (the whole evidence job: benchmarks/pipeline.py)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import BIN, measure, tap_config  # noqa: E402
from benchmarks.pipeline import pipeline  # noqa: E402
from taps_sandbox.base import SandboxOptions  # noqa: E402
from taps_sandbox.fivetran import SIZES as FIVETRAN_SIZES  # noqa: E402
from taps_sandbox.segment import LARGE as SEGMENT_LARGE  # noqa: E402
from taps_sandbox.server import Sandbox  # noqa: E402

LARGE_COUNTS = {"segment": SEGMENT_LARGE, "fivetran": FIVETRAN_SIZES["large"]}

# Every sandbox of one benchmark serves the same audit trail, so runs compare message by message.
CLOCK_ANCHOR = datetime.now(UTC).timestamp()


@dataclass
class Result:
    """One run's figures."""

    tap: str
    size: str
    concurrency: int
    latency_ms: float
    requests: int
    records: int
    wall: float
    rss_mb: float
    status429: int
    keys: dict[str, set] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)  # per stream, and "STATE"

    @property
    def sequential(self) -> float:
        """What the same requests cost one at a time: requests x latency."""
        return self.requests * self.latency_ms / 1000

    def line(self) -> str:
        """The printed row."""
        speedup = self.sequential / self.wall if self.wall and self.latency_ms else float("nan")
        return (
            f"{self.tap:9} size={self.size:6} conc={self.concurrency:2} "
            f"latency={self.latency_ms:5.0f}ms requests={self.requests:6} "
            f"records={self.records:7} wall={self.wall:7.1f}s seq={self.sequential:7.1f}s "
            f"speedup={speedup:5.1f}x rss={self.rss_mb:6.1f}MB "
            f"rec/s={self.records / self.wall:8.0f} 429s={self.status429}"
        )


def run_once(
    tap: str,
    size: str,
    concurrency: int,
    latency_ms: float,
    *,
    rate_limit: float = 0,
    max_rps: float = 0,
    catalog: dict | None = None,
) -> Result:
    """Start a sandbox, run the tap once, count what came out."""
    counts = {}
    if size == "large2x":  # every collection twice the large size
        counts = {k: 2 * v for k, v in LARGE_COUNTS[tap].items()}
    options = SandboxOptions(
        size="large" if size == "large2x" else size,
        counts=counts,
        latency_ms=latency_ms,
        rate_limit_per_second=rate_limit,
        clock_anchor=CLOCK_ANCHOR,
    )
    with Sandbox(options) as sandbox, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "config.json")
        config.write_text(json.dumps(tap_config(tap, sandbox, concurrency, max_rps)))
        cmd = [str(BIN / f"tap-{tap}"), "--config", str(config)]
        if catalog is not None:
            path = Path(tmp, "catalog.json")
            path.write_text(json.dumps(catalog))
            cmd += ["--catalog", str(path)]
        out, wall, rss = measure(cmd)
        log = sandbox.requests(tap)
    keys: dict[str, set] = {}
    pks: dict[str, list] = {}
    hashes: dict[str, Any] = {}
    records = 0
    for line in out.splitlines():
        if b'"type":"SCHEMA"' in line[:40]:
            msg = json.loads(line)
            pks[msg["stream"]] = msg["key_properties"]
        elif line.startswith(b'{"type":"RECORD"'):
            records += 1
            msg = json.loads(line)
            if msg["stream"] == "sync_runs":  # the manifest: a new run id every run
                continue
            pk = pks[msg["stream"]]
            keys.setdefault(msg["stream"], set()).add(tuple(msg["record"].get(k) for k in pk))
            digest = hashes.setdefault(msg["stream"], hashlib.sha256())
            digest.update(json.dumps(msg["record"], sort_keys=True).encode())
        elif line.startswith(b'{"type":"STATE"'):
            value = json.loads(line)["value"]
            bookmarks = value.get("bookmarks", {})
            bookmarks.pop("sync_runs", None)  # the manifest's finish time
            for bookmark in bookmarks.values():  # the SDK's signpost is the run's start instant
                bookmark.pop("replication_key_signpost", None)
            digest = hashes.setdefault("STATE", hashlib.sha256())
            digest.update(json.dumps(value, sort_keys=True).encode())
    served = Counter(r["status"] for r in log)
    digests = {name: h.hexdigest() for name, h in hashes.items()}
    return Result(
        tap, size, concurrency, latency_ms, len(log), records, wall, rss, served[429], keys, digests
    )


def audit_only_catalog() -> dict:
    """tap-segment's catalog with only audit_events selected."""
    proc = subprocess.run(
        [str(BIN / "tap-segment"), "--discover"], capture_output=True, check=True, timeout=120
    )
    catalog = json.loads(proc.stdout)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == "audit_events"
    return catalog


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def main() -> int:
    """Run what the options ask and print figures and verdicts."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--tap", choices=["segment", "fivetran", "both"], default="both")
    parser.add_argument("--size", default="large")
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--baseline-size", default="large", help="size of the concurrency-1 run, or none"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per figure; medians are printed"
    )
    parser.add_argument(
        "--rate-limit", type=float, default=0, help="sandbox requests/s (429 above)"
    )
    parser.add_argument(
        "--max-rps", type=float, default=0, help="the tap's max_requests_per_second"
    )
    parser.add_argument("--skip-audit", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--pipeline", action="store_true", help="the evidence job per warehouse, not the taps"
    )
    parser.add_argument("--warehouses", default="duckdb,postgres", help="for --pipeline")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each figure as soon as it is measured
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if args.pipeline:
        verdicts = pipeline(
            args.size,
            args.latency_ms,
            args.concurrency,
            [w.strip() for w in args.warehouses.split(",") if w.strip()],
            CLOCK_ANCHOR,
        )
        print("\n" + "\n".join(verdicts))
        return 0 if all(v.startswith("PASS") for v in verdicts) else 1
    taps = ["segment", "fivetran"] if args.tap == "both" else [args.tap]
    verdicts: list[str] = []
    for tap in taps:
        runs = [
            run_once(
                tap,
                args.size,
                args.concurrency,
                args.latency_ms,
                rate_limit=args.rate_limit,
                max_rps=args.max_rps,
            )
            for _ in range(max(1, args.repeat))
        ]
        for run in runs:
            print(run.line())
        wall = statistics.median(r.wall for r in runs)
        best = runs[0]
        speedup = best.sequential / wall
        bound = 1.2 * best.sequential / args.concurrency
        verdicts.append(f"{verdict(speedup >= 10)} {tap}: speed-up {speedup:.1f}x (goal >= 10x)")
        verdicts.append(
            f"{verdict(wall <= bound)} {tap}: wall {wall:.1f}s <= 1.2 x requests x latency / "
            f"concurrency = {bound:.1f}s "
            f"(ratio {wall * args.concurrency / max(best.sequential, 1e-9):.2f})"
        )
        verdicts.append(
            f"{verdict(best.rss_mb < 200)} {tap}: peak RSS {best.rss_mb:.0f} MB (< 200)"
        )
        if args.baseline_size != "none":
            base = run_once(tap, args.baseline_size, 1, args.latency_ms)
            print(base.line() + "   <- baseline, max_concurrency 1")
            if args.baseline_size == args.size:
                same = base.keys == best.keys
                lost = sum(len(v - best.keys.get(k, set())) for k, v in base.keys.items())
                verdicts.append(
                    f"{verdict(same)} {tap}: same primary keys as max_concurrency 1 "
                    f"({lost} lost, {best.records - base.records:+d} records)"
                )
                differ = sorted(k for k in base.digests if base.digests[k] != best.digests.get(k))
                verdicts.append(
                    f"{verdict(not differ and base.digests == best.digests)} {tap}: the same "
                    f"records in order and STATE as max_concurrency 1"
                    + (f" (differ: {', '.join(differ)})" if differ else "")
                )
        if not args.skip_memory and args.size == "large":
            large = run_once(tap, "large", args.concurrency, 0)
            double = run_once(tap, "large2x", args.concurrency, 0)
            print(large.line() + "   <- memory, large")
            print(double.line() + "   <- memory, every collection 2x large")
            flat = double.rss_mb < 200 and double.rss_mb < large.rss_mb * 1.25
            verdicts.append(
                f"{verdict(flat)} {tap}: RSS large {large.rss_mb:.0f} MB vs 2x large "
                f"{double.rss_mb:.0f} MB (records x{double.records / max(1, large.records):.1f})"
            )
    if not args.skip_audit and "segment" in taps:
        catalog = audit_only_catalog()
        audits = [
            run_once("segment", "large", args.concurrency, 0, catalog=catalog)
            for _ in range(max(1, args.repeat))
        ]
        for run in audits:
            print(run.line() + "   <- audit_events only, 0 ms")
        rate = statistics.median(r.records / r.wall for r in audits)
        verdicts.append(f"{verdict(rate >= 20000)} audit_events: {rate:.0f} records/s (>= 20,000)")
    print()
    print("\n".join(verdicts))
    return 0 if all(v.startswith("PASS") for v in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
