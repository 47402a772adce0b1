"""One batch through the scoring core: features in, scores, alerts and reasons out.

Used by the streaming scorer, replay and batch scoring alike, so that a given event and model give the
same score on every path.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from consumer.outputs import ScoredBatch
from models.scoring import ScoringCore
from schemas.history import TransactionColumns


def score_batch(
    core: ScoringCore,
    tx: TransactionColumns,
    matrix: npt.NDArray[np.float32],
    features_missing: tuple[str, ...] = (),
    with_reasons: bool = True,
) -> ScoredBatch:
    scores = core.score(matrix)
    alert = core.is_alert(scores)
    rows = np.flatnonzero(alert)
    reasons = {}
    if with_reasons and len(rows):
        reasons = dict(zip(rows.tolist(), core.reasons(matrix, rows), strict=True))
    return ScoredBatch(
        tx=tx,
        scores=scores,
        alert=alert,
        reasons=reasons,
        threshold=core.artifact.threshold,
        model_version=core.artifact.version,
        features_missing=features_missing,
    )
