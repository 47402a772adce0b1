"""Sending a batch's outputs: a prediction per scored event and the alerts (keyed by card id, so that
one card's outputs stay in order on one partition), and a dead letter per bad message."""

from __future__ import annotations

import time
from collections.abc import Callable

from consumer.config import Topics
from consumer.decode import DecodedBatch
from consumer.outputs import ScoredBatch, alert_records, encode_predictions
from consumer.sink import OutputSink
from schemas import Codec
from schemas.columnar import ColumnarEncoder


class Publisher:
    def __init__(
        self,
        sink: OutputSink,
        codecs: dict[str, Codec],
        topics: Topics,
        on_dead_letter: Callable[[str], None] = lambda _stage: None,
    ) -> None:
        """`codecs` by record name (prediction, alert, dead_letter); `on_dead_letter` gets each dead
        letter's stage."""
        self._sink = sink
        self._predictions = ColumnarEncoder(codecs["prediction"])
        self._alerts = codecs["alert"]
        self._dead_letters = codecs["dead_letter"]
        self._topics = topics
        self._on_dead_letter = on_dead_letter

    def send(self, scored: ScoredBatch | None, batch: DecodedBatch) -> tuple[int, int]:
        """Produce the batch's outputs (not yet confirmed: see `OutputSink.confirm`); the numbers of
        predictions and alerts."""
        counts = (0, 0) if scored is None else self._scores(scored)
        now_ms = int(time.time() * 1000)
        for dead in batch.dead_letters:
            self._sink.send(self._topics.dlq, dead.key, self._dead_letters.encode(dead.record(now_ms)))
            self._on_dead_letter(dead.stage)
        return counts

    def _scores(self, scored: ScoredBatch) -> tuple[int, int]:
        now_ms = int(time.time() * 1000)
        keys = [c.encode() for c in scored.tx.card_id.tolist()]
        predictions = encode_predictions(scored, now_ms, self._predictions)
        self._sink.send_many(self._topics.predictions, keys, predictions)
        alert_rows = scored.alert_rows
        alerts = self._alerts.encode_many(alert_records(scored, now_ms))
        self._sink.send_many(self._topics.alerts, [keys[i] for i in alert_rows], alerts)
        return len(scored.tx), len(alert_rows)
