"""The scorer's own settings: the slice of `Settings` it needs, plus run bounds from the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fraudscore.kafka_client import CONNECT_TIMEOUT_S
from fraudscore.settings import Settings


@dataclass(frozen=True)
class Topics:
    transactions: str
    predictions: str
    alerts: str
    labels: str
    dlq: str

    def inputs(self, labels: bool) -> list[str]:
        return [self.transactions] + ([self.labels] if labels else [])

    def needed(self, labels: bool) -> list[str]:
        """Every topic the scorer reads or writes."""
        return [*self.inputs(labels), self.predictions, self.alerts, self.dlq]


@dataclass(frozen=True)
class ScorerConfig:
    kafka: dict[str, Any] = field(repr=False)  # may hold a SASL password
    redis_url: str = field(repr=False)  # may hold a Redis password
    topics: Topics
    group_id: str
    model_dir: Path
    schema_registry_url: str | None = None
    guarantee: Literal["at-least-once", "exactly-once"] = "at-least-once"
    max_batch: int = 1000
    max_wait_ms: int = 5
    label_delay_days: int = 7
    redis_retry_budget_ms: int = 2000
    on_redis_down: Literal["score-missing", "pause"] = "score-missing"
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    until_idle_s: float | None = None
    max_events: int | None = None
    reload_interval_s: float = 1.0
    model_version: str | None = None  # pin a version; None follows the CURRENT pointer
    transactional_id: str | None = None
    transaction_timeout_ms: int = 10_000
    status_line: bool = False
    consume_labels: bool = True
    connect_timeout_s: float = CONNECT_TIMEOUT_S  # how long the start waits for Kafka, then one line

    @property
    def redis_down_mode(self) -> Literal["score-missing", "pause"]:
        """Exactly-once always pauses: it commits a batch only once its feature updates are applied
        (see consumer/commit.py), so scoring on without Redis would only roll batches back."""
        return "pause" if self.guarantee == "exactly-once" else self.on_redis_down

    @staticmethod
    def from_settings(settings: Settings, **run: Any) -> ScorerConfig:
        """The settings' values, with `run` (bounds and overrides, applied as given) on top."""
        t = settings.topics()
        base: dict[str, Any] = {
            "kafka": settings.kafka_common(),
            "redis_url": settings.redis_url.get_secret_value(),
            "topics": Topics(t["transactions"], t["predictions"], t["alerts"], t["labels"], t["dlq"]),
            "group_id": settings.group_id,
            "model_dir": settings.model_dir,
            "schema_registry_url": settings.schema_registry_url,
            "guarantee": settings.guarantee,
            "max_batch": settings.max_batch,
            "max_wait_ms": settings.max_wait_ms,
            "label_delay_days": settings.label_delay_days,
            "redis_retry_budget_ms": settings.redis_retry_budget_ms,
            "on_redis_down": settings.on_redis_down,
            "metrics_port": settings.metrics_port,
            "metrics_host": settings.metrics_host,
        }
        return ScorerConfig(**{**base, **run})
