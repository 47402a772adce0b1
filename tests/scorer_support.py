"""Helpers for the scorer's tests: a small real model, events to send, and reading topics back."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb
from confluent_kafka import Consumer, Producer

from consumer.config import ScorerConfig
from consumer.scorer import Scorer
from features.definition import FEATURE_NAMES
from fraudscore.settings import Settings
from models.artifact import ModelArtifact, save_artifact, set_current
from schemas import Codec, open_schema_source

DAY_MS = 86_400_000
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def make_model(model_dir: Path, seed: int = 0, threshold: float = 0.5, rounds: int = 20) -> ModelArtifact:
    """A real booster over the served features where large amounts are fraud, made current."""
    rng = np.random.default_rng(seed)
    n = 3000
    x = rng.uniform(0, 10, size=(n, len(FEATURE_NAMES))).astype(np.float32)
    x[:, 0] = rng.exponential(80, size=n)
    y = (x[:, 0] > 220).astype(np.float32)
    dtrain = xgb.DMatrix(x, label=y, feature_names=list(FEATURE_NAMES))
    params = {"objective": "binary:logistic", "max_depth": 3, "seed": seed, "nthread": 1}
    booster = xgb.train(params, dtrain, num_boost_round=rounds)
    metadata = {
        "feature_names": list(FEATURE_NAMES),
        "threshold": threshold,
        "metrics": {"auc_roc": 0.0, "average_precision": 0.0, "card_precision_at_100": 0.0},
        "training": {"synthetic": True, "seed": seed, "rounds": rounds},
    }
    artifact = save_artifact(model_dir, booster, metadata)
    set_current(model_dir, artifact.version)
    return artifact


def make_events(n: int, seed: int = 1, cards: int = 50, prefix: str = "e") -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    times = START_MS + np.sort(rng.integers(0, 3 * DAY_MS, size=n))
    amounts = np.round(rng.exponential(70, size=n), 2)
    return [
        {
            "event_id": f"{prefix}{seed}-{i:07d}",
            "event_time": int(times[i]),
            "card_id": f"C{rng.integers(cards):06d}",
            "terminal_id": f"T{rng.integers(cards * 2):06d}",
            "amount": float(amounts[i]),
            "currency": "EUR",
        }
        for i in range(n)
    ]


def codec(settings: Settings, stem: str) -> Codec:
    return Codec(stem, open_schema_source(settings.schema_registry_url))


def send(settings: Settings, topic: str, items: Iterable[tuple[bytes | None, bytes | None]]) -> int:
    producer = Producer({**settings.kafka_common(), "enable.idempotence": True, "linger.ms": 5})
    failed: list[Any] = []
    count = 0

    def report(err: Any, _msg: Any) -> None:
        if err is not None:
            failed.append(err)

    for key, value in items:
        producer.produce(topic, value, key, on_delivery=report)
        producer.poll(0)
        count += 1
    assert producer.flush(30) == 0
    assert not failed, failed
    return count


def send_events(settings: Settings, events: list[dict[str, Any]]) -> None:
    c = codec(settings, "transaction")
    send(settings, settings.topic_transactions, ((e["card_id"].encode(), c.encode(e)) for e in events))


def read_topic(
    settings: Settings, topic: str, stem: str, expect: int, timeout_s: float = 60, settle_s: float = 1.0
) -> list[dict[str, Any]]:
    """Every record of `topic` (read_committed) once `expect` arrived and nothing more came for
    `settle_s`, or whatever came by the deadline."""
    c = codec(settings, stem)
    consumer = Consumer(
        {
            **settings.kafka_common(),
            "group.id": f"reader-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([topic])
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            msgs = consumer.consume(1000, 0.2)
            good = [m for m in msgs if m.error() is None]
            out.extend(c.decode(m.value()) for m in good)
            if good:
                quiet_since = time.monotonic()
            elif len(out) >= expect and time.monotonic() - quiet_since >= settle_s:
                break
    finally:
        consumer.close()
    return out


def prediction_counts(settings: Settings, expect: int) -> Counter[str]:
    """How many predictions each event id has, read once `expect` of them arrived."""
    predictions = read_topic(settings, settings.topic_predictions, "prediction", expect)
    return Counter(p["event_id"] for p in predictions)


def assert_each_scored_once(settings: Settings, events: list[dict[str, Any]], why: str) -> None:
    """Every event has a prediction, and none has two (`why` says what a second one would mean)."""
    counts = prediction_counts(settings, len(events))
    assert set(counts) == {e["event_id"] for e in events}, "every event has its prediction"
    assert max(counts.values()) == 1, why


def scorer_config(settings: Settings, **run: Any) -> ScorerConfig:
    run.setdefault("until_idle_s", None)
    run.setdefault("metrics_port", None)
    return ScorerConfig.from_settings(settings, **{"reload_interval_s": 0.2, **run})


class ScorerThread:
    """A scorer running in a background thread of the test process."""

    def __init__(self, cfg: ScorerConfig) -> None:
        self.scorer = Scorer(cfg)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.scorer.run()
        except BaseException as exc:  # handed to the test, which asserts on it
            self.error = exc

    def __enter__(self) -> ScorerThread:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.scorer.stop()
        self.thread.join(60)
        assert not self.thread.is_alive(), "scorer did not stop within 60 s"
        if self.error is not None:
            raise self.error


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)


def scorer_env(settings: Settings) -> dict[str, str]:
    """The environment a `fraudscore score` subprocess needs to use these settings."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDSCORE_")}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "REDIS_URL": settings.redis_url.get_secret_value(),
            "FRAUDSCORE_GROUP_ID": settings.group_id,
            "FRAUDSCORE_MODEL_DIR": str(settings.model_dir),
            "FRAUDSCORE_MAX_WAIT_MS": str(settings.max_wait_ms),
        }
    )
    for name, topic in settings.topics().items():
        field = "alerts" if name == "alerts" else name
        env[f"FRAUDSCORE_TOPIC_{field.upper()}"] = topic
    return env


def start_scorer_process(settings: Settings, *args: str, output: Path | None = None) -> Any:
    """`output`: a file for stdout and stderr instead of pipes (a long run could fill a pipe and block)."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "fraudscore.cli", "score", "--metrics-port", "0", *args]
    if output is None:
        return subprocess.Popen(cmd, env=scorer_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with output.open("ab") as sink:
        return subprocess.Popen(cmd, env=scorer_env(settings), stdout=sink, stderr=subprocess.STDOUT)


def stop_scorer_process(proc: Any, timeout_s: float = 60) -> int:
    """SIGTERM, the exit code; killed if it is still running after `timeout_s`."""
    import signal

    proc.send_signal(signal.SIGTERM)
    try:
        return int(proc.wait(timeout_s))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def topic_count(settings: Settings, topic: str) -> int:
    """Records in `topic` (sum of high watermarks: exact for a topic without transactions)."""
    from confluent_kafka import KafkaException, TopicPartition

    consumer = Consumer({**settings.kafka_common(), "group.id": "watermarks"})
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                meta = consumer.list_topics(topic, timeout=10).topics[topic]
                parts = [TopicPartition(topic, p) for p in meta.partitions]
                return sum(consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in parts)
            except KafkaException:
                # A fresh topic (or a moved leader) on a cluster: this client's metadata is behind.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        consumer.close()


def committed_offsets(settings: Settings, topic: str) -> dict[int, int]:
    from confluent_kafka import TopicPartition

    consumer = Consumer({**settings.kafka_common(), "group.id": settings.group_id})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        parts = [TopicPartition(topic, p) for p in meta.partitions]
        return {tp.partition: tp.offset for tp in consumer.committed(parts, timeout=10)}
    finally:
        consumer.close()


def positions(settings: Settings, topic: str, stem: str, expect: int) -> dict[str, tuple[int, int]]:
    """event_id -> (partition, offset) of every record in `topic`."""
    c = codec(settings, stem)
    consumer = Consumer(
        {
            **settings.kafka_common(),
            "group.id": f"pos-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    out: dict[str, tuple[int, int]] = {}
    deadline = time.monotonic() + 60
    try:
        while len(out) < expect and time.monotonic() < deadline:
            for m in consumer.consume(1000, 0.2):
                part, off = m.partition(), m.offset()
                if m.error() is None and part is not None and off is not None:
                    out[c.decode(m.value())["event_id"]] = (part, off)
    finally:
        consumer.close()
    return out


@dataclass
class FakeMessage:
    _value: bytes | None
    _offset: int
    _topic: str = "tx"
    _partition: int = 0
    _key: bytes | None = b"C1"

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_000 + self._offset)

    def error(self) -> None:
        return None
