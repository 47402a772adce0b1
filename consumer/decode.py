"""The decode stage: Kafka messages in, good transactions and labels as columns, bad ones as data.

Nothing is dropped: every message is either a transaction to score, a label to apply, or a
`DeadLetter` with its raw bytes and the reason. Every message's offset counts toward the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from schemas import Codec, DecodeError
from schemas.history import TransactionColumns, from_records
from schemas.validation import validate_transaction


@dataclass(frozen=True)
class DeadLetter:
    value: bytes | None
    key: bytes | None
    topic: str
    partition: int
    offset: int
    stage: str
    reason: str

    def record(self, failed_at_ms: int) -> dict[str, Any]:
        return {
            "value": self.value,
            "key": self.key,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "stage": self.stage,
            "reason": self.reason,
            "failed_at": failed_at_ms,
        }


@dataclass(frozen=True)
class DecodedBatch:
    transactions: TransactionColumns
    arrived_ms: npt.NDArray[np.int64]  # Kafka timestamp of each transaction row, for latency
    labels: TransactionColumns | None
    dead_letters: list[DeadLetter]
    next_offsets: dict[tuple[str, int], int]  # per partition: the offset to commit after this batch
    first_offsets: dict[tuple[str, int], int]  # per partition: where to rewind if the batch is rolled back
    size: int  # messages in, good and bad

    @property
    def empty(self) -> bool:
        return self.size == 0


def _dead(msg: Any, stage: str, reason: str) -> DeadLetter:
    return DeadLetter(msg.value(), msg.key(), msg.topic(), msg.partition(), msg.offset(), stage, reason)


def _label_row(label: dict[str, Any]) -> dict[str, Any]:
    return {**label, "amount": 0.0}


def decode_batch(
    messages: list[Any], tx_codec: Codec, label_codec: Codec, transactions_topic: str
) -> DecodedBatch:
    """Sort a consumed batch into transactions (event-time order), labels and dead letters."""
    txs: list[dict[str, Any]] = []
    stamps: list[int] = []
    labels: list[dict[str, Any]] = []
    dead: list[DeadLetter] = []
    next_offsets: dict[tuple[str, int], int] = {}
    first_offsets: dict[tuple[str, int], int] = {}
    for msg in messages:
        where = (msg.topic(), msg.partition())
        first_offsets.setdefault(where, msg.offset())
        next_offsets[where] = msg.offset() + 1
        is_tx = msg.topic() == transactions_topic
        codec = tx_codec if is_tx else label_codec
        try:
            record = codec.decode(msg.value())
        except DecodeError as exc:
            dead.append(_dead(msg, "decode", exc.reason))
            continue
        reason = validate_transaction(record if is_tx else _label_row(record))
        if reason is not None:
            dead.append(_dead(msg, "validate", reason))
        elif is_tx:
            txs.append(record)
            stamps.append(msg.timestamp()[1])
        else:
            labels.append(_label_row(record))
    order = np.argsort(np.array([r["event_time"] for r in txs], dtype=np.int64), kind="stable")
    return DecodedBatch(
        transactions=from_records([txs[i] for i in order]),
        arrived_ms=np.array(stamps, dtype=np.int64)[order] if stamps else np.zeros(0, dtype=np.int64),
        labels=from_records(labels) if labels else None,
        dead_letters=dead,
        next_offsets=next_offsets,
        first_offsets=first_offsets,
        size=len(messages),
    )
