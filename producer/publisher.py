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


class _QuietLog:
    """librdkafka's own log lines go to debug logging: a down broker is reported once, by us."""

    def log(self, level: int, fmt: str, *args: Any) -> None:
        log.debug(fmt, *args)


class Publisher:
    def __init__(self, kafka_conf: dict[str, Any], overrides: dict[str, Any] | None = None) -> None:
        self.stats = DeliveryStats()
        self._last_error: str | None = None
        conf = {**PRODUCER_DEFAULTS, **kafka_conf, **(overrides or {})}
        self._bootstrap = str(conf.get("bootstrap.servers", ""))
        conf["error_cb"] = self._on_error
        conf["logger"] = _QuietLog()
        self._producer = Producer(conf)

    def _on_error(self, err: KafkaError) -> None:
        self._last_error = err.str()
        log.debug("kafka client error: %s", err.str())

    def _on_delivery(self, err: KafkaError | None, msg: Any) -> None:
        topic = msg.topic()
        if err is None:
            self.stats.delivered[topic] += 1
            return
        self.stats.failed[topic] += 1
        if self.stats.first_error is None:
            self.stats.first_error = f"{topic}: {err.str()}"

    def check(self, topics: list[str], timeout_s: float = 10.0) -> None:
        """Fail fast, in one line, when the broker is unreachable or a topic is missing."""
        try:
            meta = self._producer.list_topics(timeout=timeout_s)
        except KafkaException:
            why = f" ({self._last_error})" if self._last_error else ""
            raise BrokerUnavailableError(
                f"Kafka at {self._bootstrap} did not answer within {timeout_s:g} s{why}"
            ) from None
        missing = [t for t in topics if t not in meta.topics or meta.topics[t].error is not None]
        if missing:
            raise BrokerUnavailableError(
                f"topic(s) {', '.join(missing)} do not exist on {self._bootstrap} (create them first)"
            )

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
