"""The real-time scorer: consume a micro-batch, score it, publish, then move the offsets.

Per batch, in this order (at-least-once):
  decode -> Redis's answer to the previous batch's feature write -> the batch's Redis read sent ->
  the next batch read ahead (taken and decoded while Redis answers, when it is all fetched already)
  -> the previous batch's outputs confirmed and its offsets stored -> the read's answer -> feature
  write sent (idempotent, so Redis applies it while the rest goes on) -> features computed -> one
  predict -> predictions, alerts, dead letters produced.
Offsets are committed by the auto-commit timer, synchronously on revoke and on close. An offset never
passes an event whose prediction or dead letter the broker does not have, nor, while Redis is down, one
whose feature update is only queued in memory. A batch read ahead is not started: its offsets move only
once it is scored in turn, and a stop drops it for the next owner to redo.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaException, TopicPartition

from consumer.collect import BatchCollector, usable
from consumer.commit import AtLeastOnce, CommitStrategy
from consumer.config import ScorerConfig
from consumer.decode import DecodedBatch, decode_batch
from consumer.exactly_once import ExactlyOnce
from consumer.feature_guard import FeatureGuard
from consumer.kafka_config import open_clients
from consumer.metrics import ScorerMetrics
from consumer.model_holder import ModelHolder
from consumer.outputs import ScoredBatch
from consumer.publish import Publisher
from consumer.scoring import score_batch
from consumer.status import RunSummary
from features.online import OnlineFeatureStore
from fraudscore.redis_client import connect_redis
from schemas import Codec, open_schema_source
from schemas.history import TransactionColumns

log = logging.getLogger(__name__)


class Scorer:
    def __init__(self, cfg: ScorerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self._clock = clock
        source = open_schema_source(cfg.schema_registry_url)
        self.codecs = {
            n: Codec(n, source) for n in ("transaction", "label", "prediction", "alert", "dead_letter")
        }
        self.models = ModelHolder(cfg.model_dir, cfg.model_version, cfg.reload_interval_s, clock)
        self.metrics = ScorerMetrics()
        self.metrics.set_model(self.models.version)
        self.summary = RunSummary(started=clock())
        self._stopping = False
        store = OnlineFeatureStore(connect_redis(cfg.redis_url), label_delay_days=cfg.label_delay_days)
        self.features = FeatureGuard(
            store,
            cfg.redis_retry_budget_ms / 1000,
            cfg.redis_down_mode,
            should_stop=lambda: self._stopping,
            on_error=self.metrics.redis_errors.inc,
        )
        self.consumer, self.sink = open_clients(cfg)
        self.publisher = Publisher(
            self.sink, self.codecs, cfg.topics, lambda stage: self.metrics.dead_letters.labels(stage).inc()
        )

        def writes_queued() -> bool:
            return self.features.backlogged

        self.commit: CommitStrategy = (
            ExactlyOnce(self.consumer, self.sink, writes_queued=writes_queued)
            if cfg.guarantee == "exactly-once"
            else AtLeastOnce(self.consumer, self.sink, writes_queued=writes_queued)
        )
        if cfg.redis_down_mode != cfg.on_redis_down:
            log.info("exactly-once: Redis outages pause scoring (a batch commits with its feature updates)")
        self.collector = BatchCollector(self.consumer, cfg.max_batch, cfg.max_wait_ms / 1000, 0.2, clock)
        self.assigned: set[tuple[str, int]] = set()
        self._in_flight: DecodedBatch | None = None  # its read is sent; scored and published next
        self._ahead: DecodedBatch | None = None  # read ahead, decoded, not started
        self._read_start_s = 0.0

    # -- control -------------------------------------------------------------------------------
    def stop(self) -> None:
        """Finish the batch in hand, commit, and return from `run` (safe from a signal handler)."""
        self._stopping = True

    @property
    def ready(self) -> bool:
        return bool(self.assigned) and not self._stopping

    # -- rebalance -----------------------------------------------------------------------------
    def _on_assign(self, _consumer: Any, partitions: list[TopicPartition]) -> None:
        self.assigned |= {(p.topic, p.partition) for p in partitions}
        log.info("assigned %s", sorted(self.assigned))

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        # Finish the batch in flight (a revocation during the read-ahead) and what was gathered for
        # the partitions that leave, so that the next owner starts exactly after our confirmed
        # outputs: never half-committed.
        self._finish_in_flight()
        pending = [m for m in self.collector.take() if usable(m)]
        if pending:
            self._process(self._decode(pending), read_ahead=False)
        self.features.wait()
        self.commit.commit_now()
        self.assigned -= {(p.topic, p.partition) for p in partitions}

    def _on_lost(self, _consumer: Any, partitions: list[TopicPartition]) -> None:
        # Another member owns these now: whatever we hold for them is left uncommitted for it to redo.
        lost = {(p.topic, p.partition) for p in partitions}
        self.collector.pending = [m for m in self.collector.pending if (m.topic(), m.partition()) not in lost]
        self.assigned -= lost
        self.commit.lost()

    # -- the loop ------------------------------------------------------------------------------
    def run(self, on_batch: Callable[[Scorer], None] | None = None) -> RunSummary:
        cfg = self.cfg
        self.consumer.subscribe(
            cfg.topics.inputs(cfg.consume_labels),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        # Everything loaded so far (xgboost, numpy, the model, ...) lives as long as the process: out of
        # the collector's sight, a full collection no longer walks ~70,000 objects (a ~30-80 ms stall
        # that showed in the p99 latency).
        gc.collect()
        gc.freeze()
        idle_since = self._clock()
        try:
            while not self._stopping:
                if cfg.max_events is not None and self.summary.events >= cfg.max_events:
                    break
                if self.models.maybe_reload():
                    self.metrics.set_model(self.models.version)
                if self.features.backlogged:
                    self.features.flush_pending()
                ahead, self._ahead = self._ahead, None
                if ahead is None:
                    left = None if cfg.max_events is None else cfg.max_events - self.summary.events
                    started = self._clock()
                    messages = [m for m in self.collector.collect(left) if usable(m)]
                    self.metrics.stage_seconds.labels("collect").observe(self._clock() - started)
                    ahead = self._decode(messages) if messages else None
                if ahead is not None:
                    self._process(ahead)
                    idle_since = self._clock()
                else:
                    self.features.wait()  # idle commits move offsets: the last batch's write comes first
                    self.commit.idle()
                    if not self.assigned:  # joining the group is not idleness
                        idle_since = self._clock()
                    elif cfg.until_idle_s is not None and self._clock() - idle_since >= cfg.until_idle_s:
                        break
                if on_batch is not None:
                    on_batch(self)
        finally:
            self._close()
        return self.summary

    def _decode(self, messages: list[Any]) -> DecodedBatch:
        started = self._clock()
        codecs = self.codecs
        batch = decode_batch(messages, codecs["transaction"], codecs["label"], self.cfg.topics.transactions)
        self.metrics.stage_seconds.labels("decode").observe(self._clock() - started)
        return batch

    def _process(self, batch: DecodedBatch, read_ahead: bool = True) -> None:
        # The previous batch's feature write ran while this one was collected and decoded; its
        # offsets move (in `begin`) only once it is done.
        started = self._clock()
        self.features.wait()
        self.metrics.stage_seconds.labels("feature_write").observe(self._clock() - started)
        self._in_flight = batch
        started = self._clock()
        self.features.start_read(batch.transactions)
        self._read_start_s = self._clock() - started  # counted in the features stage
        if read_ahead:
            self._read_ahead(batch)
        self._finish_in_flight()

    def _read_ahead(self, in_flight: DecodedBatch) -> None:
        """While Redis answers the batch's read (~2 ms for 1,000 events), take and decode the next
        batch if it is all fetched already, so that the wait is hidden (docs/bench.md). Only behind a
        full batch (a backlog): at live rates it raised the median latency (p50 +1.5-2 ms at
        5,000/s). A partial batch stays with the collector. Not with exactly-once: a rolled-back
        batch rewinds its partitions, and a batch read ahead would have to be rewound with it."""
        if self._stopping or self.cfg.guarantee == "exactly-once" or in_flight.size < self.cfg.max_batch:
            return
        size = self.cfg.max_batch
        if self.cfg.max_events is not None:
            size = min(size, self.cfg.max_events - self.summary.events - in_flight.size)
        if size <= 0:
            return
        if self.collector.gather_ready(size):
            messages = [m for m in self.collector.take() if usable(m)]
            self._ahead = self._decode(messages) if messages else None
            self.metrics.read_ahead.inc()

    def _finish_in_flight(self) -> None:
        """Score, publish and make durable the batch whose read was started; once only, whether the
        loop or a revocation during the read-ahead gets to it first."""
        batch, self._in_flight = self._in_flight, None
        if batch is None:
            return
        # The batches before are confirmed (and their offsets stored) only now, a read-ahead after
        # their outputs were sent: by then the broker has acknowledged them, and the wait is gone.
        self.commit.begin()
        try:
            # The feature write goes out once the state is read; it is idempotent, so a batch redone
            # (after a crash, or rolled back) reads the same features, up to its own later events in
            # the terminal windows when the redo regroups its messages.
            scored = self._score(batch.transactions, batch.labels)
            predictions, alerts = self.publisher.send(scored, batch)
        except KafkaException as exc:  # e.g. a transaction in error refuses outputs: roll back
            self.commit.fail(exc, batch.first_offsets)
            return
        if self.cfg.guarantee == "exactly-once":
            self.features.wait()  # the transaction commits next: the write must be applied first
        started = self._clock()
        durable = self.commit.finish(batch.next_offsets, batch.first_offsets)
        self.metrics.stage_seconds.labels("commit").observe(self._clock() - started)
        if durable:
            self._account(batch, predictions, alerts)

    def _score(self, tx: TransactionColumns, labels: TransactionColumns | None) -> ScoredBatch | None:
        if not len(tx):
            self.features.record(tx, labels)
            return None
        t0 = self._clock()
        matrix, missing = self.features.read_then_record(tx, labels)
        t1 = self._clock()
        scored = score_batch(self.models.core, tx, matrix, missing)
        self.metrics.stage_seconds.labels("features").observe(t1 - t0 + self._read_start_s)
        self.metrics.stage_seconds.labels("predict").observe(self._clock() - t1)
        if missing:
            self.metrics.missing_feature_events.inc(len(tx))
        return scored

    def _account(self, batch: DecodedBatch, predictions: int, alerts: int) -> None:
        self.metrics.observe_batch(batch, predictions, alerts, self.cfg.topics)
        labels = batch.label_count
        self.summary.add_batch(
            batch.size - labels, predictions, alerts, len(batch.dead_letters), labels, self.models.version
        )

    def _close(self) -> None:
        # Taken but not scored (read ahead, or left by an error): their offsets never moved, so the
        # next owner redoes them; a revocation while the consumer closes must not score them now.
        self._in_flight = self._ahead = None
        self.collector.take()
        try:
            self.features.close()
            self.commit.close()
        finally:
            try:
                self.consumer.close()
            finally:
                self.sink.close()
