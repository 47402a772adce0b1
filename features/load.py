"""Warming the online store from a history file, so that live scoring starts with real profiles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from features.definition import DAY_MS, terminal_horizon_ms
from features.online import OnlineFeatureStore
from schemas.history import TransactionColumns


@dataclass(frozen=True)
class LoadSummary:
    transactions: int
    frauds: int
    cards: int
    terminals: int
    first_ms: int
    last_ms: int


def select_for_warming(
    tx: TransactionColumns, label_delay_days: int
) -> tuple[TransactionColumns, TransactionColumns]:
    """The history's last horizon (older state would never be read), and the fraud labels known at its
    end: those of transactions older than the last event time minus the delay."""
    if len(tx) == 0:
        return tx, tx
    last = int(tx.event_time.max())
    recent = tx.take(tx.event_time >= last - terminal_horizon_ms(label_delay_days) - DAY_MS)
    known = recent.take((recent.is_fraud == 1) & (recent.event_time < last - label_delay_days * DAY_MS))
    return recent, known


def warm_store(
    store: OnlineFeatureStore,
    recent: TransactionColumns,
    known: TransactionColumns,
    batch: int = 10_000,
    progress: Callable[[int], object] = lambda n: None,
) -> LoadSummary:
    """Records the transactions, then the labels (`select_for_warming` picks them) in fixed batches.

    `progress` is told the number of rows handled after each batch. Loading twice is harmless: the
    same batches find their markers and change nothing.
    """
    if len(recent) == 0:
        return LoadSummary(0, 0, 0, 0, 0, 0)
    for rows, record in ((recent, store.record_transactions), (known, store.record_labels)):
        for start in range(0, len(rows), batch):
            part = rows.take(slice(start, start + batch))
            record(part)
            progress(len(part))
    return LoadSummary(
        transactions=len(recent),
        frauds=len(known),
        cards=len(np.unique(recent.card_id)),
        terminals=len(np.unique(recent.terminal_id)),
        first_ms=int(recent.event_time.min()),
        last_ms=int(recent.event_time.max()),
    )
