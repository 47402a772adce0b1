"""Small synthetic data for the model tests: transactions whose labels the features can predict.

Not a simulator: it makes a few weeks of card and terminal activity where fraud comes from risky
terminals and from large amounts, enough for a model to learn something in a second.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from schemas.history import TransactionColumns

DAY_MS = 86_400_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
NAMES = ("tx_amount", "card_signal", "terminal_signal", "noise")
GROUPS = {"card": ("card_signal",), "terminal": ("terminal_signal",)}


def transactions(
    days: int = 60, per_day: int = 300, cards: int = 300, terminals: int = 60, seed: int = 0
) -> TransactionColumns:
    rng = np.random.default_rng(seed)
    n = days * per_day
    time = np.sort(START_MS + rng.integers(0, days * DAY_MS, n))
    card = rng.integers(0, cards, n)
    terminal = rng.integers(0, terminals, n)
    amount = np.round(rng.lognormal(3.5, 0.6, n), 2)
    risky = rng.random(terminals) < 0.15
    fraud = (rng.random(n) < np.where(risky[terminal], 0.2, 0.005)) | (amount > 220)
    return TransactionColumns(
        event_id=np.array([f"s{seed}-{i:07d}" for i in range(n)], dtype=np.str_),
        event_time=time.astype(np.int64),
        card_id=np.array([f"C{c:05d}" for c in card], dtype=np.str_),
        terminal_id=np.array([f"T{t:05d}" for t in terminal], dtype=np.str_),
        amount=amount,
        is_fraud=fraud.astype(np.int8),
        fraud_scenario=fraud.astype(np.int8),
    )


def features(tx: TransactionColumns, seed: int = 0) -> npt.NDArray[np.float32]:
    """A (n, 4) matrix in NAMES order: informative card and terminal signals, one noise column."""
    rng = np.random.default_rng(seed + 1)
    y = tx.is_fraud.astype(np.float64)
    out = np.column_stack(
        [
            tx.amount,
            y * 0.8 + rng.normal(0, 1, len(tx)),
            y * 1.5 + rng.normal(0, 1, len(tx)),
            rng.normal(0, 1, len(tx)),
        ]
    ).astype(np.float32)
    out[rng.random(len(tx)) < 0.02, 1] = np.nan  # some missing values, as a cold card would have
    return out
