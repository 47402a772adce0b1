"""The Handbook's validation protocol: a training window, a gap equal to the label delay, a test window.

Days are UTC days of the event time. Test folds are prequential, as in the Handbook: fold 0 ends with the
history and each further fold is moved back by the test length; the reported test performance is their
mean, and fold 0's model is the one saved. The validation fold is fold 0 moved back by (delay +
validation days), so its validation days are labelled by the time fold 0's model is trained.

    [valid-train]  gap  [valid]
                      [ train (fold 0)    ]  gap  [test 0]
                [ train (fold 1)    ]  gap  [test 1]
    ...

The assessment rows leave out the cards known to be compromised, as the Handbook does: cards with a fraud
in the `known_days` before the gap (the Handbook's training set: 7 days), and cards whose fraud label has
arrived by the assessment day. `known_days` is kept apart from `train_days` so that the test set, and so
the figures, do not change with the amount of training data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from models.exceptions import ModelError
from models.metrics import DAY_MS
from schemas.history import TransactionColumns


def iso_day(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, tz=UTC).date().isoformat()


@dataclass(frozen=True)
class Fold:
    """Day numbers (days since the epoch): training [train_start, train_end), assessment after a gap;
    cards with a fraud from known_start on are known compromised."""

    train_start: int
    train_end: int
    assess_start: int
    assess_end: int
    known_start: int

    def describe(self) -> dict[str, str]:
        return {
            "train": f"{iso_day(self.train_start)}..{iso_day(self.train_end - 1)}",
            "assess": f"{iso_day(self.assess_start)}..{iso_day(self.assess_end - 1)}",
        }


@dataclass(frozen=True)
class Protocol:
    train_days: int = 21
    delay_days: int = 7
    test_days: int = 7
    valid_days: int = 7
    test_folds: int = 4
    known_days: int = 7

    def check(self) -> None:
        for name, value in vars(self).items():
            if value < (0 if name == "delay_days" else 1):
                raise ModelError(
                    f"--{name.replace('_', '-')} must be at least {0 if name == 'delay_days' else 1}"
                )

    def folds(self, first_day: int, last_day: int) -> tuple[Fold, list[Fold]]:
        """(validation fold, test folds latest first) for a history covering days first_day..last_day."""
        self.check()
        end = last_day + 1
        tests = [self._fold(end - i * self.test_days, self.test_days) for i in range(self.test_folds)]
        valid = self._fold(tests[0].train_end, self.valid_days)
        earliest = min(valid.train_start, tests[-1].train_start)
        if earliest < first_day:
            raise ModelError(
                f"the history covers {last_day - first_day + 1} days; "
                f"these windows need at least {end - earliest}"
            )
        return valid, tests

    def _fold(self, assess_end: int, assess_days: int) -> Fold:
        assess_start = assess_end - assess_days
        train_end = assess_start - self.delay_days
        return Fold(
            train_end - self.train_days, train_end, assess_start, assess_end, train_end - self.known_days
        )


def days_of(tx: TransactionColumns) -> npt.NDArray[np.int64]:
    return tx.event_time // DAY_MS


def train_rows(tx: TransactionColumns, fold: Fold) -> npt.NDArray[np.intp]:
    """Labelled rows of the training window."""
    days = days_of(tx)
    mask = (days >= fold.train_start) & (days < fold.train_end) & (tx.is_fraud >= 0)
    return np.flatnonzero(mask)


def assessment_rows(tx: TransactionColumns, fold: Fold, delay_days: int) -> npt.NDArray[np.intp]:
    """Labelled rows of the assessment window, without cards known compromised by then (Handbook).

    Known on assessment day d: the cards with a fraud from `known_start` to the day before d - delay
    (those labels have arrived), so catching them again would flatter the model.
    """
    days = days_of(tx)
    fraud_cards = tx.card_id[tx.is_fraud == 1]
    fraud_days = days[tx.is_fraud == 1]
    kept: list[npt.NDArray[np.intp]] = []
    for day in range(fold.assess_start, fold.assess_end):
        known = np.unique(fraud_cards[(fraud_days >= fold.known_start) & (fraud_days < day - delay_days)])
        today = np.flatnonzero((days == day) & (tx.is_fraud >= 0))
        kept.append(today[~np.isin(tx.card_id[today], known)])
    return np.concatenate(kept) if kept else np.empty(0, dtype=np.intp)
