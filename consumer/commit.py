"""How a batch's outputs and offsets become durable: the two delivery guarantees.

At-least-once: wait until the broker acknowledged every output, then store the offsets (auto-committed,
and committed synchronously on revoke and close). A crash redoes at most the unconfirmed batches. While
feature writes are queued (Redis down), offsets are held back too: a crash or a stop then redoes those
batches, and so applies their writes, instead of leaving the feature state without them.

Exactly-once is `consumer.exactly_once`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from consumer.sink import OutputSink

log = logging.getLogger(__name__)

Offsets = dict[tuple[str, int], int]


def partitions(offsets: Offsets) -> list[TopicPartition]:
    return [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]


class CommitStrategy(Protocol):
    def begin(self) -> None: ...

    def finish(self, next_offsets: Offsets, first_offsets: Offsets) -> bool:
        """Make the batch durable; False when it was rolled back and will be consumed again."""
        ...

    def commit_now(self) -> None:
        """Commit what is durable so far (before partitions are revoked)."""
        ...

    def fail(self, exc: KafkaException, first_offsets: Offsets) -> bool:
        """A Kafka call failed while the batch's outputs were sent: False when the batch was rolled
        back and will be consumed again; raises when it cannot be."""
        ...

    def lost(self) -> None:
        """The group dropped this member (its session timed out): its work may have moved."""
        ...

    def idle(self) -> None:
        """Nothing was consumed: a moment for checks that must not delay a batch."""
        ...

    def close(self) -> None: ...


class AtLeastOnce:
    """Confirmation is pipelined: a batch's outputs are confirmed when the next batch begins, after its
    feature writes, collection or read-ahead and decoding, by which time the broker has acknowledged
    them (the wait is then near zero instead of a round trip per batch); only then are its offsets
    stored."""

    def __init__(
        self, consumer: Consumer, sink: OutputSink, writes_queued: Callable[[], bool] = lambda: False
    ) -> None:
        self._consumer = consumer
        self._sink = sink
        self._writes_queued = writes_queued
        self._unconfirmed: list[Offsets] = []  # finished batches whose outputs may still be in flight

    def begin(self) -> None:
        self._store_confirmed()

    def finish(self, next_offsets: Offsets, first_offsets: Offsets) -> bool:
        self._unconfirmed.append(next_offsets)
        return True

    def _store_confirmed(self) -> None:
        if not self._unconfirmed:
            return
        self._sink.confirm()
        if self._writes_queued():
            return  # held until Redis has every feature write (see the module docstring)
        offsets: Offsets = {}
        for batch in self._unconfirmed:
            offsets.update(batch)
        self._unconfirmed = []
        try:
            self._consumer.store_offsets(offsets=partitions(offsets))
        except KafkaException as exc:
            # Partitions lost meanwhile: their new owner redoes the batch (at-least-once).
            log.warning("offsets not stored: %s", exc)

    def commit_now(self) -> None:
        self._store_confirmed()
        try:
            self._consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("commit failed: %s", exc)

    def fail(self, exc: KafkaException, first_offsets: Offsets) -> bool:
        raise exc  # nothing to roll back: the batch's offsets were not stored

    def lost(self) -> None:
        return

    def idle(self) -> None:
        # No next batch to piggyback on: without this, the last batch's offsets would wait for the
        # next event (or the close), and an idle scorer would show lag and redo that batch after a crash.
        self._store_confirmed()

    def close(self) -> None:
        self._sink.confirm()  # also the dead letters and anything sent outside a batch
        self.commit_now()
