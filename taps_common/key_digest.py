"""Which records a stream emitted, as two numbers the warehouse can recompute: a key digest.

The run manifest carries, per stream and tenant, the count of distinct primary keys emitted and
their digest; the dbt mart ``evidence.extract_reconciliation`` recomputes both from the loaded
table, so a row lost, added or changed between the API and the warehouse shows. Everything
here is chosen so that plain SQL in DuckDB and PostgreSQL gives the same numbers:

- **canonical key**: the primary-key values in key order, joined by U+001F (unit separator).
  A text value is itself; a ``date-time`` field is its instant as whole microseconds since
  1970-01-01 UTC, in decimal (the warehouse holds a timestamp, not the API's spelling); a whole
  number is its decimal integer (``3``, never ``3.0``: a target may load it as a double); a
  boolean ``true`` / ``false``; a null U+001E. A fraction is Python's ``repr`` and the
  database's text of it, which agree for short decimals only; no key of either tap holds one.
- **hash**: the first 15 hex digits of the MD5 of the canonical key (UTF-8), as an integer
  (60 bits, so it is a positive BIGINT in any database).
- **digest**: the sum of the hashes of the *distinct* keys, modulo 2^60. A sum does not depend
  on the order records were emitted or rows are read; distinct, because the target upserts on
  the key, so a record emitted twice in a run (an audit event read again) is one row.

MD5 is used as a checksum, not for security: both databases have it built in.

Cost: ``post_process`` runs on the SDK's (single) thread for every record, so no lock; per
record one MD5 of a short string and 8 bytes kept (an ``array``) until the manifest, where the
distinct keys are counted a bucket at a time so no large set is ever built.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib
import struct
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Protocol

SEPARATOR = "\x1f"
NULL = "\x1e"
HASH_BITS = 60
MODULUS = 1 << HASH_BITS
TEXT, DATE_TIME, OTHER = "text", "date-time", "other"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_BUCKET_TARGET = 16_384  # distinct keys are counted this many at a time (about)


def _md5_function() -> Callable[[bytes], Any]:
    """CPython's own MD5 where it is built in: for a short key it is several times faster
    than hashlib's OpenSSL one, whose per-object setup costs more than the hash. Same bytes."""
    try:
        return importlib.import_module("_md5").md5  # type: ignore[no-any-return]
    except ImportError:
        return functools.partial(hashlib.md5, usedforsecurity=False)


_md5 = _md5_function()
_U64: Callable[[bytes], tuple[int]] = struct.Struct(">Q").unpack_from  # first 8 bytes
_SHIFT = 64 - HASH_BITS
_NEW: Any = object()


class KeyedStream(Protocol):
    """What a plan needs from a stream: its name, key and schema, and whether it is written."""

    @property
    def name(self) -> str: ...  # noqa: D102

    @property
    def primary_keys(self) -> Sequence[str] | None: ...  # noqa: D102

    @property
    def schema(self) -> dict[str, Any]: ...  # noqa: D102

    @property
    def selected(self) -> bool: ...  # noqa: D102


def epoch_micros(value: Any) -> str:
    """A date-time value as whole microseconds since the epoch (UTC; naive means UTC), or the
    value unchanged when it is not a time (the warehouse then fails to match it, visibly)."""
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    elif isinstance(value, dt.datetime):
        moment = value
    else:
        return render(value, OTHER)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return str((moment - _EPOCH) // _MICROSECOND)


def render(value: Any, kind: str) -> str:
    """One key value in the canonical key (module doc)."""
    if value is None:
        return NULL
    if kind == DATE_TIME:
        return epoch_micros(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def canonical_key(values: Sequence[Any], kinds: Sequence[str]) -> str:
    """The canonical key of one record's key values (module doc)."""
    return SEPARATOR.join(render(v, k) for v, k in zip(values, kinds, strict=True))


def key_hash(canonical: str) -> int:
    """First 15 hex digits of MD5(canonical) as an integer (the top 60 bits of the digest)."""
    return _U64(_md5(canonical.encode()).digest())[0] >> _SHIFT


def distinct_digest(hashes: Sequence[int]) -> tuple[int, int]:
    """(distinct hashes, their sum modulo 2^60). Large inputs are split by their top bits into
    buckets and each bucket's set built alone, so memory stays at about 8 bytes per hash."""
    if len(hashes) <= _BUCKET_TARGET:
        unique = set(hashes)
        return len(unique), sum(unique) % MODULUS
    bits = min(16, (len(hashes) // _BUCKET_TARGET).bit_length())
    shift = HASH_BITS - bits
    buckets = [array("Q") for _ in range(1 << bits)]
    for h in hashes:
        buckets[h >> shift].append(h)
    count = total = 0
    for bucket in buckets:
        unique = set(bucket)
        count += len(unique)
        total += sum(unique)
    return count, total % MODULUS


class KeyPlan:
    """How to hash one stream's keys, worked out once from its key and schema."""

    def __init__(self, fields: Sequence[str], kinds: Sequence[str]) -> None:
        self.fields = tuple(fields)
        self.kinds = tuple(kinds)
        # Every key field declared text (nearly every stream): the values joined as they are,
        # by a function with everything it needs bound, as it runs for every record.
        plain = bool(self.fields) and all(k == TEXT for k in self.kinds)
        self.hash: Callable[[Mapping[str, Any]], int] = (
            self._text_hasher() if plain else self._general_hash
        )

    @classmethod
    def of(cls, stream: KeyedStream) -> KeyPlan:
        """The plan for ``stream``: each key field's kind from its schema declaration."""
        props = stream.schema.get("properties", {})
        fields = tuple(stream.primary_keys or ())
        return cls(fields, [_kind(props.get(f)) for f in fields])

    def _general_hash(self, row: Mapping[str, Any]) -> int:
        """Any key: each value rendered by its kind (module doc)."""
        return key_hash(canonical_key([row.get(f) for f in self.fields], self.kinds))

    def _text_hasher(self) -> Callable[[Mapping[str, Any]], int]:
        """The hash of a key of text fields; a null, absent or non-text value falls back to
        the general path, which gives the same hash for text."""
        get, join, md5, unpack, general = (
            itemgetter(*self.fields),
            SEPARATOR.join,
            _md5,
            _U64,
            self._general_hash,
        )
        single = len(self.fields) == 1

        def text_hash(row: Mapping[str, Any]) -> int:
            try:
                text = get(row) if single else join(get(row))
                return unpack(md5(text.encode()).digest())[0] >> _SHIFT
            except (KeyError, TypeError, AttributeError):
                return general(row)

        return text_hash


def _kind(prop: Any) -> str:
    """TEXT for a plain string field, DATE_TIME for ``format: date-time``, else OTHER."""
    if not isinstance(prop, dict):
        return OTHER
    if prop.get("format") == "date-time":
        return DATE_TIME
    types = prop.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    return TEXT if [t for t in types if t != "null"] == ["string"] else OTHER


@dataclass(frozen=True)
class Digest:
    """What the manifest says about one stream and tenant's keys."""

    distinct_keys: int
    key_digest: int


EMPTY = Digest(0, 0)


class KeyDigests:
    """Key hashes per (stream, tenant) for one run; SDK thread only (module doc)."""

    def __init__(self) -> None:
        # (stream, tenant) -> (hashes, its append, the stream's hash); None for a stream that is
        # not written.
        self._open: dict[tuple[str, str], _Slot | None] = {}
        self._done: dict[tuple[str, str], Digest] = {}

    def add(self, stream: KeyedStream, tenant: str, row: Mapping[str, Any]) -> None:
        """Note one record's key. Records of a stream that is not selected (a parent read only
        for its children) are never written, so they are not noted."""
        slot = self._open.get((stream.name, tenant), _NEW)
        if slot is _NEW:
            slot = self._open[stream.name, tenant] = _open_slot(stream)
        if slot is not None:
            slot[1](slot[2](row))

    def digest(self, stream: str, tenant: str) -> Digest:
        """Distinct keys and digest of one stream and tenant; the hashes are released once
        counted (the manifest asks at the end of the run)."""
        where = (stream, tenant)
        if where not in self._done:
            slot = self._open.pop(where, None)
            hashes = slot[0] if slot else None
            self._done[where] = Digest(*distinct_digest(hashes)) if hashes else EMPTY
        return self._done[where]


_Slot = tuple["array[int]", Callable[[int], None], Callable[[Mapping[str, Any]], int]]


def _open_slot(stream: KeyedStream) -> _Slot | None:
    """Where one stream and tenant's hashes go; None when the stream is not written."""
    if not stream.selected:
        return None
    hashes: array[int] = array("Q")
    return hashes, hashes.append, KeyPlan.of(stream).hash
