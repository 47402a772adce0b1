"""Compute alone: the scorer's own stages over the same events, in memory, on one core, no I/O.

Decode (`decode_batch` over the consumed Kafka messages), features (the online store's own `read`,
its vectorised windows, over an in-memory snapshot of the warm feature state: MGET answered from a
dict), predict and reasons (`score_batch`), and encode (the prediction and alert records, Avro).
Timed in CPU time of the thread. The warm state spans the longest window plus the label delay, so it
is the steady-state size the scorer reads; the snapshot does not grow, nor does the real state.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from confluent_kafka import Consumer
from tqdm import tqdm

from bench.exceptions import BenchError
from bench.throughput import Throughput
from consumer.decode import decode_batch
from consumer.outputs import alert_records, encode_predictions
from consumer.scoring import score_batch
from features.online import OnlineFeatureStore
from models.artifact import load_artifact
from models.scoring import ScoringCore
from schemas import Codec, open_schema_source
from schemas.columnar import ColumnarEncoder


class SnapshotRedis:
    """Just enough of a Redis client for `OnlineFeatureStore.read`: MGET from a dict of values."""

    def __init__(self, values: dict[bytes, bytes]) -> None:
        self._values = values
        self.asked = self.hits = 0
        self.connection_pool = SimpleNamespace(connection_kwargs={})

    def mget(self, keys: Sequence[bytes]) -> list[bytes | None]:
        get = self._values.get
        values = [get(k) for k in keys]
        self.asked += len(keys)
        self.hits += sum(v is not None for v in values)
        return values


def read_messages(kafka: dict[str, Any], topic: str, events: int) -> list[Any]:
    """The first `events` messages of `topic` (all partitions), kept in memory."""
    consumer = Consumer(
        {**kafka, "group.id": f"bench-read-{time.monotonic_ns()}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    out: list[Any] = []
    deadline = time.monotonic() + 60 + events / 10_000
    try:
        while len(out) < events and time.monotonic() < deadline:
            out.extend(m for m in consumer.consume(min(10_000, events - len(out)), 0.5) if m.error() is None)
    finally:
        consumer.close()
    if len(out) < events:
        raise BenchError(f"read back {len(out)} of {events} backlog events for the compute-only run")
    return out


def run_compute(
    messages: list[Any],
    state: dict[bytes, bytes],
    model_dir: Path,
    version: str,
    batch_size: int,
    transactions_topic: str,
    label_delay_days: int,
) -> Throughput:
    source = open_schema_source(None)
    tx_codec, label_codec = Codec("transaction", source), Codec("label", source)
    pred_codec, alert_codec = Codec("prediction", source), Codec("alert", source)
    pred_encoder = ColumnarEncoder(pred_codec)
    snapshot = SnapshotRedis(state)
    store = OnlineFeatureStore(cast(Any, snapshot), label_delay_days=label_delay_days)
    core = ScoringCore(load_artifact(model_dir, version))
    stages = dict.fromkeys(("decode", "features", "predict", "encode"), 0.0)
    # CPU time of this thread: "one core's" compute rate, which other processes on the machine (the
    # broker, Redis, other work) cannot slow down by taking turns on the CPU.
    clock = time.thread_time
    for start in tqdm(range(0, len(messages), batch_size), desc="compute only", unit="batch", leave=False):
        t0 = clock()
        batch = decode_batch(messages[start : start + batch_size], tx_codec, label_codec, transactions_topic)
        t1 = clock()
        matrix = store.read(batch.transactions)
        t2 = clock()
        scored = score_batch(core, batch.transactions, matrix)
        t3 = clock()
        now_ms = int(time.time() * 1000)
        encode_predictions(scored, now_ms, pred_encoder)
        alert_codec.encode_many(alert_records(scored, now_ms))
        t4 = clock()
        for name, took in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stages[name] += took
    seconds = sum(stages.values())
    n = len(messages)
    if snapshot.hits < snapshot.asked / 2:  # most cards and terminals of a batch have a state
        raise BenchError(
            f"the feature snapshot knew {snapshot.hits} of {snapshot.asked} keys: compute alone would "
            "score without the state the scorer reads"
        )
    return Throughput("compute only, 1 core", n, seconds, {k: 1e6 * v / n for k, v in stages.items()})
