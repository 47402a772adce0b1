"""A small API for an upstream service that emits transactions (and labels) itself.

    from producer.api import TransactionProducer

    with TransactionProducer("broker:9092") as tp:
        tp.send_transaction(event_id="pos-17-000123", event_time=1717000000000, card_id="C000042",
                            terminal_id="T000007", amount=42.50)
        tp.send_label(event_id="pos-17-000123", card_id="C000042", terminal_id="T000007",
                      event_time=1717000000000, label_time=1717600000000, is_fraud=False)
    # leaving the block flushes; tp.stats says what was delivered and what failed

Each transaction is checked with `schemas.validation.validate_transaction` before it leaves (an invalid
one raises `InvalidTransactionError` and is not sent), encoded with the schema in the Confluent framing,
and keyed by card id. The producer is idempotent and every message is accounted for by its delivery
report (`stats`), so a caller can tell "sent" from "stored".
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from fraudscore.kafka_client import CONNECT_TIMEOUT_S
from producer.encoding import encode
from producer.exceptions import InvalidTransactionError
from producer.publisher import DeliveryStats, Publisher
from schemas import Codec, open_schema_source
from schemas.validation import validate_transaction


class TransactionProducer:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        transactions_topic: str = "transactions",
        labels_topic: str = "fraud-labels",
        schema_registry_url: str | None = None,
        kafka_config: dict[str, Any] | None = None,
    ) -> None:
        """`kafka_config` adds librdkafka settings (security.protocol, sasl.*, ...)."""
        source = open_schema_source(schema_registry_url)
        self._tx_codec = Codec("transaction", source)
        self._label_codec = Codec("label", source)
        self._topics = (transactions_topic, labels_topic)
        self._publisher = Publisher({"bootstrap.servers": bootstrap_servers, **(kafka_config or {})})

    def check(self, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Raise `BrokerUnavailableError` unless the broker answers and both topics exist. Call it
        first: it also turns on the broker outage warnings (until then they are debug lines)."""
        self._publisher.check(list(self._topics), timeout_s)

    def send_transaction(
        self,
        *,
        event_id: str,
        event_time: int,
        card_id: str,
        terminal_id: str,
        amount: float,
        currency: str = "EUR",
    ) -> None:
        record = {
            "event_id": event_id,
            "event_time": event_time,
            "card_id": card_id,
            "terminal_id": terminal_id,
            "amount": amount,
            "currency": currency,
        }
        reason = validate_transaction(record)
        if reason is not None:
            raise InvalidTransactionError(f"transaction {event_id!r} not sent: {reason}")
        self._publisher.send(self._topics[0], *encode(self._tx_codec, record))

    def send_label(
        self,
        *,
        event_id: str,
        card_id: str,
        terminal_id: str,
        event_time: int,
        label_time: int,
        is_fraud: bool,
        fraud_scenario: int = 0,
    ) -> None:
        record = {
            "event_id": event_id,
            "card_id": card_id,
            "terminal_id": terminal_id,
            "event_time": event_time,
            "label_time": label_time,
            "is_fraud": is_fraud,
            "fraud_scenario": fraud_scenario,
        }
        self._publisher.send(self._topics[1], *encode(self._label_codec, record))

    def poll(self, timeout_s: float = 0.0) -> None:
        """Serve delivery reports; call now and then in a long-running service."""
        self._publisher.poll(timeout_s)

    def flush(self, timeout_s: float = 30.0) -> DeliveryStats:
        """Wait for every delivery report (unconfirmed ones count as failed) and return the counts."""
        self._publisher.flush(timeout_s)
        return self._publisher.stats

    @property
    def stats(self) -> DeliveryStats:
        return self._publisher.stats

    def __enter__(self) -> TransactionProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.flush()
