"""The Handbook's windows, the known-compromised rule, and the alert-budget threshold."""

from __future__ import annotations

import numpy as np
import pytest

from models.exceptions import ModelError
from models.pipeline import budget_threshold
from models.windows import Fold, Protocol, assessment_rows, train_rows
from schemas.history import TransactionColumns

DAY_MS = 86_400_000


HANDBOOK = Protocol(train_days=7, delay_days=7, test_days=7, valid_days=7, test_folds=2, known_days=7)


def test_fold_geometry() -> None:
    valid, tests = HANDBOOK.folds(0, 99)
    assert tests == [
        Fold(train_start=79, train_end=86, assess_start=93, assess_end=100, known_start=79),
        Fold(train_start=72, train_end=79, assess_start=86, assess_end=93, known_start=72),
    ]
    # Validation: moved back by delay + validation days, so its labels are known at training time.
    assert valid == Fold(train_start=65, train_end=72, assess_start=79, assess_end=86, known_start=65)
    assert valid.assess_end <= tests[0].train_end


def test_known_window_does_not_follow_the_training_window() -> None:
    _, tests = Protocol(train_days=21, test_folds=1, known_days=7).folds(0, 99)
    assert tests[0].train_start == 65
    assert tests[0].known_start == 79


def test_bad_lengths_are_readable_errors() -> None:
    with pytest.raises(ModelError, match="--test-folds must be at least 1"):
        Protocol(test_folds=0).folds(0, 999)


def test_too_short_a_history_is_a_readable_error() -> None:
    with pytest.raises(ModelError, match="covers 30 days; these windows need at least 35"):
        HANDBOOK.folds(0, 29)


def tx_of(rows: list[tuple[int, str, int]]) -> TransactionColumns:
    """Rows of (day, card, is_fraud), noon of each day."""
    n = len(rows)
    return TransactionColumns(
        event_id=np.array([f"e{i}" for i in range(n)]),
        event_time=np.array([d * DAY_MS + DAY_MS // 2 for d, _, _ in rows], dtype=np.int64),
        card_id=np.array([c for _, c, _ in rows]),
        terminal_id=np.array(["t"] * n),
        amount=np.ones(n),
        is_fraud=np.array([f for _, _, f in rows], dtype=np.int8),
        fraud_scenario=np.zeros(n, dtype=np.int8),
    )


def test_cards_known_compromised_leave_the_test_as_in_the_handbook() -> None:
    fold = Fold(train_start=8, train_end=12, assess_start=14, assess_end=17, known_start=10)  # delay 2
    rows = [
        (9, "old", 1),  # fraud before the known window (the Handbook's training set): not known
        (10, "a", 1),  # fraud in the known window: known for the whole test
        (12, "b", 1),  # fraud on the first gap day: its label is known from day 12 + 2 + 1 = 15
        (13, "c", 1),  # known from day 16
        (11, "u", -1),  # unlabelled rows are never trained on or assessed
    ]
    rows += [(d, card, 0) for d in (14, 15, 16) for card in ("a", "b", "c", "old", "z")]
    rows += [(15, "u", -1)]
    tx = tx_of(rows)
    assessed = {(int(tx.event_time[i] // DAY_MS), str(tx.card_id[i])) for i in assessment_rows(tx, fold, 2)}
    assert assessed == {
        (14, "b"), (14, "c"), (14, "old"), (14, "z"),
        (15, "c"), (15, "old"), (15, "z"),
        (16, "old"), (16, "z"),
    }  # fmt: skip
    trained = {str(tx.card_id[i]) for i in train_rows(tx, fold)}
    assert trained == {"a", "old"}


def test_budget_threshold_never_exceeds_the_budget() -> None:
    scores = np.array([0.9, 0.8, 0.8, 0.7, 0.1, 0.05])
    # 1 alert per day over 2 days: the top 2 scores; the tie at 0.8 must not let 3 through.
    t = budget_threshold(scores, days=2, alerts_per_day=1)
    assert (scores >= t).sum() == 1
    assert (scores >= budget_threshold(scores, days=3, alerts_per_day=1)).sum() == 3
    assert budget_threshold(scores, days=10, alerts_per_day=5) == 0.05
