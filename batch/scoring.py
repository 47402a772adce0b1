"""Scoring a whole history at once: offline features (point-in-time correct), then the shared core."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from consumer.outputs import ScoredBatch
from consumer.scoring import score_batch
from features.offline import compute_features
from models.metrics import auc_roc, average_precision, card_precision_at_k
from models.scoring import ScoringCore
from schemas.history import TransactionColumns

CHUNK = 50_000


def score_history(
    core: ScoringCore,
    tx: TransactionColumns,
    label_delay_days: int,
    rows: npt.NDArray[np.intp] | None = None,
    progress: Callable[[int], object] = lambda _n: None,
) -> ScoredBatch:
    """Scores `rows` of `tx` (all when None); the other rows serve as the look-back of the windows."""
    matrix = compute_features(tx, label_delay_days)
    if rows is not None:
        tx, matrix = tx.take(rows), matrix[rows]
    scores = np.empty(len(tx), dtype=np.float64)
    for start in range(0, len(tx), CHUNK):
        part = slice(start, start + CHUNK)
        scores[part] = core.score(matrix[part])
        progress(len(scores[part]))
    alert = core.is_alert(scores)
    return ScoredBatch(
        tx=tx,
        scores=scores,
        alert=alert,
        reasons={},
        threshold=core.artifact.threshold,
        model_version=core.artifact.version,
    )


def labelled_metrics(scored: ScoredBatch) -> dict[str, float] | None:
    """The run's metrics when every scored row has a label, else None."""
    y = scored.tx.is_fraud
    if not len(y) or (y < 0).any() or len(np.unique(y)) < 2:
        return None
    cp = card_precision_at_k(scored.tx.event_time, scored.tx.card_id, y, scored.scores, k=100)
    return {
        "auc_roc": auc_roc(y, scored.scores),
        "average_precision": average_precision(y, scored.scores),
        "card_precision_at_100": cp.mean,
        "alerts": float(scored.alert.sum()),
        "frauds": float((y == 1).sum()),
    }


__all__ = ["labelled_metrics", "score_batch", "score_history"]
