"""ReadAhead on its own: a fake page producer that counts what it made against what the
consumer took, so the bound, the stop and the error path are seen from outside."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from taps_common.read_ahead import ReadAhead
from tests.unit.fakes import HANG_GUARD, run_bounded


class CountingPages:
    """An endless (or ``count``-long) page producer. Before it makes another page it notes
    how many pages it has handed out that the consumer has not asked for yet."""

    def __init__(self, count: int | None = None, fail_after: int | None = None) -> None:
        self.count = count
        self.fail_after = fail_after
        self.made = 0
        self.asked = 0  # the consumer counts a page before it asks, so this is never behind
        self.most_ahead = 0
        self.ended = threading.Event()  # the producer's generator is finished or closed

    def __call__(self) -> Iterator[list[dict[str, Any]]]:
        try:
            for n in itertools.count() if self.count is None else range(self.count):
                if self.fail_after is not None and n == self.fail_after:
                    raise RuntimeError("the API went away mid-walk")
                # Pages made and not yet asked for, as this one is about to be requested.
                self.most_ahead = max(self.most_ahead, self.made - self.asked)
                self.made += 1
                yield [{"page": n}]
        finally:
            self.ended.set()

    def take(self, pages: ReadAhead) -> list[dict[str, Any]]:
        self.asked += 1
        return next(pages)


@pytest.mark.parametrize("depth", [1, 2])
def test_never_more_than_depth_pages_ahead_of_the_consumer(depth):
    source = CountingPages()
    pages = ReadAhead(source, depth=depth)
    try:
        for n in range(15):
            # A slow consumer (the SDK writing): the producer gets the time to run ahead as
            # far as it is allowed to; the pause is an opportunity, nothing is timed.
            time.sleep(0.01)
            assert source.take(pages) == [{"page": n}]
    finally:
        pages.close()
    # ``depth`` pages wait in the queue; one more is in the producer's hand while it waits
    # for room, and no further page is requested until the consumer takes one.
    assert source.most_ahead == depth


def test_close_stops_an_endless_producer():
    source = CountingPages()
    pages = ReadAhead(source, depth=2)
    assert next(pages) == [{"page": 0}]
    run_bounded(pages.close)
    assert source.ended.wait(HANG_GUARD), "the producer ended: no request after close"
    made = source.made
    with pytest.raises(StopIteration):
        next(pages)
    assert source.made == made


def test_close_before_the_first_page_stops_the_producer_too():
    # A warmed stream that ends (for its tenant) before the SDK reaches it is closed unread.
    source = CountingPages()
    pages = ReadAhead(source, depth=2)
    run_bounded(pages.close)
    assert source.ended.wait(HANG_GUARD)


def test_an_error_in_the_producer_reaches_the_consumer_after_its_pages():
    source = CountingPages(fail_after=3)
    pages = ReadAhead(source, depth=2)
    got = []
    with pytest.raises(RuntimeError, match="went away"):
        for page in pages:
            got.append(page)
    assert got == [[{"page": n}] for n in range(3)]
    assert source.ended.is_set()


def test_a_finite_producer_ends_the_iteration():
    pages = ReadAhead(CountingPages(count=5), depth=2)
    assert [page[0]["page"] for page in run_bounded(lambda: list(pages))] == [0, 1, 2, 3, 4]
    with pytest.raises(StopIteration):
        next(pages)
