"""One clean sandbox for the whole session (started at configure time, so the SDK's built-in
tap tests can read its URL while collecting), plus configs pointing the taps at it."""

from __future__ import annotations

from typing import Any

import pytest

from taps_sandbox.base import (
    FIVETRAN_API_KEY,
    FIVETRAN_API_SECRET,
    SEGMENT_TOKEN,
    SandboxOptions,
)
from taps_sandbox.server import Sandbox
from tests.reliability import (  # noqa: F401  (the README table's plugin hooks)
    pytest_collection_finish,
    pytest_runtest_logreport,
    pytest_terminal_summary,
)

SHARED: dict[str, Any] = {}

# Small pages exercise pagination; fast backoff keeps fault tests short.
FAST = {"page_size": 3, "backoff_base_seconds": 0.01, "request_timeout": 5, "max_retries": 8}


def pytest_configure(config: pytest.Config) -> None:
    """Start the shared sandbox before collection."""
    # Endpoint rate limits count per credential over a minute; the suite makes dozens of runs
    # a minute with one token, so the shared sandbox leaves them to tests/test_isolation.py.
    sandbox = Sandbox(SandboxOptions(endpoint_rate_limits=False))
    sandbox.start()
    SHARED["sandbox"] = sandbox


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop it at the end."""
    sandbox = SHARED.pop("sandbox", None)
    if sandbox is not None:
        sandbox.stop()


def segment_config(sandbox: Sandbox | None = None, **extra: Any) -> dict[str, Any]:
    """tap-segment settings for a sandbox (the shared one by default)."""
    sb = sandbox or SHARED["sandbox"]
    return {"token": SEGMENT_TOKEN, "api_url": sb.segment_url, **FAST, **extra}


def fivetran_config(sandbox: Sandbox | None = None, **extra: Any) -> dict[str, Any]:
    """tap-fivetran settings for a sandbox (the shared one by default)."""
    sb = sandbox or SHARED["sandbox"]
    return {
        "api_key": FIVETRAN_API_KEY,
        "api_secret": FIVETRAN_API_SECRET,
        "api_url": sb.fivetran_url,
        **FAST,
        **extra,
    }


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """The shared, clean sandbox."""
    return SHARED["sandbox"]


@pytest.fixture
def make_sandbox():
    """Start extra sandboxes with their own options; stopped after the test."""
    started: list[Sandbox] = []

    def start(**options: Any) -> Sandbox:
        sb = Sandbox(SandboxOptions(**options))
        sb.start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()
