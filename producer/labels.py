"""The label feed: each transaction's fraud label, released once the simulated clock passes
event_time + delay (a chargeback or an investigation outcome arrives days after the payment)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from producer.encoding import encode, label_record
from producer.events import OutgoingEvent
from schemas import Codec
from schemas.history import TransactionColumns

DAY_MS = 86_400_000


class LabelFeed:
    def __init__(self, codec: Codec, delay_days: float) -> None:
        self._codec = codec
        self.delay_ms = int(delay_days * DAY_MS)
        # Events arrive in event-time order, so label times do too: a FIFO is a priority queue here.
        self._pending: deque[tuple[int, TransactionColumns, int]] = deque()

    def push(self, event: OutgoingEvent) -> None:
        """Remember a sent good event's label; a replaced (bad) event never happened, so no label."""
        if event.bad_kind is None:
            self._pending.append((event.event_time + self.delay_ms, event.source, event.row))

    def due(self, clock_ms: int) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) of every label whose time has come by `clock_ms`, oldest first."""
        while self._pending and self._pending[0][0] <= clock_ms:
            label_time, source, row = self._pending.popleft()
            record = label_record(source, row, label_time)
            if record is not None:
                yield encode(self._codec, record)

    @property
    def pending(self) -> int:
        return len(self._pending)
