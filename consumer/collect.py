"""Collecting a micro-batch: up to `max_batch` messages, closed when the oldest has waited `max_wait`.

librdkafka's `consume(n, timeout)` waits until it has n messages or its timeout, measured from the call,
so a batch starts with a wait for one message and is then topped up until it is full or its first
message is `max_wait` old. Old since its Kafka timestamp, not since this process took it: messages that
queued up while the previous batch was scored have waited already, and waiting a full `max_wait` more
for company only adds latency (p50 at 5,000 events/s: see docs/bench.md). The age counts no more than
`max_wait` and never below zero, so a producer's clock ahead or behind ours only changes batch sizes.
The messages gathered so far stay visible in `pending`, so a partition revocation in the middle of a
top-up can finish them before the partitions move (see `scorer.py`). `gather_ready` takes only what is
fetched already, for the scorer's read-ahead; a batch it starts is closed by `collect` as any other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from confluent_kafka import KafkaError

from consumer.exceptions import ScorerError

log = logging.getLogger(__name__)


class Consumes(Protocol):
    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]: ...


class BatchCollector:
    def __init__(
        self,
        consumer: Consumes,
        max_batch: int,
        max_wait_s: float,
        idle_wait_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._consumer = consumer
        self._max_batch = max_batch
        self._max_wait = max_wait_s
        self._idle_wait = idle_wait_s
        self._clock = clock
        self._wall = wall
        self.pending: list[Any] = []

    def take(self) -> list[Any]:
        """Hand over what has been gathered; the collector starts a new batch."""
        batch, self.pending = self.pending, []
        return batch

    def collect(self, limit: int | None = None) -> list[Any]:
        """The next batch (messages and errors); empty when nothing came within the idle wait."""
        size = min(self._max_batch, limit) if limit else self._max_batch
        # Never `self.pending.extend(self._consumer.consume(...))`: the list is looked up before the
        # call, and a revoke callback run inside `consume` hands that list over and starts a new one,
        # so the messages the same call returns would land in a list nobody reads (lost events).
        if not self.pending:  # else a read-ahead (`gather_ready`) started the batch
            first = self._consumer.consume(1, self._idle_wait)
            self.pending.extend(first)
            if not self.pending:
                return []
        deadline = self._clock() + self._max_wait - self._waited(self.pending[0])
        while 0 < len(self.pending) < size:
            # Past the deadline, still take what is already fetched: it costs no wait.
            left = max(deadline - self._clock(), 0.0)
            more = self._consumer.consume(size - len(self.pending), left)
            if not more:
                break
            self.pending.extend(more)
        return self.take()

    def gather_ready(self, size: int) -> bool:
        """Add what the consumer has fetched already, without waiting, up to `size` in all; True when
        that fills the batch. A partial batch stays gathered: `collect` tops it up."""
        if len(self.pending) < size:
            more = self._consumer.consume(size - len(self.pending), 0)
            self.pending.extend(more)
        return len(self.pending) >= size

    def _waited(self, msg: Any) -> float:
        kind, stamp_ms = msg.timestamp()
        if kind == 0:  # TIMESTAMP_NOT_AVAILABLE
            return 0.0
        age = self._wall() - float(stamp_ms) / 1000
        return min(max(age, 0.0), self._max_wait)


def usable(msg: Any) -> bool:
    """False for a message that is an error report, not an event; raises on a fatal one."""
    err = msg.error()
    if err is None:
        return True
    if err.fatal():
        raise ScorerError(f"Kafka consumer failed: {err.str()}")
    if err.code() != KafkaError._PARTITION_EOF:
        log.warning("consumer error: %s", err.str())
    return False
