"""Where batch scoring and replay read transactions: a history file, or a topic read to its end.

A topic is read partition by partition up to the high watermark seen at the start, so the read ends
even while producers keep writing. Records that do not decode or validate are counted and left out:
the live scorer already sent them to the dead-letter topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from batch.exceptions import BatchError
from fraudscore.kafka_client import CONNECT_TIMEOUT_S, check_kafka, quiet
from schemas import Codec, DecodeError
from schemas.history import TransactionColumns, from_records, read_history


@dataclass(frozen=True)
class TopicRead:
    records: list[dict[str, Any]]
    skipped: int  # undecodable or invalid


def read_file(path: Path) -> TransactionColumns:
    if not path.is_file():
        raise BatchError(f"no such file: {path}")
    try:
        return read_history(path)
    except (ValueError, KeyError, OSError) as exc:
        raise BatchError(f"{path} is not an Avro file of transactions: {exc}") from None


def _assign_all(consumer: Consumer, topic: str, timeout_s: float) -> dict[int, int]:
    """Assigns every non-empty partition from its start; returns each one's end (high watermark)."""
    meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
    if meta is None or meta.error is not None:
        raise BatchError(f"topic {topic} does not exist")
    ends: dict[int, int] = {}
    starts = []
    for p in meta.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)
        if high > low:
            ends[p] = high
            starts.append(TopicPartition(topic, p, low))
    consumer.assign(starts)
    return ends


def read_topic(
    kafka: dict[str, Any],
    topic: str,
    codec: Codec,
    keep: Callable[[dict[str, Any]], bool] = lambda _r: True,
    validate: Callable[[dict[str, Any]], str | None] = lambda _r: None,
    progress: Callable[[int], object] = lambda _n: None,
    timeout_s: float = 30.0,
) -> TopicRead:
    """Every record of `topic` (up to its end now) that decodes, validates and `keep` accepts."""
    consumer = Consumer(
        quiet(
            {
                **kafka,
                "group.id": f"fraudscore-batch-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
    )
    records: list[dict[str, Any]] = []
    skipped = 0
    try:
        check_kafka(
            consumer, str(kafka.get("bootstrap.servers", "")), [topic], min(timeout_s, CONNECT_TIMEOUT_S)
        )
        ends = _assign_all(consumer, topic, timeout_s)
        while ends:
            batch = [m for m in consumer.consume(5000, 1.0) if m.error() is None]
            for msg in batch:
                try:
                    record = codec.decode(msg.value())
                except DecodeError:
                    skipped += 1
                    continue
                if validate(record) is not None:
                    skipped += 1
                elif keep(record):
                    records.append(record)
            progress(len(batch))
            # Positions, not last offsets: transaction markers take offsets after the last record.
            for tp in consumer.position([TopicPartition(topic, p) for p in ends]):
                if tp.offset >= ends[tp.partition]:
                    del ends[tp.partition]
        return TopicRead(records, skipped)
    finally:
        consumer.close()


def columns(records: list[dict[str, Any]], labels: dict[str, bool] | None = None) -> TransactionColumns:
    """Transactions as columns, each event once; `labels` (event_id -> is_fraud) fills in known labels.

    An event id met twice (a producer's retry upstream) is kept once, as the live feature store does.
    """
    unique = list({r["event_id"]: r for r in reversed(records)}.values())[::-1]
    if labels is not None:
        unique = [{**r, "is_fraud": labels.get(r["event_id"])} for r in unique]
    return from_records(unique)
