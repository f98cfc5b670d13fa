"""What the core's walkers ask of a stream: ``paging`` walks a ``PagedStream``, ``batches``
readies a batch of a ``BatchedStream``'s parents for its ``ChildStream`` children.

``streams.ApiStream`` is all three. They are protocols so that ``paging`` and ``batches`` depend
on this small surface, not on the stream base that calls them; what they need of the run (the
worker pool, the stats) they receive as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from taps_common.errors import ChildNotFoundError
from taps_common.run_stats import StreamOutcome

Plan = dict[str, Any]
Record = dict[str, Any]
Context = Mapping[str, Any] | None


class Planner(Protocol):
    """Which plans are fetched together (``paging.ChunkPlanner`` is the plain one)."""

    def next_chunk(self, held_before: int) -> list[Plan]:
        """The next plans to fetch (empty when done); ``held_before``: records of the last."""
        ...


class PagedStream(Protocol):
    """A stream as ``paging.walk`` reads it: its plans, pages and records of one context."""

    @property
    def name(self) -> str:
        """The stream's name (stats and endings are kept by it)."""
        ...

    @property
    def records_key(self) -> str | None:
        """The list key of a list answer; None for single-object endpoints."""
        ...

    @property
    def paginated(self) -> bool:
        """Whether the list has pages."""
        ...

    @property
    def buffer_per_plan(self) -> bool:
        """Whether a plan's records are emitted only once the plan is complete."""
        ...

    @property
    def edge_key_fields(self) -> tuple[str, ...]:
        """Fields that identify a record two neighbouring plans may both return."""
        ...

    def url_path(self, context: Context, template: str | None = None) -> str:
        """The path with the context's placeholders filled."""
        ...

    def request_plans(self, context: Context) -> Iterable[Plan]:
        """The plans (extra query parameters) of one context."""
        ...

    def tenant(self, context: Context) -> str:
        """The workspace or account a context reads."""
        ...

    def end_for(self, tenant: str, status: StreamOutcome, reason: str) -> None:
        """End the stream (and those below it) for one tenant."""
        ...

    def page_params(self, cursor: str | None) -> dict[str, Any]:
        """Query parameters asking for the page after ``cursor``."""
        ...

    def fetch(self, path: str, params: Mapping[str, Any], context: Context) -> tuple[Any, int]:
        """One GET: (body, status)."""
        ...

    def extract_page(self, body: Any, path: str, status: int) -> tuple[list[Any], str | None]:
        """Items and next cursor of a list answer."""
        ...

    def extract_object(self, body: Any, path: str, status: int) -> Record:
        """The object of a single-object answer."""
        ...

    def split_plan(self, plan: Mapping[str, Any]) -> list[Plan] | None:
        """Smaller plans covering ``plan``, or None to keep paginating."""
        ...

    def make_records(self, item: Any, context: Context, plan: Mapping[str, Any]) -> list[Record]:
        """The records of one API item."""
        ...

    def with_context_keys(self, record: Record, context: Context) -> Record:
        """The record with its parent keys."""
        ...

    def on_plan_finished(self, records: list[Record], plan: Mapping[str, Any]) -> list[Record]:
        """A buffered plan's records, once the plan is complete."""
        ...

    def chunk_planner(self, todo: list[Plan], width: int) -> Planner:
        """Which plans are fetched together."""
        ...


class ChildStream(Protocol):
    """A child stream as a batch of its parents reads it."""

    @property
    def name(self) -> str:
        """The stream's name (its results are held under it)."""
        ...

    def remember_start(self, context: Mapping[str, Any]) -> None:
        """Read the context's bookmark now (SDK thread), before its requests run elsewhere."""
        ...

    def fetch_all(self, context: Context) -> list[Record]:
        """Every record of one context (a pool worker)."""
        ...


class BatchedStream(Protocol):
    """A parent stream as ``batches`` reads it: detail merges and children to prefetch."""

    @property
    def name(self) -> str:
        """The stream's name (stats are kept by it)."""
        ...

    @property
    def detail_path(self) -> str | None:
        """The per-item GET merged into each list item, if any."""
        ...

    def tenant(self, context: Context) -> str:
        """The workspace or account a context reads."""
        ...

    def children_to_prefetch(self, context: Context) -> Sequence[ChildStream]:
        """Selected children whose requests are fetched with the batch."""
        ...

    def generate_child_contexts(
        self, record: Record, context: Context
    ) -> Iterable[Mapping[str, Any] | None]:
        """The child contexts of one parent record."""
        ...

    def merge_detail(self, record: Record, context: Context) -> Record:
        """The list item merged with its detail GET (a pool worker)."""
        ...

    def note_child_skip(self, exc: ChildNotFoundError, tenant: str) -> None:
        """Count a parent whose object answered 404."""
        ...
