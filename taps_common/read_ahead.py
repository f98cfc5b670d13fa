"""Fetch the next page while the SDK writes this one: a producer thread and a bounded queue.

The page iterator runs on the producer thread (it reads no state: plans are computed by the
caller on the SDK's thread); the consumer is the SDK's thread. Closing it stops the producer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, cast

Page = list[dict[str, Any]]

_DONE = object()


class ReadAhead(Iterator[Page]):
    """Pages of ``make_pages()`` produced on a thread of their own from the moment this is
    made (so a stream can be started before the SDK reaches it), at most ``depth`` held."""

    def __init__(self, make_pages: Callable[[], Iterator[Page]], depth: int = 2) -> None:
        self._pages: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._make_pages = make_pages
        self._done = False
        self._worker = threading.Thread(target=self._produce, name="read-ahead", daemon=True)
        self._worker.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._pages.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for page in self._make_pages():
                if not self._put(page):
                    return
            item: Any = _DONE
        except BaseException as exc:
            item = exc
        self._put(item)

    def __next__(self) -> Page:
        """The next page, waiting for the producer; its exception is raised here."""
        if self._done:
            raise StopIteration
        item = self._pages.get()
        if item is _DONE:
            self.close()
            raise StopIteration
        if isinstance(item, BaseException):
            self.close()
            raise item
        return cast(Page, item)

    def close(self) -> None:
        """Stop the producer (it finishes the request in flight, then ends)."""
        self._done = True
        self._stop.set()
        self._worker.join(timeout=5)
