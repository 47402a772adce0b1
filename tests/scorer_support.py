"""Helpers for the scorer's tests: a small real model, events to send, and reading topics back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
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
    for key, value in items:
        producer.produce(topic, value, key, on_delivery=lambda err, _m: err and failed.append(err))
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
