"""Replay: re-score a time range of the transactions topic, point in time, into a replay topic.

Features come from the topic itself (offline computation over the range plus the look-back the windows
need), never from the live Redis, and nothing is written to the alerts topic, so a replay neither fires
alerts twice nor disturbs live scoring. The summary compares the replayed scores with the live ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from batch.exceptions import BatchError
from batch.scoring import score_history
from batch.sources import columns, read_topic
from consumer.outputs import ScoredBatch, prediction_records
from consumer.sink import OutputSink
from features.definition import card_horizon_ms, terminal_horizon_ms
from models.artifact import load_artifact
from models.scoring import ScoringCore
from schemas import Codec, SchemaSource
from schemas.validation import validate_transaction

PUBLISH_CHUNK = 10_000


@dataclass(frozen=True)
class ReplayPlan:
    kafka: dict[str, Any]
    transactions_topic: str
    labels_topic: str
    live_predictions_topic: str
    live_topics: tuple[str, ...]  # never written by a replay
    output_topic: str
    model_dir: Path
    model_version: str | None
    label_delay_days: int
    t_from: int
    t_to: int


@dataclass(frozen=True)
class ReplaySummary:
    events: int
    alerts: int
    skipped: int
    model_version: str
    compared: int  # events that also have a live prediction
    mean_abs_diff: float
    max_abs_diff: float
    alert_flips: int  # events whose alert decision differs from the live one

    def lines(self) -> list[str]:
        out = [
            f"events replayed     {self.events:>10,}",
            f"alerts (would fire) {self.alerts:>10,}",
            f"skipped (invalid)   {self.skipped:>10,}",
            f"model               {self.model_version}",
        ]
        if self.compared:
            out += [
                f"compared with live  {self.compared:>10,}",
                f"score diff mean     {self.mean_abs_diff:>10.6f}",
                f"score diff max      {self.max_abs_diff:>10.6f}",
                f"alert decisions changed {self.alert_flips:>6,}",
            ]
        else:
            out.append("no live predictions for this range to compare with")
        return out


def lookback_ms(label_delay_days: int) -> int:
    return max(card_horizon_ms(), terminal_horizon_ms(label_delay_days))


def rescore(
    plan: ReplayPlan, source: SchemaSource, progress: Callable[[int], object]
) -> tuple[ScoredBatch, int]:
    """The range's transactions scored with point-in-time features from the topics."""
    start = plan.t_from - lookback_ms(plan.label_delay_days)
    tx_read = read_topic(
        plan.kafka,
        plan.transactions_topic,
        Codec("transaction", source),
        keep=lambda r: start <= r["event_time"] < plan.t_to,
        validate=validate_transaction,
        progress=progress,
    )
    label_read = read_topic(
        plan.kafka,
        plan.labels_topic,
        Codec("label", source),
        keep=lambda r: r["event_time"] < plan.t_to,
        progress=progress,
    )
    labels = {r["event_id"]: bool(r["is_fraud"]) for r in label_read.records}
    tx = columns(tx_read.records, labels)
    rows = np.flatnonzero((tx.event_time >= plan.t_from) & (tx.event_time < plan.t_to))
    core = ScoringCore(load_artifact(plan.model_dir, plan.model_version))
    return score_history(core, tx, plan.label_delay_days, rows), tx_read.skipped


def publish(
    kafka: dict[str, Any], topic: str, scored: ScoredBatch, codec: Codec, progress: Callable[[int], object]
) -> None:
    """The predictions to `topic`, each confirmed by the broker (the scorer's own sink: retries and all)."""
    sink = OutputSink({**kafka, "enable.idempotence": True, "linger.ms": 20, "compression.type": "lz4"})
    records = prediction_records(scored, 0)
    for start in range(0, len(records), PUBLISH_CHUNK):
        chunk = records[start : start + PUBLISH_CHUNK]
        sink.send_many(topic, [r["card_id"].encode() for r in chunk], codec.encode_many(chunk))
        sink.producer.poll(0)
        progress(len(chunk))
    sink.confirm()


def compare_with_live(
    plan: ReplayPlan, source: SchemaSource, scored: ScoredBatch
) -> tuple[int, float, float, int]:
    live_read = read_topic(
        plan.kafka,
        plan.live_predictions_topic,
        Codec("prediction", source),
        keep=lambda r: plan.t_from <= r["event_time"] < plan.t_to,
    )
    live = {r["event_id"]: r for r in live_read.records}
    index = [i for i, e in enumerate(scored.tx.event_id.tolist()) if e in live]
    if not index:
        return 0, 0.0, 0.0, 0
    ids = scored.tx.event_id[index].tolist()
    live_scores = np.array([live[e]["score"] for e in ids])
    live_alerts = np.array([live[e]["is_alert"] for e in ids])
    diff = np.abs(scored.scores[index] - live_scores)
    flips = int((scored.alert[index] != live_alerts).sum())
    return len(index), float(diff.mean()), float(diff.max()), flips


def replay(plan: ReplayPlan, source: SchemaSource, progress: Callable[[int], object]) -> ReplaySummary:
    if plan.t_from >= plan.t_to:
        raise BatchError("--from must be before --to")
    if plan.output_topic in plan.live_topics:
        raise BatchError(f"replay never writes to the live topic {plan.output_topic}: choose another")
    scored, skipped = rescore(plan, source, progress)
    publish(plan.kafka, plan.output_topic, scored, Codec("prediction", source), progress)
    compared, mean_diff, max_diff, flips = compare_with_live(plan, source, scored)
    return ReplaySummary(
        events=len(scored.tx),
        alerts=int(scored.alert.sum()),
        skipped=skipped,
        model_version=scored.model_version,
        compared=compared,
        mean_abs_diff=mean_diff,
        max_abs_diff=max_diff,
        alert_flips=flips,
    )
