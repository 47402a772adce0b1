"""Threshold-free and top-k metrics, in numpy (no scikit-learn).

AUC ROC and average precision follow scikit-learn's definitions (ties grouped at distinct thresholds),
card precision@k follows the Fraud Detection Handbook: per day, the k cards with the highest maximum
score; precision over compromised cards; cards detected on an earlier day are left out of later days;
the mean over days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models.exceptions import ModelError

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Curve:
    """Counts at each distinct score threshold, highest threshold first."""

    thresholds: npt.NDArray[np.float64]
    true_positives: npt.NDArray[np.float64]
    false_positives: npt.NDArray[np.float64]


def threshold_curve(labels: npt.ArrayLike, scores: npt.ArrayLike) -> Curve:
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise ModelError(f"labels and scores must be 1-D of one length, got {y.shape} and {s.shape}")
    positives = y.sum()
    if positives == 0 or positives == len(y):
        raise ModelError("the metrics need both fraudulent and genuine transactions")
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    # The last index of each run of equal scores: tied transactions cross a threshold together.
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(y)[last]
    return Curve(thresholds=s[last], true_positives=tps, false_positives=(last + 1) - tps)


def roc_curve(
    labels: npt.ArrayLike, scores: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(false positive rate, true positive rate), starting at (0, 0)."""
    c = threshold_curve(labels, scores)
    fpr = np.r_[0.0, c.false_positives / c.false_positives[-1]]
    tpr = np.r_[0.0, c.true_positives / c.true_positives[-1]]
    return fpr, tpr


def precision_recall_curve(
    labels: npt.ArrayLike, scores: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(precision, recall, threshold) at each distinct score, highest threshold first."""
    c = threshold_curve(labels, scores)
    precision = c.true_positives / (c.true_positives + c.false_positives)
    return precision, c.true_positives / c.true_positives[-1], c.thresholds


def auc_roc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    fpr, tpr = roc_curve(labels, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def average_precision(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Sum over thresholds of (recall step) x precision, as scikit-learn's `average_precision_score`."""
    precision, recall, _ = precision_recall_curve(labels, scores)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@dataclass(frozen=True)
class CardPrecision:
    mean: float
    per_day: tuple[float, ...]
    compromised_cards_per_day: tuple[int, ...]


def card_precision_at_k(
    event_time: npt.NDArray[np.int64],
    card_id: npt.NDArray[np.str_],
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    k: int = 100,
) -> CardPrecision:
    """The Handbook's card precision top-k, days being UTC days of the event time."""
    y = np.asarray(labels, dtype=np.int8)
    s = np.asarray(scores, dtype=np.float64)
    days = np.asarray(event_time, dtype=np.int64) // DAY_MS
    detected: set[str] = set()
    per_day: list[float] = []
    compromised: list[int] = []
    for day in np.unique(days):
        in_day = days == day
        cards, inverse = np.unique(card_id[in_day], return_inverse=True)
        max_score = np.full(len(cards), -np.inf)
        np.maximum.at(max_score, inverse, s[in_day])
        max_label = np.zeros(len(cards), dtype=np.int8)
        np.maximum.at(max_label, inverse, y[in_day])
        keep = ~np.isin(cards, np.array(sorted(detected), dtype=cards.dtype))
        cards, max_score, max_label = cards[keep], max_score[keep], max_label[keep]
        compromised.append(int(max_label.sum()))
        # Highest score first; ties broken by card id so the metric does not depend on row order.
        top = np.lexsort((cards, -max_score))[:k]
        hits = cards[top][max_label[top] == 1]
        per_day.append(len(hits) / k)
        detected.update(hits.tolist())
    return CardPrecision(
        mean=float(np.mean(per_day)) if per_day else float("nan"),
        per_day=tuple(per_day),
        compromised_cards_per_day=tuple(compromised),
    )
