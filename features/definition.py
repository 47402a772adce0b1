"""The one feature definition: names, order, windows, and the per-transaction part.

It follows the Fraud Detection Handbook's baseline (Le Borgne et al., "Baseline feature transformation"):
the amount, weekend and night flags; per card the number of transactions and their mean amount over the
last 1, 7 and 30 days; per terminal the number of transactions and the fraud risk (share of fraudulent
ones) over 1, 7 and 30 day windows that end a label delay before the transaction. Two deliberate
differences, both in docs/features.md: windows hold only transactions strictly before the current one
(the Handbook's rolling windows include it), and the terminal window ends strictly before t - delay
(a label is known at event_time + delay, and we use only what was known strictly before t).

Offline (`features.offline`) and online (`features.online`) build the same windowed aggregates through
`features.windows`, so the arithmetic below exists once.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from schemas.history import TransactionColumns

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
WINDOW_DAYS: tuple[int, ...] = (1, 7, 30)
DEFAULT_LABEL_DELAY_DAYS = 7
# The Handbook's `is_night` is `tx_hour <= 6`: 00:00 to 06:59:59 UTC.
NIGHT_LAST_HOUR = 6

TRANSACTION_FEATURES: tuple[str, ...] = ("tx_amount", "tx_during_weekend", "tx_during_night")
CARD_FEATURES: tuple[str, ...] = tuple(
    name for w in WINDOW_DAYS for name in (f"card_nb_tx_{w}day_window", f"card_avg_amount_{w}day_window")
)
TERMINAL_FEATURES: tuple[str, ...] = tuple(
    name for w in WINDOW_DAYS for name in (f"terminal_nb_tx_{w}day_window", f"terminal_risk_{w}day_window")
)
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "transaction": TRANSACTION_FEATURES,
    "card": CARD_FEATURES,
    "terminal": TERMINAL_FEATURES,
}
# The Handbook's column order: transaction, then card (count, mean per window), then terminal.
FEATURE_NAMES: tuple[str, ...] = TRANSACTION_FEATURES + CARD_FEATURES + TERMINAL_FEATURES

CARD_SLICE = slice(len(TRANSACTION_FEATURES), len(TRANSACTION_FEATURES) + len(CARD_FEATURES))
TERMINAL_SLICE = slice(CARD_SLICE.stop, len(FEATURE_NAMES))


def card_horizon_ms() -> int:
    """How far back a card's state is ever read."""
    return max(WINDOW_DAYS) * DAY_MS


def terminal_horizon_ms(label_delay_days: int) -> int:
    """How far back a terminal's state is ever read: the longest window plus the label delay."""
    return (max(WINDOW_DAYS) + label_delay_days) * DAY_MS


def transaction_columns(tx: TransactionColumns) -> npt.NDArray[np.float32]:
    """The (n, 3) per-transaction part: amount, weekend flag, night flag (UTC)."""
    t = tx.event_time.astype(np.int64)
    days = t // DAY_MS
    # 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
    weekday = (days + 3) % 7
    hour = (t // HOUR_MS) % 24
    out = np.empty((len(tx), len(TRANSACTION_FEATURES)), dtype=np.float32)
    out[:, 0] = tx.amount
    out[:, 1] = weekday >= 5
    out[:, 2] = hour <= NIGHT_LAST_HOUR
    return out


def assemble(
    tx: TransactionColumns, card: npt.NDArray[np.float64], terminal: npt.NDArray[np.float64]
) -> npt.NDArray[np.float32]:
    """The full (n, F) float32 matrix from the per-transaction part and the two windowed blocks."""
    out = np.empty((len(tx), len(FEATURE_NAMES)), dtype=np.float32)
    out[:, : CARD_SLICE.start] = transaction_columns(tx)
    out[:, CARD_SLICE] = card
    out[:, TERMINAL_SLICE] = terminal
    return out


def transaction_only(tx: TransactionColumns) -> npt.NDArray[np.float32]:
    """The full matrix with the card and terminal columns NaN: XGBoost reads NaN as missing.

    For scoring when the online store is unreachable.
    """
    nan = np.full((len(tx), len(CARD_FEATURES)), np.nan)
    return assemble(tx, nan, np.full((len(tx), len(TERMINAL_FEATURES)), np.nan))
