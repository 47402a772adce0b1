"""Throughput over a backlog: the scorer itself, and the per-event loop it is compared with.

Both read the same pre-produced events from the start of the topic under a fresh group, against the
same warm feature state, and count events per second from the end of their first batch (or event) to
the end of their last, so that group join and warm-up are left out.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, Producer
from tqdm import tqdm

from bench.exceptions import BenchError
from consumer.config import ScorerConfig
from consumer.decode import decode_batch
from consumer.kafka_config import consumer_config, producer_config
from consumer.outputs import alert_records, prediction_records
from consumer.scorer import Scorer
from consumer.scoring import score_batch
from features.online import OnlineFeatureStore
from fraudscore.redis_client import connect_redis
from fraudscore.settings import Settings
from models.artifact import load_artifact
from models.scoring import ScoringCore
from schemas import Codec, open_schema_source

STAGES = ("collect", "decode", "features", "predict", "feature_write", "commit")


@dataclass(frozen=True)
class Throughput:
    label: str
    events: int
    seconds: float
    stage_us: dict[str, float] = field(default_factory=dict)  # mean time per event in each stage

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def scorer_config(settings: Settings, model_dir: Path, version: str, **run: object) -> ScorerConfig:
    return ScorerConfig.from_settings(
        settings,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        model_dir=model_dir,
        model_version=version,
        metrics_port=None,
        **run,
    )


def _stage_seconds(scorer: Scorer) -> dict[str, float]:
    sums: dict[str, float] = {}
    for metric in scorer.metrics.stage_seconds.collect():
        for sample in metric.samples:
            if sample.name.endswith("_sum"):
                sums[sample.labels["stage"]] = sample.value
    return sums


def run_scorer(cfg: ScorerConfig, events: int) -> Throughput:
    """The real `Scorer` (in this process, nothing else running) over `events` backlog events."""
    scorer = Scorer(cfg)
    marks: list[tuple[float, int]] = []  # (time, events so far) after each batch that read something
    first_stages: dict[str, float] = {}
    bar = tqdm(total=events, desc=f"scorer max-batch {cfg.max_batch}", unit="ev", leave=False)

    def on_batch(s: Scorer) -> None:
        done = s.summary.events
        if marks and done == marks[-1][1]:
            return
        marks.append((time.perf_counter(), done))
        bar.update(done - (marks[-2][1] if len(marks) > 1 else 0))
        if len(marks) == 1:
            first_stages.update(_stage_seconds(s))

    with bar:
        summary = scorer.run(on_batch=on_batch)
    if summary.events < events:
        raise BenchError(f"the scorer read {summary.events} of {events} backlog events")
    if len(marks) < 2:
        raise BenchError(
            f"{events} events made fewer than two batches of {cfg.max_batch}: give more --events"
        )
    end_stages = _stage_seconds(scorer)
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    n = n1 - n0
    stage_us = {k: 1e6 * (end_stages.get(k, 0.0) - first_stages.get(k, 0.0)) / n for k in STAGES}
    return Throughput(f"scorer, max-batch {cfg.max_batch}", n, t1 - t0, stage_us)


def run_per_event_loop(settings: Settings, model_dir: Path, version: str, events: int) -> Throughput:
    """The naive design: poll one, one Redis call, one-row predict, produce, commit, per event.

    It does less than the scorer (no feature writes, no waiting for delivery before committing: an
    asynchronous commit per event), so the ratio flatters it if anything.
    """
    cfg = scorer_config(settings, model_dir, version)
    consumer = Consumer({**consumer_config(cfg), "enable.auto.commit": False})
    producer = Producer(producer_config(cfg))
    source = open_schema_source(cfg.schema_registry_url)
    codecs = {n: Codec(n, source) for n in ("transaction", "label", "prediction", "alert")}
    store = OnlineFeatureStore(connect_redis(cfg.redis_url), label_delay_days=cfg.label_delay_days)
    core = ScoringCore(load_artifact(model_dir, version))
    topics = cfg.topics
    consumer.subscribe([topics.transactions])
    done, first = 0, 0.0
    deadline = time.monotonic() + 60 + events / 100
    try:
        with tqdm(total=events, desc="per-event loop", unit="ev", leave=False) as bar:
            while done < events:
                if time.monotonic() > deadline:
                    raise BenchError(f"the per-event loop handled {done} of {events} events in time")
                msg = consumer.poll(1.0)
                if msg is None or msg.error() is not None:
                    continue
                batch = decode_batch([msg], codecs["transaction"], codecs["label"], topics.transactions)
                tx = batch.transactions
                if len(tx):
                    scored = score_batch(core, tx, store.read(tx))
                    now_ms = int(time.time() * 1000)
                    key = msg.key()
                    for record in prediction_records(scored, now_ms):
                        producer.produce(topics.predictions, codecs["prediction"].encode(record), key)
                    for record in alert_records(scored, now_ms):
                        producer.produce(topics.alerts, codecs["alert"].encode(record), key)
                    producer.poll(0)
                consumer.commit(message=msg, asynchronous=True)
                done += 1
                bar.update(1)
                if done == 1:
                    first = time.perf_counter()
            producer.flush(30)
            seconds = time.perf_counter() - first
    finally:
        consumer.close()
    return Throughput("per-event loop", events - 1, seconds)
