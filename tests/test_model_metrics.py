"""The metrics against their definitions, computed the slow obvious way."""

from __future__ import annotations

import numpy as np
import pytest

from models.exceptions import ModelError
from models.metrics import DAY_MS, auc_roc, average_precision, card_precision_at_k


def pairwise_auc(y: np.ndarray, s: np.ndarray) -> float:
    pos, neg = s[y == 1], s[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def definition_ap(y: np.ndarray, s: np.ndarray) -> float:
    """Precision at each distinct threshold, weighted by the recall gained there."""
    ap, prev_recall = 0.0, 0.0
    for t in np.unique(s)[::-1]:
        flagged = s >= t
        recall = (flagged & (y == 1)).sum() / (y == 1).sum()
        ap += (recall - prev_recall) * (flagged & (y == 1)).sum() / flagged.sum()
        prev_recall = recall
    return float(ap)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_ap_match_their_definitions_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(400) < 0.1).astype(np.int8)
    s = np.round(rng.random(400) + 0.3 * y, 1)  # rounding makes many ties
    assert auc_roc(y, s) == pytest.approx(pairwise_auc(y, s), abs=1e-12)
    assert average_precision(y, s) == pytest.approx(definition_ap(y, s), abs=1e-12)


def test_known_values() -> None:
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    assert auc_roc(y, s) == pytest.approx(0.75)
    assert average_precision(y, s) == pytest.approx(0.5 * 1.0 + 0.5 * (2 / 3))
    assert auc_roc(y, -s) == pytest.approx(0.25)


def test_single_class_is_a_readable_error() -> None:
    with pytest.raises(ModelError, match="both fraudulent and genuine"):
        auc_roc(np.zeros(5), np.arange(5.0))


def test_card_precision_follows_the_handbook() -> None:
    day0, day1 = 0, DAY_MS
    # Day 0: cards a (fraud, 0.9), b (genuine, 0.8), c (fraud, 0.1 and 0.7: its max counts).
    # Day 1: a again (fraud, top score, but detected on day 0 so left out), d (fraud), e (genuine).
    time = np.array([day0, day0, day0, day0, day1, day1, day1])
    card = np.array(["a", "b", "c", "c", "a", "d", "e"])
    label = np.array([1, 0, 0, 1, 1, 1, 0])
    score = np.array([0.9, 0.8, 0.7, 0.1, 0.99, 0.5, 0.6])
    cp = card_precision_at_k(time, card, label, score, k=2)
    # Day 0 top 2 by max score: a (fraud), b (genuine) -> 1/2. Day 1 without a: e, d -> 1/2.
    assert cp.per_day == (0.5, 0.5)
    assert cp.mean == pytest.approx(0.5)
    assert cp.compromised_cards_per_day == (2, 1)
    # With k=3, c's max score 0.7 puts it in: 2/3 on day 0.
    assert card_precision_at_k(time, card, label, score, k=3).per_day[0] == pytest.approx(2 / 3)


def test_card_precision_ignores_row_order() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    time = rng.integers(0, 3 * DAY_MS, n)
    card = np.array([f"c{i}" for i in rng.integers(0, 300, n)])
    label = (rng.random(n) < 0.05).astype(np.int8)
    score = np.round(rng.random(n), 2)
    perm = rng.permutation(n)
    a = card_precision_at_k(time, card, label, score, k=50)
    b = card_precision_at_k(time[perm], card[perm], label[perm], score[perm], k=50)
    assert a == b
    assert len(a.per_day) == 3
