"""An idempotent Kafka producer that accounts for every message: delivered, failed, or still in flight.

Wraps `confluent_kafka.Producer` with `enable.idempotence` (acks=all, no duplicates on retry, order kept
per partition). A message counts as delivered only on its delivery report; whatever a bounded flush
leaves in flight counts as failed, so `stats.failed == 0` really means the broker has everything.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from fraudscore.kafka_client import CONNECT_TIMEOUT_S, OutageReport, check_kafka, reporting
from producer.exceptions import BrokerUnavailableError

log = logging.getLogger(__name__)

PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,
    "linger.ms": 5,
    "compression.type": "lz4",
    "queue.buffering.max.messages": 500_000,
    # A bounded delivery deadline: a message the broker never takes fails instead of waiting forever.
    "message.timeout.ms": 30_000,
}


@dataclass
class DeliveryStats:
    """Per-topic counts; `first_error` keeps the first delivery failure's reason."""

    produced: Counter[str] = field(default_factory=Counter)
    delivered: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    first_error: str | None = None

    @property
    def in_flight(self) -> int:
        return sum(self.produced.values()) - sum(self.delivered.values()) - sum(self.failed.values())

    @property
    def total_failed(self) -> int:
        return sum(self.failed.values())


class Publisher:
    def __init__(self, kafka_conf: dict[str, Any], overrides: dict[str, Any] | None = None) -> None:
        self.stats = DeliveryStats()
        conf = {**PRODUCER_DEFAULTS, **kafka_conf, **(overrides or {})}
        self._bootstrap = str(conf.get("bootstrap.servers", ""))
        self._report = OutageReport(f"producer, Kafka at {self._bootstrap}")
        self._producer = Producer(reporting(conf, self._report))

    def _on_delivery(self, err: KafkaError | None, msg: Any) -> None:
        topic = msg.topic()
        if err is None:
            self.stats.delivered[topic] += 1
            return
        self.stats.failed[topic] += 1
        if self.stats.first_error is None:
            self.stats.first_error = f"{topic}: {err.str()}"

    def check(self, topics: list[str], timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Fail fast, in one line, when the broker is unreachable or a topic is missing."""
        check_kafka(self._producer, self._bootstrap, topics, timeout_s, self._report, BrokerUnavailableError)

    def send(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery)
                break
            except BufferError:
                # The local queue is full: serve delivery reports until there is room.
                self._producer.poll(0.05)
            except KafkaException as exc:  # e.g. a value over message.max.bytes: this message fails
                self.stats.produced[topic] += 1
                self.stats.failed[topic] += 1
                if self.stats.first_error is None:
                    self.stats.first_error = f"{topic}: {exc.args[0].str()}"
                return
        self.stats.produced[topic] += 1

    def poll(self, timeout_s: float = 0.0) -> None:
        self._producer.poll(timeout_s)

    def flush(self, timeout_s: float = 30.0) -> int:
        """Wait for delivery reports; what is still in flight after the timeout counts as failed."""
        self._producer.flush(timeout_s)
        left = self.stats.in_flight
        if left > 0:
            self.stats.failed["(in flight at flush timeout)"] += left
            if self.stats.first_error is None:
                self.stats.first_error = f"{left} message(s) unconfirmed after {timeout_s:g} s"
        return left
