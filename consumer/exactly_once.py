"""Exactly-once: one Kafka transaction per batch holds the outputs and the input offsets
(`send_offsets_to_transaction`); `read_committed` readers see a batch's outputs only when its offsets
moved too. An abortable error aborts and rewinds the consumer to the batch's first offsets, so the batch
is scored again (the Redis updates are idempotent, so the features, and thus the scores, are the same).
So does a batch whose feature writes are only queued (Redis down): committing it would leave the
feature state without them for good if the process then died. A fenced producer (a newer instance took
over) cannot go on: `FencedError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException

from consumer.commit import Offsets, partitions
from consumer.exceptions import FencedError, ScorerError
from consumer.sink import OutputSink

log = logging.getLogger(__name__)


def _is_fenced(err: KafkaError) -> bool:
    return err.fatal() or err.code() in (
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    )


class ExactlyOnce:
    """One transaction per batch (see the module docstring).

    Calls that time out (a broker or coordinator is away) are retried for up to `retry_s`. Any other
    error inside a transaction aborts it and rewinds; `max_aborts` rollbacks of the same batch in a row
    (an output the broker refuses every time) stop the scorer instead of looping on it.
    """

    def __init__(
        self,
        consumer: Consumer,
        sink: OutputSink,
        timeout_s: float = 30.0,
        retry_s: float = 120.0,
        max_aborts: int = 5,
        clock: Callable[[], float] = time.monotonic,
        writes_queued: Callable[[], bool] = lambda: False,
    ) -> None:
        self._consumer = consumer
        self._sink = sink
        self._writes_queued = writes_queued
        self._producer = producer = sink.producer
        self._timeout = timeout_s
        self._retry_s = retry_s
        self._max_aborts = max_aborts
        self._clock = clock
        self._open = False
        self._aborts_in_a_row = 0
        self._suspect = False  # the group dropped us: we may be a zombie until a transaction succeeds
        self.aborted = 0
        self._call(lambda: producer.init_transactions(timeout_s), "init_transactions")

    def _call(self, op: Callable[[], object], what: str) -> None:
        deadline = self._clock() + self._retry_s
        while True:
            try:
                op()
                return
            except KafkaException as exc:
                err: KafkaError = exc.args[0]
                if _is_fenced(err):
                    self._open = False  # the coordinator aborts it: nothing is left to abort
                    raise FencedError(f"producer fenced during {what}: {err.str()}") from None
                if not err.retriable() or err.txn_requires_abort():
                    raise
                if self._clock() >= deadline:
                    raise ScorerError(
                        f"{what} still failing after {self._retry_s:.0f} s: {err.str()}"
                    ) from None
                log.warning("%s: %s; retrying", what, err.str())

    def begin(self) -> None:
        # Delivery failures of an aborted transaction are redone by the rewind, not by the sink.
        self._sink.forget_failures()
        self._call(self._producer.begin_transaction, "begin_transaction")
        self._open = True

    def finish(self, next_offsets: Offsets, first_offsets: Offsets) -> bool:
        if self._writes_queued():
            # Not counted toward `max_aborts`: the redo waits for Redis (the scorer pauses on Redis
            # outages in this mode), it does not fail the same way again.
            self._roll_back("feature writes not applied: Redis unavailable", first_offsets)
            return False
        group = self._consumer.consumer_group_metadata()
        offsets = partitions(next_offsets)
        try:
            self._call(
                lambda: self._producer.send_offsets_to_transaction(offsets, group, self._timeout),
                "send_offsets_to_transaction",
            )
            self._call(lambda: self._producer.commit_transaction(self._timeout), "commit_transaction")
        except KafkaException as exc:
            return self.fail(exc, first_offsets)
        self._open = False
        self._aborts_in_a_row = 0
        self._suspect = False
        return True

    def fail(self, exc: KafkaException, first_offsets: Offsets) -> bool:
        err: KafkaError = exc.args[0]
        if _is_fenced(err):
            self._open = False
            raise FencedError(f"producer fenced: {err.str()}") from None
        self._aborts_in_a_row += 1
        self._roll_back(err.str(), first_offsets)
        if self._aborts_in_a_row >= self._max_aborts:
            raise ScorerError(
                f"a batch was rolled back {self._aborts_in_a_row} times in a row, last for: {err.str()}"
            )
        return False

    def _roll_back(self, reason: str, first_offsets: Offsets) -> None:
        """Abort the transaction and rewind to the batch's first offsets: it is consumed again."""
        try:
            self._abort()
        except KafkaException as abort_exc:
            raise ScorerError(f"cannot abort after {reason}: {abort_exc.args[0].str()}") from None
        log.warning("transaction aborted (%s); rewinding %d partitions", reason, len(first_offsets))
        for tp in partitions(first_offsets):
            try:
                self._consumer.seek(tp)
            except KafkaException as seek_exc:
                # No longer ours: its new owner starts from the committed offset anyway.
                log.warning("no rewind of %s[%d]: %s", tp.topic, tp.partition, seek_exc.args[0].str())

    def _abort(self) -> None:
        self._call(lambda: self._producer.abort_transaction(self._timeout), "abort_transaction")
        self._open = False
        self.aborted += 1

    def commit_now(self) -> None:
        return  # every finished batch committed its own transaction

    def lost(self) -> None:
        # Dropped for outliving the session timeout (paused, cut off): a replacement may hold our
        # transactional id by now. A zombie with input learns it at its next commit; one without input
        # would never learn it, so `idle` checks.
        self._suspect = True

    def idle(self) -> None:
        if not self._suspect:
            return
        try:
            self._suspect = not self._check_not_fenced()
        except KafkaException as exc:
            log.warning("fence check failed, trying again: %s", exc.args[0].str())

    def _check_not_fenced(self) -> bool:
        """Commits the owned partitions' offsets unchanged in a transaction of its own: a no-op that
        a fenced producer cannot do (it raises FencedError). False when it could not be done yet."""
        owned = self._consumer.assignment()
        if not owned:
            return False
        offsets: Offsets = {}
        for tp in self._consumer.committed(owned, timeout=self._timeout):
            # Never committed: the group would start at the earliest offset, so that is the no-op.
            low = tp.offset if tp.offset >= 0 else self._consumer.get_watermark_offsets(tp, self._timeout)[0]
            offsets[(tp.topic, tp.partition)] = low
        self.begin()
        return self.finish(offsets, {})

    def close(self) -> None:
        if self._open:
            try:
                self._abort()
            except (KafkaException, FencedError) as exc:
                log.warning("abort on close failed: %s", exc)
