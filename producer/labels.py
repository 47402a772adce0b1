"""The label feed: each transaction's fraud label, released once the simulated clock passes
event_time + delay (a chargeback or an investigation outcome arrives days after the payment)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from producer.encoding import encode_labels
from producer.events import OutgoingEvent
from schemas import Codec
from schemas.history import TransactionColumns

DAY_MS = 86_400_000


class LabelFeed:
    def __init__(self, codec: Codec, delay_days: float) -> None:
        self._codec = codec
        self.delay_ms = int(delay_days * DAY_MS)
        # Events arrive in event-time order, so label times do too: a FIFO is a priority queue here.
        self._pending: deque[tuple[int, bytes, bytes]] = deque()
        self._block: TransactionColumns | None = None
        self._values: list[bytes | None] = []

    def push(self, event: OutgoingEvent) -> None:
        """Remember a sent good event's label; a replaced (bad) event never happened, so no label."""
        if event.bad_kind is not None:
            return
        if event.source is not self._block:
            # A new day block: encode all its labels at once.
            self._block = event.source
            self._values = encode_labels(self._codec, event.source, event.source.event_time + self.delay_ms)
        value = self._values[event.row]
        if value is not None:
            self._pending.append((event.event_time + self.delay_ms, event.key, value))

    def due(self, clock_ms: int) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) of every label whose time has come by `clock_ms`, oldest first."""
        while self._pending and self._pending[0][0] <= clock_ms:
            _, key, value = self._pending.popleft()
            yield key, value

    @property
    def next_due_ms(self) -> int | None:
        return self._pending[0][0] if self._pending else None

    @property
    def pending(self) -> int:
        return len(self._pending)
