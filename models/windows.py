"""The Handbook's validation protocol: a training window, a gap equal to the label delay, a test window.

Days are UTC days of the event time. The test window ends with the history; the validation fold is the
same geometry moved back by (delay + validation days), as the Handbook's prequential validation does,
so that its validation days are labelled by the time the final model is trained.

    ... [valid-train ] gap [valid]
                     [ train           ] gap [test]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from models.exceptions import ModelError
from models.metrics import DAY_MS
from schemas.history import TransactionColumns


@dataclass(frozen=True)
class Fold:
    """Day numbers (days since the epoch): training [train_start, train_end), assessment after a gap."""

    train_start: int
    train_end: int
    assess_start: int
    assess_end: int

    def describe(self) -> dict[str, str]:
        def day(d: int) -> str:
            return datetime.fromtimestamp(d * 86_400, tz=UTC).date().isoformat()

        return {
            "train": f"{day(self.train_start)}..{day(self.train_end - 1)}",
            "assess": f"{day(self.assess_start)}..{day(self.assess_end - 1)}",
        }


@dataclass(frozen=True)
class Protocol:
    train_days: int = 7
    delay_days: int = 7
    test_days: int = 7
    valid_days: int = 7

    def folds(self, first_day: int, last_day: int) -> tuple[Fold, Fold]:
        """(validation fold, test fold) for a history covering days first_day..last_day."""
        test_end = last_day + 1
        test = self._fold(test_end, self.test_days)
        valid = self._fold(test.train_end, self.valid_days)
        if valid.train_start < first_day:
            need = test_end - valid.train_start
            raise ModelError(
                f"the history covers {last_day - first_day + 1} days; these windows need at least {need}"
            )
        return valid, test

    def _fold(self, assess_end: int, assess_days: int) -> Fold:
        assess_start = assess_end - assess_days
        train_end = assess_start - self.delay_days
        return Fold(train_end - self.train_days, train_end, assess_start, assess_end)


def days_of(tx: TransactionColumns) -> npt.NDArray[np.int64]:
    return tx.event_time // DAY_MS


def train_rows(tx: TransactionColumns, fold: Fold) -> npt.NDArray[np.intp]:
    """Labelled rows of the training window."""
    days = days_of(tx)
    mask = (days >= fold.train_start) & (days < fold.train_end) & (tx.is_fraud >= 0)
    return np.flatnonzero(mask)


def assessment_rows(tx: TransactionColumns, fold: Fold, delay_days: int) -> npt.NDArray[np.intp]:
    """Labelled rows of the assessment window, without cards known compromised by then (Handbook).

    Known on assessment day d: the cards with a fraud in the training window or on a day before
    d - delay (those labels have arrived), so catching them again would flatter the model.
    """
    days = days_of(tx)
    fraud_cards = tx.card_id[tx.is_fraud == 1]
    fraud_days = days[tx.is_fraud == 1]
    kept: list[npt.NDArray[np.intp]] = []
    for day in range(fold.assess_start, fold.assess_end):
        known = np.unique(fraud_cards[(fraud_days >= fold.train_start) & (fraud_days < day - delay_days)])
        today = np.flatnonzero((days == day) & (tx.is_fraud >= 0))
        kept.append(today[~np.isin(tx.card_id[today], known)])
    return np.concatenate(kept) if kept else np.empty(0, dtype=np.intp)
