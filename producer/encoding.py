"""Transactions and labels as the records and framed values the topics carry; keys are the card id.

A whole block of rows is encoded at once with `schemas.container` (the same bytes as `Codec.encode`,
about 20x faster), as long as the codec's schema has the field layout this module knows; otherwise
each record goes through the codec.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from schemas import Codec
from schemas.codec import HEADER, MAGIC
from schemas.container import Part, booleans, interleave, strings, transaction_parts, varints
from schemas.history import UNLABELLED, TransactionColumns

TRANSACTION_FIELDS = ["event_id", "event_time", "card_id", "terminal_id", "amount", "currency"]
LABEL_FIELDS = [
    "event_id",
    "card_id",
    "terminal_id",
    "event_time",
    "label_time",
    "is_fraud",
    "fraud_scenario",
]


def key_of(card_id: str) -> bytes:
    """The message key: the card id in UTF-8, so that one card's events stay in order."""
    return card_id.encode()


def encode(codec: Codec, record: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of one transaction or label record."""
    return key_of(record["card_id"]), codec.encode(record)


def transaction_rows(columns: TransactionColumns) -> list[dict[str, Any]]:
    """Each row as a `Transaction` record; tolist() once per column is ~20x faster than per cell."""
    return [
        {"event_id": e, "event_time": t, "card_id": c, "terminal_id": term, "amount": a, "currency": "EUR"}
        for e, t, c, term, a in zip(
            columns.event_id.tolist(),
            columns.event_time.tolist(),
            columns.card_id.tolist(),
            columns.terminal_id.tolist(),
            columns.amount.tolist(),
            strict=True,
        )
    ]


def label_rows(columns: TransactionColumns, label_time: npt.NDArray[np.int64]) -> list[dict[str, Any] | None]:
    """Each row's `FraudLabel` record, None where the row has no label."""
    return [
        None
        if fraud == UNLABELLED
        else {
            "event_id": e,
            "card_id": c,
            "terminal_id": term,
            "event_time": t,
            "label_time": lt,
            "is_fraud": bool(fraud),
            "fraud_scenario": sc,
        }
        for e, c, term, t, lt, fraud, sc in zip(
            columns.event_id.tolist(),
            columns.card_id.tolist(),
            columns.terminal_id.tolist(),
            columns.event_time.tolist(),
            label_time.tolist(),
            columns.is_fraud.tolist(),
            columns.fraud_scenario.tolist(),
            strict=True,
        )
    ]


def _framed(codec: Codec, parts: list[Part]) -> list[bytes]:
    flat, lengths = interleave(parts)
    header = HEADER.pack(MAGIC, codec.schema_id)
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    return [header + flat[a:b] for a, b in zip(starts, ends, strict=True)]


def _layout(codec: Codec) -> list[str]:
    return [f["name"] for f in codec.raw["fields"]]


def encode_transactions(codec: Codec, columns: TransactionColumns) -> list[bytes]:
    """Framed `Transaction` values of every row, in row order."""
    if len(columns) == 0:
        return []
    if _layout(codec) != TRANSACTION_FIELDS:
        return [codec.encode(r) for r in transaction_rows(columns)]
    return _framed(codec, transaction_parts(columns, 0, len(columns)))


def encode_labels(
    codec: Codec, columns: TransactionColumns, label_time: npt.NDArray[np.int64]
) -> list[bytes | None]:
    """Framed `FraudLabel` values of every row, None where the row has no label."""
    if len(columns) == 0:
        return []
    if _layout(codec) != LABEL_FIELDS:
        return [None if r is None else codec.encode(r) for r in label_rows(columns, label_time)]
    labelled = columns.is_fraud != UNLABELLED
    out: list[bytes | None] = [None] * len(columns)
    rows = np.nonzero(labelled)[0]
    if len(rows) == 0:
        return out
    part = columns.take(rows)
    values = _framed(
        codec,
        [
            *strings(part.event_id),
            *strings(part.card_id),
            *strings(part.terminal_id),
            varints(part.event_time),
            varints(label_time[rows]),
            booleans(part.is_fraud),
            varints(part.fraud_scenario.astype(np.int64)),
        ],
    )
    for row, value in zip(rows.tolist(), values, strict=True):
        out[row] = value
    return out
