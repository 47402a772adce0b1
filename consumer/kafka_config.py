"""The scorer's Kafka clients: their settings (what each choice buys, measured where it mattered), and
opening them."""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import Consumer

from consumer.config import ScorerConfig
from consumer.sink import OutputSink
from fraudscore.errors import ServiceUnavailableError
from fraudscore.kafka_client import OutageReport, check_kafka, reporting

FETCH_MIN_BYTES = 64 * 1024  # a few hundred events: more than a low-rate stream gathers in max_wait_ms


def consumer_config(cfg: ScorerConfig) -> dict[str, Any]:
    return {
        **cfg.kafka,
        "group.id": cfg.group_id,
        # Exactly-once commits offsets inside each transaction, never on a timer.
        "enable.auto.commit": cfg.guarantee == "at-least-once",
        "enable.auto.offset.store": False,  # offsets are stored only once outputs are confirmed
        "auto.commit.interval.ms": 1000,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "isolation.level": "read_committed",
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 1000,
        # By default the broker answers a fetch as soon as one event is there: at 5,000 events/s, a
        # fetch every few events, which cost the broker (sharing the cores with us) a tenth of a core
        # and stretched the latency tail (p99 33-95 ms against 26-48 ms in paired runs). A batch may
        # wait max_wait_ms for events anyway, so the broker may hold the fetch as long; a backlog
        # (min bytes there) is still answered at once. The cap is librdkafka's default. The price: an
        # idle scorer fetches every max_wait_ms instead of every 500 ms (measured here: ~8 % of a
        # broker core per idle scorer at 5 ms); a larger --max-wait-ms lowers both.
        "fetch.wait.max.ms": min(max(cfg.max_wait_ms, 1), 500),
        "fetch.min.bytes": FETCH_MIN_BYTES,
    }


def producer_config(cfg: ScorerConfig) -> dict[str, Any]:
    # A batch's outputs are produced in one burst of a few hundred microseconds: half a millisecond of
    # linger gathers them, more only delays the predictions.
    conf = {
        **cfg.kafka,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 0.5,
        "compression.type": "lz4",
    }
    # `flush` tells when every output is acknowledged; a per-output success report would only cost time.
    conf["delivery.report.only.error"] = True
    if cfg.guarantee == "exactly-once":
        conf["transactional.id"] = cfg.transactional_id or f"{cfg.group_id}-{uuid.uuid4().hex[:12]}"
        conf["transaction.timeout.ms"] = cfg.transaction_timeout_ms
    return conf


def open_clients(cfg: ScorerConfig) -> tuple[Consumer, OutputSink]:
    """The consumer and the output sink, once the broker has answered and every topic the scorer
    reads or writes exists; otherwise a one-line `ServiceUnavailableError`."""
    servers = str(cfg.kafka.get("bootstrap.servers", ""))
    report = OutageReport(f"scorer, Kafka at {servers}")  # shared: one rate limit for both clients
    consumer = Consumer(reporting(consumer_config(cfg), report))
    sink = OutputSink(reporting(producer_config(cfg), report))
    try:
        check_kafka(consumer, servers, cfg.topics.needed(cfg.consume_labels), cfg.connect_timeout_s, report)
    except ServiceUnavailableError:
        # Closed now, not at garbage collection: until then librdkafka would keep reconnecting.
        sink.close()
        consumer.close()
        raise
    return consumer, sink
