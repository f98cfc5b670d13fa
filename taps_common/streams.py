"""The stream base both taps declare their streams on.

A stream is a declaration: the knobs at the top of ``ApiStream``, one line each. The work lives
in small modules, each saying which thread it runs on: ``paging`` (plans, pages, windows),
``read_ahead`` (pages fetched while the SDK writes), ``batches`` (detail merges and children
fetched for a batch of parents), ``scheduler`` (the run-wide pipeline, request slots and
which streams start early), ``record_shaping`` (context keys, unknown fields, redaction),
``sdk_overrides`` (the two private SDK hooks this project overrides). ``paging`` and
``batches`` read a stream through the protocols of ``stream_protocol`` and never import this
module: dependencies run one way, tap -> streams -> core.

Failure isolation: whatever ends a stream (a gated endpoint, retries exhausted, a 4xx the
contract does not name, a broken body) ends it for one tenant (workspace or account) only, with
the streams below it, and is recorded in the run's stats; the SDK then goes on with the next
context and the next stream. Only rejected credentials and an unreachable host end the run.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from singer_sdk.helpers.conform import TypeConformanceLevel

from taps_common import paging, record_shaping
from taps_common.batches import finish_batch, start_batch
from taps_common.errors import (
    FATAL_ERRORS,
    ApiResponseError,
    ChildNotFoundError,
    NotEntitledError,
    StreamEndedError,
)
from taps_common.fanout import context_key, unwrap
from taps_common.http_client import ApiHttpClient, HttpStatusError
from taps_common.read_ahead import ReadAhead
from taps_common.run_metrics import MetricsPerRun
from taps_common.run_stats import StreamOutcome
from taps_common.sdk_overrides import ActivateVersionWhenWhole

if TYPE_CHECKING:
    from taps_common.endpoint_limits import EndpointLimit, EndpointTable
    from taps_common.scheduler import Scheduler
    from taps_common.tap_base import ControlPlaneTap

MAX_LOGGED_CHILD_SKIPS = 5
FANOUT_BATCH = 250  # parents whose child requests are fetched (and held) together

TapT = TypeVar("TapT", bound="ControlPlaneTap")
Record = dict[str, Any]
Context = Mapping[str, Any] | None


class ApiStream(MetricsPerRun, ActivateVersionWhenWhole, Generic[TapT]):
    """Base for every stream; each API's subclass implements the envelope and paginator hooks.

    Declaration knobs (class attributes):
    """

    path: ClassVar[str] = ""  # URL path template, ``{placeholders}`` filled from the context
    records_key: ClassVar[str | None] = None  # list key; None for single-object endpoints
    paginated: ClassVar[bool] = True  # False: the list endpoint has no pages (labels)
    detail_path: ClassVar[str | None] = None  # per-item GET merged into each list item
    secret_values: ClassVar[tuple[str, ...]] = ()  # fields whose whole value is a secret
    secret_trees: ClassVar[tuple[str, ...]] = ()  # free-form objects: redact secret-named keys
    endpoints: ClassVar[EndpointTable]  # the API's endpoint limits (page sizes, rate limits)
    accept: ClassVar[str] = "application/json"  # Accept header (API version)
    extra_fields_column: ClassVar[str | None] = None  # undeclared fields go here (else kept)
    buffer_per_plan: ClassVar[bool] = False  # emit a plan's records only once it is complete
    edge_key_fields: ClassVar[tuple[str, ...]] = ()  # a record on two windows' edge: once
    requests_per_context: ClassVar[bool] = True  # False: derived from the parent's record
    fetch_ahead: ClassVar[bool] = True  # False: nothing to start early (served from the check)
    child_state_keys: ClassVar[tuple[str, ...] | None] = ()  # a child's bookmark per these
    # Records are JSON already and every schema allows more properties: the SDK's per-record
    # conformance walk would change nothing.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @property
    def state_partitioning_keys(self) -> Sequence[str] | None:
        """Top-level streams keep the SDK's default (a custom value would make incremental
        state non-resumable); children get one bookmark per ``child_state_keys`` value (None:
        one per whole context)."""
        if self.parent_stream_type is None:
            return None  # the SDK's default: one bookmark per partition
        keys = self.child_state_keys
        return None if keys is None else list(keys)

    @state_partitioning_keys.setter
    def state_partitioning_keys(self, value: Sequence[str] | None) -> None:
        raise TypeError("declare child_state_keys instead of setting state_partitioning_keys")

    def __init__(self, tap: TapT) -> None:
        super().__init__(tap=tap)
        self.cp_tap: TapT = tap
        self._warn_lock = threading.Lock()
        self._warned: set[str] = set()
        self._skips_to_log: dict[str, list[ChildNotFoundError]] = {}  # per tenant, bounded
        self._starts: dict[tuple[Any, ...], Any] = {}
        self._declared_cache: frozenset[str] | None = None
        self._date_time_cache: tuple[str, ...] | None = None

    # ----- hooks each API implements -------------------------------------------------------
    def client_for(self, context: Context) -> ApiHttpClient:
        """The HTTP client for this context (one API connection)."""
        raise NotImplementedError

    def page_params(self, cursor: str | None) -> dict[str, Any]:
        """Query parameters asking for one page after ``cursor``."""
        raise NotImplementedError

    def extract_page(self, body: Any, path: str, status: int) -> tuple[list[Any], str | None]:
        """Items and next cursor from a list response; raise ApiResponseError if malformed."""
        raise NotImplementedError

    def extract_object(self, body: Any, path: str, status: int) -> Record:
        """The object of a single-object response; raise ApiResponseError if malformed."""
        raise NotImplementedError

    def classify_error(self, err: HttpStatusError, *, is_child: bool) -> Exception:
        """Map a non-retriable status to NotEntitled / ChildNotFound / ApiResponseError."""
        raise NotImplementedError

    def tenant(self, context: Context) -> str:
        """The workspace or account a context reads: entitlement and failures are per tenant."""
        raise NotImplementedError

    def tenant_label(self, tenant: str) -> str:
        """How messages name a tenant (" for workspace X"; "" where there is only one)."""
        return ""

    # ----- hooks streams may override ------------------------------------------------------
    def request_plans(self, context: Context) -> Iterable[dict[str, Any]]:
        """Extra query parameters, one walk per entry (e.g. one per resource type or month).

        Runs where the context's walk starts: for a top-level stream on the SDK's thread
        (``start_pages``); for a child stream on a pool worker when its parent's batch fetches
        it ahead, else on the SDK's thread. Read the bookmark through ``starting_timestamp``
        (read for a fetched-ahead context by ``remember_start`` on the SDK's thread), never
        from the state: the state is not thread-safe."""
        return ({},)

    def make_records(self, item: Any, context: Context, plan: Mapping[str, Any]) -> list[Record]:
        """Turn one API item into records (most streams: the item itself plus parent keys).
        Runs on whichever thread walks the pages (``paging``): no state, no shared writes."""
        if not isinstance(item, dict):
            raise ApiResponseError(
                f"Expected an object in the '{self.records_key}' list, got {type(item).__name__}",
                path=self.path,
            )
        return [item]

    def on_plan_finished(self, records: list[Record], plan: Mapping[str, Any]) -> list[Record]:
        """Called with every record of one plan when the stream buffers per plan (on the
        thread that walked the plan: a pool worker when plans are fetched at once)."""
        return records

    def chunk_planner(self, todo: list[dict[str, Any]], width: int) -> paging.ChunkPlanner:
        """Which plans are fetched together; a stream may size its next plans from what the
        last chunk held. Runs on the context's read-ahead thread; the planner too."""
        return paging.ChunkPlanner(todo, width)

    def split_plan(self, plan: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """Smaller plans covering ``plan`` when its first page says there is more than a page
        (on the thread that walks the plan).

        Only buffered streams benefit: they hold a whole plan, so splitting keeps what they
        hold near one page however dense the data is. None keeps paginating.
        """
        return None

    def prefetch_parents(self) -> int:
        """Parents whose records of this (child) stream are fetched and held together."""
        return FANOUT_BATCH

    def extra_secret_keys(self) -> Iterable[str]:
        """Key names known to be secret beyond the name pattern (e.g. password-format fields)."""
        return ()

    # ----- what the knobs imply -------------------------------------------------------------
    @property
    def scheduler(self) -> Scheduler:
        """The run's scheduler (pool, request slots, results waiting for the SDK)."""
        return self.cp_tap.scheduler

    @property
    def page_limit(self) -> int:
        """Items asked per page: ``page_size``, at most FANOUT_BATCH for streams that fan out
        (each item costs requests of its own, so a bigger page only holds more memory), and
        never more than the endpoint takes."""
        size = self.cp_tap.settings.page_size
        if self.detail_path or self.child_streams:
            size = min(size, FANOUT_BATCH)
        endpoint = self.endpoint
        return endpoint.page_size(size) if endpoint else size

    @property
    def endpoint(self) -> EndpointLimit | None:
        """This stream's row of the endpoint-limits table (None for derived streams)."""
        return self.endpoints.template(self.path) if self.path else None

    @property
    def is_child(self) -> bool:
        """Child streams skip a 404 parent instead of ending the stream."""
        return self.parent_stream_type is not None

    @property
    def declared(self) -> frozenset[str]:
        """Field names the schema declares (cached: the schema does not change in a run)."""
        if self._declared_cache is None:
            self._declared_cache = frozenset(self.schema.get("properties", {}))
        return self._declared_cache

    @property
    def date_time_fields(self) -> tuple[str, ...]:
        """Top-level fields the schema declares ``format: date-time`` (cached)."""
        if self._date_time_cache is None:
            self._date_time_cache = tuple(
                name
                for name, prop in self.schema.get("properties", {}).items()
                if isinstance(prop, dict) and prop.get("format") == "date-time"
            )
        return self._date_time_cache

    def url_path(self, context: Context, template: str | None = None) -> str:
        """Fill ``{placeholders}`` from the context."""
        return (template or self.path).format(**dict(context or {}))

    # ----- requests (any thread) -----------------------------------------------------------
    def fetch(self, path: str, params: Mapping[str, Any], context: Context) -> tuple[Any, int]:
        """One GET through the shared client, errors mapped by the API's rules."""
        client = self.client_for(context)
        limit = self.endpoints.match(path)
        try:
            body, response = client.get_json(
                path,
                params,
                accept=self.accept,
                stream=self.name,
                limiter_key=limit.path if limit and limit.per_minute else None,
            )
        except HttpStatusError as err:
            raise self.classify_error(err, is_child=self.is_child) from None
        return body, response.status_code

    def walk(
        self, context: Context, plans: list[dict[str, Any]] | None = None
    ) -> Iterator[list[Record]]:
        """Every page of every plan of one context (see ``paging.walk``)."""
        return paging.walk(self, context, plans, stats=self.cp_tap.stats)

    def fetch_all(self, context: Context) -> list[Record]:
        """Every record of one context (fan-out workers)."""
        return [rec for page in self.walk(context) for rec in page]

    def merge_detail(self, record: Record, context: Context) -> Record:
        """The list item merged with its detail GET (pool workers)."""
        path = self.url_path({**dict(context or {}), **record}, self.detail_path)
        try:
            body, status = self.fetch(path, {}, context)
        except NotEntitledError as exc:
            # The detail is gated while the list is not: keep the list item, say so once.
            self.warn_once(f"detail {exc}")
            return record
        except ChildNotFoundError as exc:
            raise ChildNotFoundError(exc.path, exc.status, exc.code or "deleted") from None
        return {**record, **self.extract_object(body, path, status)}

    def with_context_keys(self, record: Record, context: Context) -> Record:
        """Parent keys from the context (``record_shaping``)."""
        return record_shaping.with_context_keys(record, context, self.declared)

    # ----- the SDK's entry points (SDK thread) ----------------------------------------------
    def get_records(self, context: Context) -> Iterable[Record]:
        """Yield records; what ends the stream ends it for this tenant only (module doc).

        Once a top-level stream's last context of a tenant is through, every stream below it
        is too (the SDK syncs children inside the parent's loop): ``settle_for`` then decides
        whether each of them read what exists for that tenant.
        """
        tenant = self.tenant(context)
        if self.cp_tap.stats.ending(self.name, tenant):
            self.scheduler.take(self.name, context)  # drop what was fetched ahead
            warm = self.scheduler.take_warm(self.name, context)
            if isinstance(warm, ReadAhead):
                warm.close()
            return
        try:
            yield from self._records(context)
        except StreamEndedError:
            pass
        except NotEntitledError as exc:
            self.end_for(
                tenant, StreamOutcome.SKIPPED, f"HTTP {exc.status} on {exc.path}: {exc.reason}"
            )
        except ChildNotFoundError as exc:
            if self.is_child:
                self.note_child_skip(exc, tenant)
            else:  # the list itself is not there: nothing was read, so nothing is complete
                self.end_for(tenant, StreamOutcome.SKIPPED, f"endpoint not available: {exc}")
        except FATAL_ERRORS:
            raise
        except ApiResponseError as exc:
            self.end_for(tenant, StreamOutcome.FAILED, str(exc))
        except Exception as exc:  # a bug or a shape no check foresaw: still only this stream
            message = self.client_for(context).scrub(str(exc))[:300]
            self.end_for(tenant, StreamOutcome.FAILED, f"{type(exc).__name__}: {message}")
        else:
            if self.is_child and self.requests_per_context:
                self.cp_tap.stats.count_parent(self.name, tenant, not_found=False)
        if self.parent_stream_type is None and self._last_context_of(tenant, context):
            self.settle_for(tenant)

    def _last_context_of(self, tenant: str, context: Context) -> bool:
        """Whether no later partition of this (top-level) stream reads ``tenant``."""
        partitions = [dict(p) for p in self.partitions or [{}]]
        here = dict(context or {})
        if here not in partitions:
            return True
        later = partitions[partitions.index(here) + 1 :]
        return all(self.tenant(p) != tenant for p in later)

    def _records(self, context: Context) -> Iterator[Record]:
        pages = self._pages(context)
        try:
            if not self.detail_path and not self.children_to_prefetch(context):
                for batch in self._batches(pages, context):  # nothing to fetch per record
                    yield from batch
                return
            # Children of a bounded number of parents are held at once, whatever the page
            # size; the next batch is fetched while the SDK writes this one.
            scheduler, stats = self.scheduler, self.cp_tap.stats
            yield from scheduler.pipelined(
                self._batches(pages, context),
                lambda batch: start_batch(self, batch, context, pool=scheduler.pool),
                lambda result: finish_batch(
                    self, result, context, stats=stats, hold=scheduler.hold
                ),
            )
        finally:
            if isinstance(pages, ReadAhead):
                pages.close()

    def _pages(self, context: Context) -> Iterator[list[Record]]:
        found, result = self.scheduler.take(self.name, context)
        if found:  # fetched ahead by the parent's batch
            return iter([unwrap(result)])
        if self.parent_stream_type is not None:
            return self.walk(context)
        warm = self.scheduler.take_warm(self.name, context)
        if warm is not None:
            return warm
        return self.start_pages(context)

    def start_pages(self, context: Context) -> ReadAhead:
        """A top-level context's pages, fetched on a thread of their own from now on. Plans
        are made here, on the SDK's thread (they read the bookmark). Windowed streams queue a
        whole chunk of windows, so the next chunk is fetched while this one is written."""
        plans = list(self.request_plans(context))
        depth = paging.PARALLEL_PLANS if self.buffer_per_plan else 2
        stats, pool = self.cp_tap.stats, self.scheduler.pool
        return ReadAhead(lambda: paging.walk(self, context, plans, stats=stats, pool=pool), depth)

    def _batches(self, pages: Iterable[list[Record]], context: Context) -> Iterator[list[Record]]:
        batch = self._parents_per_prefetch()
        for page in pages:
            for start in range(0, len(page), batch):
                yield page[start : start + batch]
        if self.parent_stream_type is None:
            # Every page is in: while the SDK writes the last batches, the next streams start
            # (the scheduler's warm-ahead policy).
            streams = [s for s in self.cp_tap.streams.values() if isinstance(s, ApiStream)]
            self.scheduler.start_next_streams(self, context, streams, self.cp_tap.stats)

    def _parents_per_prefetch(self) -> int:
        selected = [
            c.prefetch_parents()
            for c in self.child_streams
            if isinstance(c, ApiStream) and (c.selected or c.has_selected_descendents)
        ]
        return max(1, min([FANOUT_BATCH, *selected]))

    def children_to_prefetch(self, context: Context) -> list[ApiStream[Any]]:
        """Selected children that make requests and have not ended for this tenant."""
        tenant = self.tenant(context)
        return [
            c
            for c in self.child_streams
            if isinstance(c, ApiStream)
            and c.requests_per_context
            and (c.selected or c.has_selected_descendents)
            and not self.cp_tap.stats.ending(c.name, tenant)
        ]

    def generate_child_contexts(
        self, record: Record, context: Context
    ) -> Iterable[Mapping[str, Any] | None]:
        """No child context where there is no child stream: the SDK asks for every record."""
        if not self.child_streams:
            return ()
        return super().generate_child_contexts(record, dict(context) if context else None)

    def remember_start(self, context: Mapping[str, Any]) -> None:
        """A context's bookmark, read before its requests are fetched ahead: on the SDK's
        thread (its state is not thread-safe) and without writing to the state, so STATE
        messages are exactly those of a run that fetches nothing ahead."""
        if not self.replication_key:
            return
        partition = self._state_partition(context)
        bookmark = None
        for entry in self.tap_state.get("bookmarks", {}).get(self.name, {}).get("partitions", []):
            if entry.get("context") == partition:
                bookmark = entry.get("replication_key_value")
        if bookmark is None and not partition:
            bookmark = (
                self.tap_state.get("bookmarks", {}).get(self.name, {}).get("replication_key_value")
            )
        # start_date as written, as the SDK reads it for the same comparison (and for the
        # starting value it writes to state), so both agree to the character.
        start_date = self.config.get("start_date")
        if bookmark is not None and start_date:
            bookmark = self.compare_start_date(str(bookmark), str(start_date))
        value = bookmark if bookmark is not None else start_date
        self._starts[_key(context)] = parse_moment(value) if value else None

    def _state_partition(self, context: Mapping[str, Any]) -> dict[str, Any]:
        """The part of a context its bookmark is kept under (``state_partitioning_keys``)."""
        keys = self.state_partitioning_keys
        if keys is None:
            return dict(context)
        return {k: context[k] for k in keys if k in context}

    def starting_timestamp(self, context: Context) -> Any:
        """The bookmark (or start_date) of this context: the value ``remember_start`` read on
        the SDK's thread, so any thread may ask; else (a context not fetched ahead, walked on
        the SDK's thread) read from the state now."""
        key = _key(context)
        if key in self._starts:
            return self._starts.pop(key)
        return self.get_starting_timestamp(dict(context) if context else None)

    def post_process(self, row: Record, context: Context = None) -> Record | None:
        """Count, keep undeclared fields, empty timestamps as null, redact secrets (unless
        redact_secrets is false)."""
        self.cp_tap.stats.count_record(self.name, self.tenant(context))
        record_shaping.keep_unknown_fields(
            row, self.declared, self.extra_fields_column, self.warn_once
        )
        record_shaping.empty_times_as_null(row, self.date_time_fields)
        self.cp_tap.stats.key_digests.add(self, self.tenant(context), row)  # for the manifest
        if not self.cp_tap.settings.redact_secrets:
            return row
        return record_shaping.redact(
            row, self.secret_values, self.secret_trees, self.extra_secret_keys()
        )

    # ----- endings: gated (skipped) or failed, per tenant (any thread) ----------------------
    def end_for(self, tenant: str, status: StreamOutcome, reason: str) -> None:
        """End this stream and the streams below it for one tenant, with one log line.

        Thread-safe and idempotent: the first ending wins, later calls change nothing.
        """
        if not self.cp_tap.stats.end(self.name, tenant, status, reason):
            return
        where = self.tenant_label(tenant)
        if status == StreamOutcome.SKIPPED:
            self.logger.warning(
                "Stream '%s' skipped%s: %s. No records for it there; the run goes on.",
                self.name,
                where,
                reason,
            )
        else:
            self.logger.error(
                "Stream '%s' failed%s: %s. Records already emitted are kept; the run goes on "
                "and will exit non-zero.",
                self.name,
                where,
                reason,
            )
        below = [s.name for s in self.descendants()]
        for name in below:
            self.cp_tap.stats.end(name, tenant, status, f"its parent stream '{self.name}' {status}")
        if below:
            self.logger.warning(
                "Streams below '%s' end with it%s: %s", self.name, where, ", ".join(below)
            )

    def descendants(self) -> list[ApiStream[Any]]:
        """Every stream below this one (children, their children, ...)."""
        out: list[ApiStream[Any]] = []
        for child in self.child_streams:
            if isinstance(child, ApiStream):
                out.append(child)
                out.extend(child.descendants())
        return out

    def stream_is_whole(self) -> bool:
        """No tenant saw this stream end early, so its rows are the whole truth."""
        return not any(stream == self.name for stream, _ in self.cp_tap.stats.endings)

    def note_child_skip(self, exc: ChildNotFoundError, tenant: str) -> None:
        """A parent's object answered 404 (SDK thread): skip it and count it. Whether that
        means "this object is gone" or "this endpoint is not there" is known only once every
        parent of the tenant answered, so the warning waits for ``settle``."""
        self.cp_tap.stats.count_parent(self.name, tenant, not_found=True)
        with self._warn_lock:
            held = self._skips_to_log.setdefault(tenant, [])
            if len(held) < MAX_LOGGED_CHILD_SKIPS:
                held.append(exc)

    def settle_for(self, tenant: str) -> None:
        """Every context of this stream and of the streams below it is through for
        ``tenant``: settle each (parents before children, so an ending reaches below)."""
        for stream in (self, *self.descendants()):
            stream.settle(tenant)

    def settle(self, tenant: str) -> None:
        """Complete only if the endpoint answered for at least one parent: 404 for every
        parent (at least one) means the endpoint is not available for this tenant, not that
        every object vanished, so the stream is skipped there, with one warning, and its
        rows are never taken for removals. Otherwise the 404s are objects deleted after they
        were listed: warned about (bounded) and counted in the summary."""
        stats = self.cp_tap.stats
        parents, not_found = stats.parents_answered(self.name, tenant)
        with self._warn_lock:
            skips = self._skips_to_log.pop(tenant, [])
        if parents and not_found == parents:
            self.end_for(tenant, StreamOutcome.SKIPPED, self.unavailable_reason(parents))
        ending = stats.ending(self.name, tenant)
        if not not_found or (ending is not None and ending.status == StreamOutcome.SKIPPED):
            return
        stats.count_warning(f"{self.name}: 404 skipped", not_found)
        for exc in skips:
            self.logger.warning(
                "Stream '%s'%s: %s answered HTTP %s%s; the object was probably deleted after "
                "it was listed. Skipped.",
                self.name,
                self.tenant_label(tenant),
                exc.path,
                exc.status,
                f" {exc.code}" if exc.code else "",
            )
        if not_found > len(skips):
            self.logger.warning(
                "Stream '%s'%s: %d more 404 skips; counted in the summary",
                self.name,
                self.tenant_label(tenant),
                not_found - len(skips),
            )

    def unavailable_reason(self, parents: int) -> str:
        """``endpoint not available: 404 for all 245 connections`` (the manifest's reason)."""
        parent = next((s for s in self.cp_tap.streams.values() if self in s.child_streams), None)
        noun = parent.name if parent is not None else self.name
        which = f"all {parents} {noun}" if parents > 1 else f"its only parent in {noun}"
        where = "" if parent is not None else " on the detail GET"
        return f"endpoint not available: 404{where} for {which}"

    def warn_once(self, message: str) -> None:
        """Log a warning only the first time it is seen for this stream."""
        with self._warn_lock:
            if message in self._warned:
                return
            self._warned.add(message)
        self.logger.warning("Stream '%s': %s", self.name, message)


def parse_moment(value: Any) -> dt.datetime:
    """A bookmark or start_date as an aware datetime (UTC when it has no offset)."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _key(context: Context) -> tuple[Any, ...]:
    return context_key(context)
