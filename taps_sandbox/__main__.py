"""``python -m taps_sandbox``: run the sandbox for demos, benchmarks and manual checks.

Binds 127.0.0.1 only, prints the base URL of each API and the credentials to use, and runs
until SIGINT/SIGTERM. A busy port is reported plainly (exit 2) instead of a traceback.
"""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from taps_sandbox.base import (
    FIVETRAN_API_KEY,
    FIVETRAN_API_SECRET,
    SEGMENT_TOKEN,
    SEGMENT_TOKEN_2,
    SandboxOptions,
)
from taps_sandbox.server import BROKEN_KINDS, Sandbox, not_found_rules


def _pair(value: str, what: str) -> tuple[str, str]:
    """Split ``LEFT=RIGHT`` (the right side after the last ``=``)."""
    left, sep, right = value.rpartition("=")
    if not sep or not left or not right:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}")
    return left, right


def _gate(value: str) -> tuple[str, int]:
    """``PREFIX=STATUS`` -> (prefix, status)."""
    prefix, status = _pair(value, "PREFIX=STATUS, e.g. /v1/system-keys=403")
    if not status.isdigit():
        raise argparse.ArgumentTypeError(f"status must be a number in {value!r}")
    return prefix, int(status)


def _not_found(value: str) -> tuple[str, str]:
    """``PATH=CODE`` -> (path, code), checked as the server checks it."""
    rule = _pair(value, "PATH=CODE, e.g. /v1/connections/*/sync-history=NotFound")
    try:
        not_found_rules((rule,))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return rule


def _broken(value: str) -> tuple[str, str]:
    """``REGEX=KIND`` -> (regex, kind)."""
    regex, kind = _pair(value, "REGEX=KIND, e.g. ^/v1/groups$=invalid_json")
    if kind not in BROKEN_KINDS:
        raise argparse.ArgumentTypeError(f"kind must be one of {', '.join(BROKEN_KINDS)}")
    return regex, kind


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (they map one to one onto SandboxOptions)."""
    parser = argparse.ArgumentParser(
        prog="python -m taps_sandbox",
        description="Local Segment + Fivetran API sandbox on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to bind (0 = any free port)")
    parser.add_argument("--size", choices=("small", "medium", "large"), default="small")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--rate-limit", type=float, default=0.0, help="requests per second per API (0 = off)"
    )
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deleted-children", type=int, default=0)
    parser.add_argument(
        "--gate",
        type=_gate,
        action="append",
        default=[],
        metavar="PREFIX=STATUS",
        help="answer STATUS under PREFIX (repeatable)",
    )
    parser.add_argument(
        "--not-found",
        type=_not_found,
        action="append",
        default=[],
        metavar="PATH=CODE",
        help="every parent answers 404 CODE on PATH, '*' for its id (repeatable)",
    )
    parser.add_argument(
        "--broken",
        type=_broken,
        action="append",
        default=[],
        metavar="REGEX=KIND",
        help="break matching responses (repeatable)",
    )
    parser.add_argument(
        "--world-step",
        type=int,
        default=0,
        help="start with the world after N changes (taps_sandbox.world; POST /_sandbox/world/N)",
    )
    parser.add_argument("--port-file", type=Path, help="write the bound port to this file")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")
    if not 0.0 <= args.fault_rate <= 1.0:
        parser.error("--fault-rate must be between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Start, announce, wait for a signal, stop."""
    args = parse_args(argv)
    options = SandboxOptions(
        size=args.size,
        seed=args.seed,
        latency_ms=args.latency_ms,
        rate_limit_per_second=args.rate_limit,
        fault_rate=args.fault_rate,
        deleted_children=args.deleted_children,
        gated=tuple(args.gate),
        not_found_for_every_parent=tuple(args.not_found),
        broken=tuple(args.broken),
        world_step=args.world_step,
    )
    sandbox = Sandbox(options, port=args.port)
    try:
        sandbox.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"taps_sandbox: port {args.port} on 127.0.0.1 is busy; choose another "
                "--port or use --port 0 for any free port.",
                file=sys.stderr,
            )
            return 2
        raise
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if args.port_file:
            args.port_file.write_text(f"{sandbox.port}\n", encoding="utf-8")
        print(
            f"segment:  {sandbox.segment_url}  (Bearer token: {SEGMENT_TOKEN}; "
            f"second workspace: {SEGMENT_TOKEN_2})"
        )
        print(
            f"fivetran: {sandbox.fivetran_url}  (api_key: {FIVETRAN_API_KEY}; "
            f"api_secret: {FIVETRAN_API_SECRET})"
        )
        print(
            f"control:  {sandbox.url}/_sandbox/requests | /_sandbox/reset | /_sandbox/health"
            " | /_sandbox/world/N"
        )
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
