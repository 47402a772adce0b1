"""How a batch's outputs and offsets become durable: the two delivery guarantees.

At-least-once: wait until the broker acknowledged every output, then store the offsets (auto-committed,
and committed synchronously on revoke and close). A crash redoes at most the unconfirmed batches.

Exactly-once: one Kafka transaction per batch holds the outputs and the input offsets
(`send_offsets_to_transaction`); `read_committed` readers see a batch's outputs only when its offsets
moved too. An abortable error aborts and rewinds the consumer to the batch's first offsets, so the batch
is scored again (the Redis updates are idempotent, so the features, and thus the scores, are the same).
A fenced producer (a newer instance took over) cannot go on: `FencedError`.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from consumer.exceptions import FencedError, ScorerError
from consumer.sink import OutputSink

log = logging.getLogger(__name__)

Offsets = dict[tuple[str, int], int]


def _partitions(offsets: Offsets) -> list[TopicPartition]:
    return [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]


class CommitStrategy(Protocol):
    def begin(self) -> None: ...

    def finish(self, next_offsets: Offsets, first_offsets: Offsets) -> bool:
        """Make the batch durable; False when it was rolled back and will be consumed again."""
        ...

    def commit_now(self) -> None:
        """Commit what is durable so far (before partitions are revoked)."""
        ...

    def close(self) -> None: ...


class AtLeastOnce:
    """Confirmation is pipelined: a batch's outputs are confirmed when the next batch begins, after its
    feature writes, collection and decoding, by which time the broker has acknowledged them (the wait
    is then near zero instead of a round trip per batch); only then are its offsets stored."""

    def __init__(self, consumer: Consumer, sink: OutputSink) -> None:
        self._consumer = consumer
        self._sink = sink
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
        offsets: Offsets = {}
        for batch in self._unconfirmed:
            offsets.update(batch)
        self._unconfirmed = []
        try:
            self._consumer.store_offsets(offsets=_partitions(offsets))
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

    def close(self) -> None:
        self._sink.confirm()  # also the dead letters and anything sent outside a batch
        self.commit_now()


def _is_fenced(err: KafkaError) -> bool:
    return (
        err.code()
        in (
            KafkaError._FENCED,
            KafkaError.PRODUCER_FENCED,
            KafkaError.INVALID_PRODUCER_EPOCH,
            KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        )
        or err.fatal()
    )


class ExactlyOnce:
    def __init__(self, consumer: Consumer, sink: OutputSink, timeout_s: float = 30.0) -> None:
        self._consumer = consumer
        self._sink = sink
        self._producer = producer = sink.producer
        self._timeout = timeout_s
        self._open = False
        self.aborted = 0
        self._call(lambda: producer.init_transactions(timeout_s), "init_transactions")

    def _call(self, op: Any, what: str) -> None:
        try:
            op()
        except KafkaException as exc:
            err: KafkaError = exc.args[0]
            if _is_fenced(err):
                raise FencedError(f"producer fenced during {what}: {err.str()}") from None
            raise

    def begin(self) -> None:
        # Delivery failures of an aborted transaction are redone by the rewind, not by the sink.
        self._sink.forget_failures()
        self._call(self._producer.begin_transaction, "begin_transaction")
        self._open = True

    def finish(self, next_offsets: Offsets, first_offsets: Offsets) -> bool:
        try:
            self._producer.send_offsets_to_transaction(
                _partitions(next_offsets), self._consumer.consumer_group_metadata(), self._timeout
            )
            self._commit()
            return True
        except KafkaException as exc:
            err: KafkaError = exc.args[0]
            if _is_fenced(err):
                raise FencedError(f"producer fenced: {err.str()}") from None
            if not err.txn_requires_abort():
                raise ScorerError(f"transaction failed: {err.str()}") from None
            log.warning("transaction aborted (%s); rewinding %d partitions", err.str(), len(first_offsets))
            self._abort()
            for tp in _partitions(first_offsets):
                self._consumer.seek(tp)
            return False

    def _commit(self) -> None:
        while True:
            try:
                self._producer.commit_transaction(self._timeout)
                self._open = False
                return
            except KafkaException as exc:
                if not exc.args[0].retriable():
                    raise
                log.warning("commit_transaction retry: %s", exc.args[0].str())

    def _abort(self) -> None:
        self._call(lambda: self._producer.abort_transaction(self._timeout), "abort_transaction")
        self._open = False
        self.aborted += 1

    def commit_now(self) -> None:
        return  # every finished batch committed its own transaction

    def close(self) -> None:
        if self._open:
            try:
                self._abort()
            except (KafkaException, FencedError) as exc:
                log.warning("abort on close failed: %s", exc)
