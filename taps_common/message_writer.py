"""Singer output written a batch of records at a time, each SCHEMA once.

The SDK's msgspec writer flushes stdout after every message: one system call per record, the
largest single cost of a fast stream. Records are gathered here and written together; any
other message (SCHEMA, STATE, ...) flushes what is gathered first and then itself, so a STATE
never reaches the target before the records it covers. Gathered records are also written once
256 KiB wait, or when a record comes half a second after the last write, and at the end of the
run (the SDK writes STATE often, so nothing waits for long). Only the SDK's main thread writes
messages, so the buffer needs no lock.

The SDK writes a stream's SCHEMA at the start of every ``sync(context)``, so a child stream
sends it again for every parent. Targets drain their batch on a SCHEMA (target-duckdb loads
what it holds, one row at a time for a child with one row per parent), which made loading many
times slower than extracting. A SCHEMA identical to the last one sent for its stream says
nothing new and is dropped; a changed one goes out (and flushes, as any other message). The
check compares values before anything is serialised: turning a SCHEMA into JSON (the SDK
deep-copies the schema on the way) for every parent, only to drop it, was a seventh of a
fan-out tap's CPU.
"""

from __future__ import annotations

import copy
import sys
import time
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.messages import Message, RecordMessage, SchemaMessage

MAX_BUFFERED_BYTES = 256 * 1024
MAX_DELAY_SECONDS = 0.5


class BatchedMsgSpecWriter(MsgSpecWriter):
    """MsgSpecWriter with records batched into one write and repeated SCHEMAs dropped."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._last_flush = time.monotonic()
        # stream -> (schema, key properties, bookmark properties) of the SCHEMA last sent, a
        # copy: the SDK hands the same schema object again, so a change made in place shows.
        self._schemas: dict[str, tuple[Any, Any, Any]] = {}

    def write_message(self, message: Message) -> None:
        """Gather a record; write everything on any other message, or when enough waits."""
        if isinstance(message, SchemaMessage):
            sent = (message.schema, message.key_properties, message.bookmark_properties)
            if self._schemas.get(message.stream) == sent:
                return
            self._schemas[message.stream] = copy.deepcopy(sent)
        self._buffer += self.format_message(message)
        if (
            isinstance(message, RecordMessage)
            and len(self._buffer) < MAX_BUFFERED_BYTES
            and time.monotonic() - self._last_flush < MAX_DELAY_SECONDS
        ):
            return
        self.flush()

    def flush(self) -> None:
        """Write what is gathered (also at the end of the run, whatever ended it)."""
        if self._buffer:
            sys.stdout.buffer.write(self._buffer)
            self._buffer.clear()
        sys.stdout.flush()
        self._last_flush = time.monotonic()
