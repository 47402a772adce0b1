"""A small seeded generator of transactions that hit the features' edge cases.

For tests and measurements, not a simulator (that is `producer/`): it makes ties in event time, events
exactly one window apart for the same card, frauds clustered on some terminals, and recent unlabelled
transactions, so that every strict/inclusive bound of the definition is exercised.
"""

from __future__ import annotations

import numpy as np

from features.definition import DAY_MS
from schemas.history import UNLABELLED, TransactionColumns

START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def generate(
    n: int,
    days: int,
    cards: int,
    terminals: int,
    seed: int = 0,
    unlabelled_days: int = 0,
    start_ms: int = START_MS,
) -> TransactionColumns:
    """`n` transactions over `days` days, sorted by event time, with unique event ids."""
    rng = np.random.default_rng(seed)
    time = start_ms + rng.integers(0, days * DAY_MS, n)
    card = rng.integers(0, cards, n)
    terminal = rng.integers(0, terminals, n)
    # Ties: a tenth of the events reuse the time of another event of the same card.
    tie = rng.random(n) < 0.1
    partner = rng.integers(0, n, n)
    time[tie] = time[partner[tie]]
    card[tie] = card[partner[tie]]
    # Window edges: a tenth sit exactly 1, 7, 30 or 37 days (or a millisecond off) after another.
    offset = rng.choice([1, 7, 30, 37], n) * DAY_MS + rng.integers(-1, 2, n)
    edge = (rng.random(n) < 0.1) & ~tie & (time[partner] + offset < start_ms + days * DAY_MS)
    time[edge] = time[partner[edge]] + offset[edge]
    card[edge] = card[partner[edge]]
    terminal[edge] = terminal[partner[edge]]
    order = np.argsort(time, kind="stable")
    time, card, terminal = time[order], card[order], terminal[order]
    risky = rng.random(terminals) < 0.1
    fraud = rng.random(n) < np.where(risky[terminal], 0.4, 0.02)
    is_fraud = fraud.astype(np.int8)
    if unlabelled_days:
        is_fraud[time > time.max() - unlabelled_days * DAY_MS] = UNLABELLED
    return TransactionColumns(
        event_id=np.array([f"e{seed}-{i:08d}" for i in range(n)], dtype=np.str_),
        event_time=time.astype(np.int64),
        card_id=np.array([f"card-{c:06d}" for c in card], dtype=np.str_),
        terminal_id=np.array([f"term-{t:06d}" for t in terminal], dtype=np.str_),
        amount=np.round(rng.lognormal(3.5, 1.0, n), 2),
        is_fraud=is_fraud,
        fraud_scenario=fraud.astype(np.int8),
    )
