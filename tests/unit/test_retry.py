"""The retry policy's predicates and each API's wait hints, on typed outcomes built in the test:
no server, no request on the wire, no sleeping."""

from __future__ import annotations

import email.utils
import socket

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from tap_fivetran.api import retry_after_seconds
from tap_segment.api import segment_retry_wait
from taps_common.http_client import (
    Answer,
    RetryPolicy,
    describe,
    status_of,
    unreachable,
)


def rate_limited_body(ms: object) -> dict[str, object]:
    return {"errors": [{"type": "RequestError", "data": {"msBeforeNext": ms}}]}


def as_requests_raises(reason: Exception) -> requests.ConnectionError:
    """A connection error wrapped the way requests and urllib3 wrap it: requests'
    ConnectionError around urllib3's MaxRetryError whose reason is the connection's error."""
    return requests.ConnectionError(MaxRetryError(None, "/", reason))  # type: ignore[arg-type]


# ----- is it retriable ------------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_statuses_that_may_change_are_retried(status: int) -> None:
    assert RetryPolicy().is_retriable(Answer(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501, 505])
def test_statuses_that_will_not_change_are_not(status: int) -> None:
    assert not RetryPolicy().is_retriable(Answer(status))


@pytest.mark.parametrize(
    "error",
    [
        requests.ConnectionError("reset"),
        requests.Timeout("slow"),
        requests.exceptions.ChunkedEncodingError("cut"),
        requests.exceptions.ContentDecodingError("garbled"),
        ConnectionResetError(104, "reset by peer"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transport_errors_are_retried(error: OSError) -> None:
    assert RetryPolicy().is_retriable(error)


def test_other_errors_are_not_retried() -> None:
    assert not RetryPolicy().is_retriable(PermissionError(13, "denied"))


def test_a_policy_may_name_its_own_statuses() -> None:
    policy = RetryPolicy(retriable_statuses=frozenset({503}))
    assert policy.is_retriable(Answer(503)) and not policy.is_retriable(Answer(429))


def test_only_a_429_is_a_rate_limit() -> None:
    policy = RetryPolicy()
    assert policy.is_rate_limited(Answer(429))
    assert not policy.is_rate_limited(Answer(503))
    assert not policy.is_rate_limited(requests.Timeout())


# ----- how long to wait -----------------------------------------------------------------------
def test_the_hint_is_asked_for_answers_only() -> None:
    asked: list[Answer] = []

    def hint(answer: Answer) -> float:
        asked.append(answer)
        return 2.5

    policy = RetryPolicy(wait_hint=hint)
    assert policy.hinted_wait(Answer(429)) == 2.5
    assert policy.hinted_wait(requests.Timeout()) is None
    assert asked == [Answer(429)]
    assert RetryPolicy().hinted_wait(Answer(429)) is None, "no hint by default"


def test_backoff_doubles_from_the_base_up_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(backoff_base_seconds=1.0, backoff_cap_seconds=60.0)
    assert [policy.backoff(n, jitter=1.0) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [policy.backoff(n, jitter=0.0) for n in range(1, 4)] == [0.5, 1, 2], "half at least"
    assert policy.backoff(3, jitter=0.5) == 3.0


def test_retries_end_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    assert [policy.is_exhausted(n) for n in (1, 2, 3)] == [False, False, True]
    assert RetryPolicy(max_retries=0).is_exhausted(1), "0: the first failure is the last"


def test_the_total_wait_is_bounded() -> None:
    policy = RetryPolicy(max_wait_seconds=10.0)
    assert not policy.exceeds_budget(waited=6.0, wait=4.0)
    assert policy.exceeds_budget(waited=6.0, wait=4.5)
    assert policy.exceeds_budget(waited=0.0, wait=11.0)


def test_outcomes_are_named_by_type_and_status() -> None:
    assert describe(Answer(503)) == "HTTP 503" and status_of(Answer(503)) == 503
    timeout = requests.ReadTimeout("read timed out (HTTP 504)")  # text is never read
    assert describe(timeout) == "ReadTimeout" and status_of(timeout) is None


# ----- a host that is not there ---------------------------------------------------------------
def test_a_refused_connection_is_recognised_from_what_requests_raises() -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(requests.ConnectionError) as info:
        requests.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert unreachable(info.value) == "the connection was refused"


def test_a_name_that_does_not_resolve_is_recognised_by_type() -> None:
    gai = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    dns = NameResolutionError("api.example.invalid", None, gai)  # type: ignore[arg-type]
    assert unreachable(as_requests_raises(dns)) == "the host name does not resolve"
    assert unreachable(gai) == "the host name does not resolve"


def test_text_alone_names_no_unreachable_host() -> None:
    """Messages that read like an unreachable host, in types that are not: not recognised."""
    lookalikes = [
        requests.ConnectionError("Name or service not known"),
        as_requests_raises(NewConnectionError(None, "[Errno 111] Connection refused")),  # type: ignore[arg-type]
        requests.Timeout("Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
    ]
    assert [unreachable(error) for error in lookalikes] == [None] * len(lookalikes)


def test_a_chain_that_loops_ends() -> None:
    first, second = OSError("a"), OSError("b")
    first.__context__, second.__context__ = second, first
    assert unreachable(first) is None


# ----- each API's hint ------------------------------------------------------------------------
def test_segment_waits_ms_before_next_from_the_body() -> None:
    assert segment_retry_wait(Answer(429, {}, rate_limited_body(700))) == 0.7
    assert segment_retry_wait(Answer(429, {}, rate_limited_body(-5))) == 0.0


def test_segment_body_hint_beats_the_reset_header() -> None:
    reset = email.utils.formatdate(1_000_005, usegmt=True)
    answer = Answer(429, {"X-RateLimit-Reset": reset}, rate_limited_body(250))
    assert segment_retry_wait(answer, now=1_000_000) == 0.25


def test_segment_falls_back_to_the_reset_header() -> None:
    reset = email.utils.formatdate(1_000_005, usegmt=True)
    for body in (None, {"errors": []}, rate_limited_body("soon"), "<html>busy</html>"):
        answer = Answer(429, {"x-ratelimit-reset": reset}, body)
        assert segment_retry_wait(answer, now=1_000_000) == 5.0, body
    past = Answer(429, {"X-RateLimit-Reset": reset})
    assert segment_retry_wait(past, now=1_000_010) == 0.0


def test_segment_without_a_hint_says_nothing() -> None:
    assert segment_retry_wait(Answer(503)) is None
    assert segment_retry_wait(Answer(429, {"X-RateLimit-Reset": "not a date"})) is None


def test_fivetran_waits_retry_after_seconds() -> None:
    assert retry_after_seconds(Answer(429, {"Retry-After": "2"})) == 2.0
    assert retry_after_seconds(Answer(503, {"retry-after": "0.5"})) == 0.5
    assert retry_after_seconds(Answer(429, {"Retry-After": "-3"})) == 0.0


def test_fivetran_without_a_number_says_nothing() -> None:
    assert retry_after_seconds(Answer(429)) is None
    assert retry_after_seconds(Answer(429, {"Retry-After": "soon"})) is None
