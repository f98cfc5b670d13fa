"""The stream base both taps declare their streams on.

A stream is a declaration (name, path, list key, keys, parent, secret fields); this class does the
walking: pages with a cursor guard, one request plan per context, the entitlement rules, child
404 skips, detail merges and child prefetch through the fan-out pool, and redaction.

Failure isolation: whatever ends a stream (a gated endpoint, retries exhausted, a 4xx the
contract does not name, a broken body) ends it for one tenant (workspace or account) only, with
the streams below it, and is recorded in the run's stats; the SDK then goes on with the next
context and the next stream. Only rejected credentials and an unreachable host end the run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from taps_common.errors import (
    FATAL_ERRORS,
    ApiResponseError,
    ChildNotFoundError,
    NotEntitledError,
    StreamEndedError,
)
from taps_common.fanout import context_key, unwrap
from taps_common.http_client import ApiHttpClient, HttpStatusError
from taps_common.redaction import redact_tree, redact_value
from taps_common.run_stats import FAILED, SKIPPED
from taps_common.settings import PAGE_SIZE_MAX

if TYPE_CHECKING:
    from taps_common.endpoint_limits import EndpointLimit, EndpointTable
    from taps_common.tap_base import ControlPlaneTap

MAX_PAGES = 1_000_000  # a hard stop for any single walk, far above any real account
MAX_LOGGED_CHILD_SKIPS = 5
PARALLEL_PLANS = 8  # windows (plans) of one stream fetched at once
FANOUT_BATCH = 250  # parents whose child requests are fetched (and held) together


class PlanSplit:
    """Said by a plan's walk instead of pages: walk these smaller plans in its place."""

    __slots__ = ("plans",)

    def __init__(self, plans: list[dict[str, Any]]) -> None:
        self.plans = plans


class ApiStream(Stream):
    """Base for every stream: subclasses per API implement the envelope and paginator hooks."""

    path: ClassVar[str] = ""
    records_key: ClassVar[str | None] = None  # list key; None for single-object endpoints
    paginated: ClassVar[bool] = True
    detail_path: ClassVar[str | None] = None  # per-item GET merged into the list item
    secret_values: ClassVar[tuple[str, ...]] = ()  # fields whose whole value is a secret
    secret_trees: ClassVar[tuple[str, ...]] = ()  # free-form objects: redact secret-named keys
    endpoints: ClassVar[EndpointTable]  # the API's endpoint limits (page sizes, rate limits)
    accept: ClassVar[str] = "application/json"
    # Where fields the schema does not declare go (a free-form object column), so targets that
    # only create declared columns keep them too; None keeps them at the top level.
    extra_fields_column: ClassVar[str | None] = None
    # Records are parsed JSON already in JSON types, and every schema allows additional
    # properties, so the SDK's per-record conformance walk would change nothing: skip it.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    # State partitions of child streams (one bookmark per value of these context keys). Top-level
    # streams keep the SDK's default: a custom value would make incremental state non-resumable.
    child_state_keys: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.parent_stream_type is not None and "state_partitioning_keys" not in cls.__dict__:
            cls.state_partitioning_keys = cls.child_state_keys  # type: ignore[assignment]

    def __init__(self, tap: ControlPlaneTap) -> None:
        super().__init__(tap=tap)
        self.cp_tap = tap
        self._prefetched: dict[tuple, Any] = {}
        self._pending_version: int | None = None
        self._warn_lock = threading.Lock()
        self._child_skips = 0
        self._current_parent_record: dict | None = None
        self._starts: dict[tuple, Any] = {}

    # ----- hooks each API implements -------------------------------------------------------
    def client_for(self, context: Mapping[str, Any] | None) -> ApiHttpClient:
        """The HTTP client for this context (one API connection)."""
        raise NotImplementedError

    def page_params(self, cursor: str | None) -> dict[str, Any]:
        """Query parameters asking for one page after ``cursor``."""
        raise NotImplementedError

    def extract_page(self, body: Any, path: str, status: int) -> tuple[list, str | None]:
        """Items and next cursor from a list response; raise ApiResponseError if malformed."""
        raise NotImplementedError

    def extract_object(self, body: Any, path: str, status: int) -> dict:
        """The object of a single-object response; raise ApiResponseError if malformed."""
        raise NotImplementedError

    def classify_error(self, err: HttpStatusError, *, is_child: bool) -> Exception:
        """Map a non-retriable status to NotEntitled / ChildNotFound / ApiResponseError."""
        raise NotImplementedError

    def tenant(self, context: Mapping[str, Any] | None) -> str:
        """The workspace or account a context reads: entitlement and failures are per tenant."""
        raise NotImplementedError

    def tenant_label(self, tenant: str) -> str:
        """How messages name a tenant (" for workspace X"; "" where there is only one)."""
        return ""

    # ----- hooks streams may override ------------------------------------------------------
    def request_plans(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """Extra query parameters, one walk per entry (e.g. one per resource type or month)."""
        return ({},)

    def make_records(
        self, item: Any, context: Mapping[str, Any] | None, plan: Mapping[str, Any]
    ) -> list[dict]:
        """Turn one API item into records (most streams: the item itself plus parent keys)."""
        if not isinstance(item, dict):
            raise ApiResponseError(
                f"Expected an object in the '{self.records_key}' list, got {type(item).__name__}",
                path=self.path,
            )
        return [item]

    def on_plan_finished(self, records: list[dict], plan: Mapping[str, Any]) -> list[dict]:
        """Called with every record of one plan when the stream buffers per plan."""
        return records

    buffer_per_plan: ClassVar[bool] = False  # emit a plan's records only after it completes

    def plan_chunks(
        self, todo: list[dict[str, Any]], width: int
    ) -> Generator[list[dict[str, Any]], int, None]:
        """Plans fetched together (at most ``width``); after each chunk the caller sends how
        many records it held, so a stream may size its next plans from that."""
        for start in range(0, len(todo), width):
            yield todo[start : start + width]

    def split_plan(self, plan: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """Smaller plans covering ``plan`` when its first page says there is more than a page.

        Only buffered streams benefit: they hold a whole plan, so splitting keeps what they
        hold near one page however dense the data is. None keeps paginating.
        """
        return None

    @property
    def page_limit(self) -> int:
        """Items asked per page: ``page_size``, but at most FANOUT_BATCH for streams that fan
        out. Each of their items costs requests of its own, so a bigger page saves next to
        nothing and only holds more memory (read-ahead keeps a few pages)."""
        size = int(self.config.get("page_size", PAGE_SIZE_MAX))
        if self.detail_path or self.child_streams:
            size = min(size, FANOUT_BATCH)
        endpoint = self.endpoint
        return endpoint.page_size(size) if endpoint else size

    @property
    def endpoint(self) -> EndpointLimit | None:
        """This stream's row of the endpoint-limits table (None for derived streams)."""
        return self.endpoints.template(self.path) if self.path else None

    # ----- request machinery ---------------------------------------------------------------
    def url_path(self, context: Mapping[str, Any] | None, template: str | None = None) -> str:
        """Fill ``{placeholders}`` from the context."""
        return (template or self.path).format(**dict(context or {}))

    @property
    def is_child(self) -> bool:
        """Child streams skip a 404 parent instead of ending the stream."""
        return self.parent_stream_type is not None

    def fetch(
        self, path: str, params: Mapping[str, Any], context: Mapping[str, Any] | None
    ) -> tuple[Any, int]:
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
        self,
        context: Mapping[str, Any] | None,
        plans: list[dict[str, Any]] | None = None,
        *,
        parallel_plans: bool = False,
    ) -> Iterator[list[dict]]:
        """Yield records page by page for every request plan of this context.

        With ``parallel_plans`` (top-level streams, never from inside a pool worker), plans
        that are emitted whole (time windows, months) are fetched several at a time and still
        yielded in order; a chunk of ``PARALLEL_PLANS`` plans is fetched while the one before is
        written.
        """
        path = self.url_path(context)
        todo = list(self.request_plans(context)) if plans is None else plans
        if parallel_plans and self.buffer_per_plan:
            pages = self._plans_in_parallel(path, todo, context)
        else:
            pages = self._plans_in_sequence(path, todo, context)
        if self.edge_key is None:
            yield from pages
            return
        previous: set = set()  # records of the previous plan: windows may share an edge
        for page in pages:
            keys = [self.edge_key(rec) for rec in page]
            fresh = [rec for rec, key in zip(page, keys, strict=True) if key not in previous]
            previous = set(keys)
            if fresh:
                yield fresh

    edge_key: ClassVar[Callable[[dict], Any] | None] = None  # dedupe key across plan edges

    def _plans_in_sequence(
        self, path: str, todo: Iterable[dict[str, Any]], context: Mapping[str, Any] | None
    ) -> Iterator[list[dict]]:
        for plan in todo:
            for page in self._walk_plan(path, plan, context):
                if isinstance(page, PlanSplit):
                    yield from self._plans_in_sequence(path, page.plans, context)
                else:
                    yield page

    def _plans_in_parallel(
        self, path: str, todo: list[dict[str, Any]], context: Mapping[str, Any] | None
    ) -> Iterator[list[dict]]:
        # A few windows at a time: enough to hide latency, little enough that memory stays
        # flat however many events a window holds.
        width = min(self.cp_tap.fanout.max_concurrency, PARALLEL_PLANS)
        chunks = self.plan_chunks(todo, width)
        chunk = next(chunks, None)
        while chunk:
            held = 0
            for page in self._fetch_together(path, chunk, context):
                held += len(page)
                yield page
            try:
                chunk = chunks.send(held)
            except StopIteration:
                return

    def _fetch_together(
        self, path: str, plans: list[dict[str, Any]], context: Mapping[str, Any] | None
    ) -> Iterator[list[dict]]:
        """Plans fetched at once, pages yielded in plan order; a split plan's halves likewise."""
        fetched = self.cp_tap.fanout.map_ordered(
            lambda plan: list(self._walk_plan(path, plan, context)), plans
        )
        for result in fetched:
            for page in unwrap(result):
                if isinstance(page, PlanSplit):
                    yield from self._fetch_together(path, page.plans, context)
                else:
                    yield page

    def _walk_plan(
        self, path: str, plan: Mapping[str, Any], context: Mapping[str, Any] | None
    ) -> Iterator[list[dict] | PlanSplit]:
        """Every page of one plan, following the cursor, refusing a repeated cursor.

        Runs on the SDK's thread or a fan-out worker; whatever ends the stream is recorded at
        once, so the other workers send no new request for this stream and tenant.
        """
        tenant = self.tenant(context)
        try:
            yield from self._pages_of_plan(path, plan, context, tenant)
        except NotEntitledError as exc:
            self.end_for(tenant, SKIPPED, f"HTTP {exc.status} on {exc.path}: {exc.reason}")
            raise
        except FATAL_ERRORS:
            raise
        except ApiResponseError as exc:
            self.end_for(tenant, FAILED, str(exc))
            raise

    def _pages_of_plan(
        self, path: str, plan: Mapping[str, Any], context: Mapping[str, Any] | None, tenant: str
    ) -> Iterator[list[dict] | PlanSplit]:
        buffered: list[dict] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if self.cp_tap.stats.ending(self.name, tenant):
                raise StreamEndedError(self.name)
            params = dict(plan)
            if self.paginated and self.records_key:
                params.update(self.page_params(cursor))
            body, status = self.fetch(path, params, context)
            if self.records_key:
                items, next_cursor = self.extract_page(body, path, status)
            else:
                items, next_cursor = [self.extract_object(body, path, status)], None
            if not cursor and next_cursor and (halves := self.split_plan(plan)):
                # More than a page in this plan: its halves are walked instead (by the caller,
                # so this page is not held meanwhile).
                yield PlanSplit(halves)
                return
            page = [
                self._with_context_keys(rec, context)
                for item in items
                for rec in self.make_records(item, context, plan)
            ]
            if self.buffer_per_plan:
                buffered.extend(page)
            elif page:
                yield page
            if not self.paginated or not next_cursor:
                break
            if next_cursor in seen or next_cursor == cursor:
                raise ApiResponseError(
                    "The API returned a pagination cursor it had already returned; "
                    "stopping instead of looping",
                    path=path,
                    status=status,
                )
            seen.add(next_cursor)
            cursor = next_cursor
        else:  # pragma: no cover - needs a million pages
            raise ApiResponseError(f"More than {MAX_PAGES} pages", path=path)
        if self.buffer_per_plan:
            done = self.on_plan_finished(buffered, plan)
            if done:
                yield done

    def _with_context_keys(self, record: dict, context: Mapping[str, Any] | None) -> dict:
        declared = self._declared
        for key, value in (context or {}).items():
            if key in declared and key not in record:
                record[key] = value
        return record

    def fetch_all(self, context: Mapping[str, Any] | None) -> list[dict]:
        """Every record of one context (used by the fan-out workers)."""
        return [rec for page in self.walk(context) for rec in page]

    # ----- SDK entry point -----------------------------------------------------------------
    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict]:
        """Yield records; what ends the stream ends it for this tenant only (see module doc)."""
        tenant = self.tenant(context)
        if self.cp_tap.stats.ending(self.name, tenant):
            self._prefetched.pop(context_key(context), None)
            return
        try:
            yield from self._records(context)
        except StreamEndedError:
            return
        except NotEntitledError as exc:
            self.end_for(tenant, SKIPPED, f"HTTP {exc.status} on {exc.path}: {exc.reason}")
        except ChildNotFoundError as exc:
            self.note_child_skip(exc)
        except FATAL_ERRORS:
            raise
        except ApiResponseError as exc:
            self.end_for(tenant, FAILED, str(exc))
        except Exception as exc:  # a bug or a shape no check foresaw: still only this stream
            message = self.client_for(context).scrub(str(exc))[:300]
            self.end_for(tenant, FAILED, f"{type(exc).__name__}: {message}")

    def _records(self, context: Mapping[str, Any] | None) -> Iterator[dict]:
        key = context_key(context)
        if key in self._prefetched:
            pages: Iterable[list[dict]] = [unwrap(self._prefetched.pop(key))]
        elif self.parent_stream_type is None:
            plans = list(self.request_plans(context))
            # Windowed streams queue a whole chunk of windows, so the next chunk is fetched
            # while this one is written; others keep two pages.
            pages = read_ahead(
                lambda ctx, todo: self.walk(ctx, todo, parallel_plans=True),
                plans,
                context,
                depth=PARALLEL_PLANS if self.buffer_per_plan else 2,
            )
        else:
            pages = self.walk(context)
        for page in pages:
            # Children of a bounded number of parents are held at once, whatever the page
            # size, so memory does not grow with the account.
            batch = self._parents_per_prefetch()
            for start in range(0, len(page), batch):
                yield from self.prepare_page(page[start : start + batch], context)

    def generate_child_contexts(
        self, record: dict, context: Mapping[str, Any] | None
    ) -> Iterable[dict | None]:
        """No child context where there is no child stream: the SDK asks for every record."""
        if not self.child_streams:
            return ()
        return super().generate_child_contexts(record, context)  # type: ignore[arg-type]

    def prefetch_parents(self) -> int:
        """Parents whose records of this (child) stream are fetched and held together."""
        return FANOUT_BATCH

    def _parents_per_prefetch(self) -> int:
        selected = [
            c.prefetch_parents()
            for c in self.child_streams
            if isinstance(c, ApiStream) and (c.selected or c.has_selected_descendents)
        ]
        return max(1, min([FANOUT_BATCH, *selected]))

    def prepare_page(self, page: list[dict], context: Mapping[str, Any] | None) -> list[dict]:
        """Merge details and prefetch children for one page of records, concurrently."""
        pool = self.cp_tap.fanout
        if self.detail_path:
            merged = pool.map_ordered(lambda rec: self._merge_detail(rec, context), page)
            page = []
            for result in merged:
                try:
                    rec = unwrap(result)
                except ChildNotFoundError as exc:
                    self.note_child_skip(exc)
                    continue
                page.append(rec)
        self._prefetch_children(page, context)
        return page

    def _merge_detail(self, record: dict, context: Mapping[str, Any] | None) -> dict:
        path = self.url_path({**dict(context or {}), **record}, self.detail_path)
        try:
            body, status = self.fetch(path, {}, context)
        except NotEntitledError as exc:
            # The detail is gated while the list is not: keep the list item, say so once.
            self.warn_once(f"detail {exc}")
            return record
        except ChildNotFoundError as exc:
            raise ChildNotFoundError(exc.path, exc.status, exc.code or "deleted") from None
        detail = self.extract_object(body, path, status)
        return {**record, **detail}

    def _prefetch_children(self, page: list[dict], context: Mapping[str, Any] | None) -> None:
        children = [
            c
            for c in self.child_streams
            if isinstance(c, ApiStream)
            and c.requests_per_context
            and (c.selected or c.has_selected_descendents)
            and not self.cp_tap.stats.ending(c.name, self.tenant(context))
        ]
        if not children or self.cp_tap.fanout.max_concurrency <= 1:
            return
        jobs: list[tuple[ApiStream, dict]] = []
        for record in page:
            for child_ctx in self.generate_child_contexts(record, dict(context or {})):
                if child_ctx is None:
                    continue
                for child in children:
                    child.remember_start(child_ctx)
                    jobs.append((child, dict(child_ctx)))
        results = self.cp_tap.fanout.map_ordered(lambda job: job[0].fetch_all(job[1]), jobs)
        for (child, ctx), result in zip(jobs, results, strict=True):
            child._prefetched[context_key(ctx)] = result

    requests_per_context: ClassVar[bool] = True  # False for children derived from the parent

    def remember_start(self, context: Mapping[str, Any]) -> None:
        """Read the bookmark in the main thread: the SDK's state is not thread-safe."""
        if self.replication_key:
            # The SDK records a context's starting value only when it syncs that context,
            # which is after the prefetch; record it now (the SDK's call later is the same).
            self._write_starting_replication_value(dict(context))
            self._starts[context_key(context)] = self.get_starting_timestamp(dict(context))

    def starting_timestamp(self, context: Mapping[str, Any] | None) -> Any:
        """The bookmark (or start_date) of this context, as read before fan-out."""
        key = context_key(context)
        if key in self._starts:
            return self._starts.pop(key)
        return self.get_starting_timestamp(dict(context) if context else None)

    # ----- endings: gated (skipped) or failed, per tenant -----------------------------------
    def end_for(self, tenant: str, status: str, reason: str) -> None:
        """End this stream and the streams below it for one tenant, with one log line.

        Thread-safe and idempotent: the first ending wins, later calls change nothing.
        """
        if not self.cp_tap.stats.end(self.name, tenant, status, reason):
            return
        where = self.tenant_label(tenant)
        if status == SKIPPED:
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

    def descendants(self) -> list[Stream]:
        """Every stream below this one (children, their children, ...)."""
        out: list[Stream] = []
        for child in self.child_streams:
            out.append(child)
            if isinstance(child, ApiStream):
                out.extend(child.descendants())
        return out

    def completed_everywhere(self) -> bool:
        """True when no tenant saw this stream end early (so its rows are the whole truth)."""
        return not any(stream == self.name for stream, _ in self.cp_tap.stats.endings)

    # ----- deletions: ACTIVATE_VERSION only for streams read whole ----------------------------
    @override
    def _write_activate_version_message(self, full_table_version: int) -> None:
        """Held back: the SDK sends it before the first record, which would mark every old row
        deleted even when the stream then fails or is gated. ``activate_version`` sends it
        once the stream is known to be whole."""
        self._pending_version = full_table_version

    def activate_version(self) -> None:
        """Send the held ACTIVATE_VERSION if the stream completed for every tenant."""
        version, self._pending_version = self._pending_version, None
        if version is not None and self.completed_everywhere():
            Stream._write_activate_version_message(self, version)

    def note_child_skip(self, exc: ChildNotFoundError) -> None:
        """A parent's object vanished between list and detail: skip it, warn (bounded)."""
        with self._warn_lock:
            self._child_skips += 1
            count = self._child_skips
        self.cp_tap.stats.add("warnings", f"{self.name}: 404 skipped")
        if count <= MAX_LOGGED_CHILD_SKIPS:
            self.logger.warning(
                "Stream '%s': %s answered HTTP %s%s; the object was probably deleted after it "
                "was listed. Skipped.",
                self.name,
                exc.path,
                exc.status,
                f" {exc.code}" if exc.code else "",
            )
        elif count == MAX_LOGGED_CHILD_SKIPS + 1:
            self.logger.warning("Stream '%s': more 404 skips; counted in the summary", self.name)

    def warn_once(self, message: str) -> None:
        """Log a warning only the first time it is seen for this stream."""
        with self._warn_lock:
            seen = getattr(self, "_warned", set())
            if message in seen:
                return
            seen.add(message)
            self._warned = seen
        self.logger.warning("Stream '%s': %s", self.name, message)

    # ----- redaction -----------------------------------------------------------------------
    def post_process(self, row: dict, context: Mapping[str, Any] | None = None) -> dict | None:
        """Redact secrets before the record leaves the tap (unless redact_secrets is false)."""
        self.cp_tap.stats.count_record(self.name, self.tenant(context))
        self._keep_unknown_fields(row)
        if not self.config.get("redact_secrets", True):
            return row
        for name in self.secret_values:
            if name in row:
                row[name] = redact_value(row[name])
        for name in self.secret_trees:
            if isinstance(row.get(name), (dict, list)):
                row[name] = redact_tree(row[name], self.extra_secret_keys())
        return row

    def _keep_unknown_fields(self, row: dict) -> None:
        """Fields the API sent but the schema lacks: say so once, never drop them."""
        declared = self._declared
        if declared.issuperset(row):
            return
        unknown = [k for k in row if k not in declared]
        self.warn_once(
            "the API sent fields the schema does not declare: "
            + ", ".join(sorted(map(str, unknown)))
            + (f" (kept in '{self.extra_fields_column}')" if self.extra_fields_column else "")
        )
        if self.extra_fields_column:
            extra = row.setdefault(self.extra_fields_column, {})
            for key in unknown:
                extra[key] = row.pop(key)

    @property
    def _declared(self) -> frozenset[str]:
        cached = self.__dict__.get("_declared_cache")
        if cached is None:
            cached = frozenset(self.schema.get("properties", {}))
            self.__dict__["_declared_cache"] = cached
        return cached

    def extra_secret_keys(self) -> Iterable[str]:
        """Key names known to be secret beyond the name pattern (e.g. password-format fields)."""
        return ()


_DONE = object()


def read_ahead(
    walk: Callable[..., Iterator[list[dict]]],
    plans: list[dict[str, Any]],
    context: Mapping[str, Any] | None,
    depth: int = 2,
) -> Iterator[list[dict]]:
    """Fetch the next page while the SDK writes this one (at most ``depth`` pages held).

    Plans are computed by the caller in the main thread (they read the SDK's state).
    """
    pages: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in walk(context, plans):
                while not stop.is_set():
                    try:
                        pages.put(page, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: Any = _DONE
        except BaseException as exc:
            item = exc
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = pages.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)
