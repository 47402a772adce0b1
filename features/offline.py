"""Offline features: the whole history at once, point-in-time correct, for training, batch and replay."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from features.definition import DAY_MS, DEFAULT_LABEL_DELAY_DAYS, assemble
from features.hashing import hash64
from features.windows import Entries, card_block, terminal_block
from schemas.history import TransactionColumns


def entity_codes(ids: npt.NDArray[np.str_]) -> npt.NDArray[np.int64]:
    """Dense int64 codes for string ids (same id, same code, within one call).

    Via the 64-bit hash: two ids would share a code only on a hash collision (about n^2 / 2^65).
    """
    _, inverse = np.unique(hash64(ids), return_inverse=True)
    return inverse.astype(np.int64).reshape(-1)


def compute_features(
    tx: TransactionColumns, label_delay_days: int = DEFAULT_LABEL_DELAY_DAYS
) -> npt.NDArray[np.float32]:
    """The (n, len(FEATURE_NAMES)) float32 matrix; row i describes transaction i.

    Each row uses only transactions with an event time strictly less than its own, and, for the
    terminal risk, only labels known strictly before it (a label is known at event_time + delay).
    Unknown labels (-1) count as not fraudulent.
    """
    time = tx.event_time.astype(np.int64)
    card = entity_codes(tx.card_id)
    terminal = entity_codes(tx.terminal_id)
    fraud = tx.is_fraud == 1
    card_part = card_block(Entries(card, time, tx.amount.astype(np.float64)), card, time)
    terminal_part = terminal_block(
        Entries(terminal, time),
        Entries(terminal[fraud], time[fraud]),
        terminal,
        time,
        label_delay_days * DAY_MS,
    )
    return assemble(tx, card_part, terminal_part)
