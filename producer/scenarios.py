"""The Handbook's three fraud scenarios, applied day by day so that a stream can be simulated lazily.

1. every amount above 220 is fraud;
2. each day, 2 random terminals are compromised for the next 28 days: all their transactions are fraud;
3. each day, 3 random customers are compromised for the next 14 days: a third of their transactions in
   that window (drawn at random) have their amount multiplied by 5 and are fraud.

They apply in that order, a later one relabelling an earlier one's transaction, as in the Handbook.
Each day's draws come from their own seed (`[seed, stream, day]`), so day d's compromises do not depend
on how many days are simulated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

AMOUNT_THRESHOLD = 220.0
TERMINALS_PER_DAY = 2
TERMINAL_DAYS = 28
CUSTOMERS_PER_DAY = 3
CUSTOMER_DAYS = 14
AMOUNT_FACTOR = 5.0

GENUINE, HIGH_AMOUNT, COMPROMISED_TERMINAL, COMPROMISED_CARD = 0, 1, 2, 3
SCENARIO_NAMES = {
    GENUINE: "genuine",
    HIGH_AMOUNT: "amount > 220",
    COMPROMISED_TERMINAL: "compromised terminal",
    COMPROMISED_CARD: "compromised card",
}

# Random streams of the simulation; each is seeded with [seed, stream, day].
STREAM_TRANSACTIONS, STREAM_TERMINALS, STREAM_CUSTOMERS = 1, 2, 3


@dataclass
class RawDay:
    """One simulated day before its ids are assigned; rows sorted by time of day. Mutable on purpose:
    scenario 3 of an earlier day still changes amounts and labels here."""

    day: int
    seconds: npt.NDArray[np.int64]
    customer: npt.NDArray[np.int64]
    terminal: npt.NDArray[np.int64]
    amount: npt.NDArray[np.float64]
    is_fraud: npt.NDArray[np.int8]
    scenario: npt.NDArray[np.int8]


def compromised_terminals(seed: int, day: int, n_terminals: int) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng([seed, STREAM_TERMINALS, day])
    return rng.choice(n_terminals, size=min(TERMINALS_PER_DAY, n_terminals), replace=False)


def label_at_generation(raw: RawDay, seed: int, n_terminals: int) -> None:
    """Scenarios 1 and 2: they only need the day itself and the compromises of the 27 days before."""
    high = raw.amount > AMOUNT_THRESHOLD
    raw.is_fraud[high] = 1
    raw.scenario[high] = HIGH_AMOUNT
    first = max(0, raw.day - TERMINAL_DAYS + 1)
    bad = np.unique(
        np.concatenate([compromised_terminals(seed, d, n_terminals) for d in range(first, raw.day + 1)])
    )
    hit = np.isin(raw.terminal, bad)
    raw.is_fraud[hit] = 1
    raw.scenario[hit] = COMPROMISED_TERMINAL


def compromise_customers(seed: int, window: Sequence[RawDay], n_customers: int) -> None:
    """Scenario 3 for the customers compromised on `window[0].day`; `window` holds that day and the
    13 after it (fewer at the end of a finite simulation)."""
    rng = np.random.default_rng([seed, STREAM_CUSTOMERS, window[0].day])
    victims = rng.choice(n_customers, size=min(CUSTOMERS_PER_DAY, n_customers), replace=False)
    rows = [np.nonzero(np.isin(raw.customer, victims))[0] for raw in window]
    sizes = np.array([len(r) for r in rows], dtype=np.int64)
    total = int(sizes.sum())
    chosen = np.sort(rng.choice(total, size=total // 3, replace=False))
    # Map each chosen position in the window's concatenated rows back to (day, row).
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    which = np.searchsorted(offsets, chosen, side="right") - 1
    for i, raw in enumerate(window):
        picks = rows[i][chosen[which == i] - offsets[i]]
        raw.amount[picks] = np.round(raw.amount[picks] * AMOUNT_FACTOR, 2)
        raw.is_fraud[picks] = 1
        raw.scenario[picks] = COMPROMISED_CARD
