"""Transactions and labels as the records and framed values the topics carry; keys are the card id."""

from __future__ import annotations

from typing import Any

from schemas import Codec
from schemas.history import UNLABELLED, TransactionColumns


def key_of(card_id: str) -> bytes:
    """The message key: the card id in UTF-8, so that one card's events stay in order."""
    return card_id.encode()


def transaction_rows(columns: TransactionColumns) -> list[dict[str, Any]]:
    """Each row as a `Transaction` record; tolist() once per column is ~20x faster than per-cell."""
    return [
        {
            "event_id": e,
            "event_time": t,
            "card_id": c,
            "terminal_id": term,
            "amount": a,
            "currency": "EUR",
        }
        for e, t, c, term, a in zip(
            columns.event_id.tolist(),
            columns.event_time.tolist(),
            columns.card_id.tolist(),
            columns.terminal_id.tolist(),
            columns.amount.tolist(),
            strict=True,
        )
    ]


def label_record(columns: TransactionColumns, row: int, label_time: int) -> dict[str, Any] | None:
    """The `FraudLabel` of a row, or None when the row has no label."""
    fraud = int(columns.is_fraud[row])
    if fraud == UNLABELLED:
        return None
    return {
        "event_id": str(columns.event_id[row]),
        "card_id": str(columns.card_id[row]),
        "terminal_id": str(columns.terminal_id[row]),
        "event_time": int(columns.event_time[row]),
        "label_time": label_time,
        "is_fraud": bool(fraud),
        "fraud_scenario": int(columns.fraud_scenario[row]),
    }


def encode(codec: Codec, record: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of a transaction or label record."""
    return key_of(record["card_id"]), codec.encode(record)
