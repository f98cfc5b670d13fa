"""Singer output written a batch of records at a time.

The SDK's msgspec writer flushes stdout after every message: one system call per record, the
largest single cost of a fast stream. Records are gathered here and written together; any
other message (SCHEMA, STATE, ...) flushes what is gathered first and then itself, so a STATE
never reaches the target before the records it covers. Gathered records are also written once
256 KiB wait, or when a record comes half a second after the last write, and at the end of the
run (the SDK writes STATE often, so nothing waits for long). Only the SDK's main thread writes
messages, so the buffer needs no lock.
"""

from __future__ import annotations

import sys
import time

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.messages import Message, RecordMessage

MAX_BUFFERED_BYTES = 256 * 1024
MAX_DELAY_SECONDS = 0.5


class BatchedMsgSpecWriter(MsgSpecWriter):
    """MsgSpecWriter with records batched into one write."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._last_flush = time.monotonic()

    def write_message(self, message: Message) -> None:
        """Gather a record; write everything on any other message, or when enough waits."""
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
