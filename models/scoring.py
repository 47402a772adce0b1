"""The scoring core: the one place that turns feature matrices into scores, alerts and reason codes.

The streaming scorer, batch scoring, replay and the evaluation in training all call this class, so a
model scores the same rows the same way wherever it runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from features.definition import FEATURE_NAMES
from models.artifact import ModelArtifact
from models.exceptions import ModelError

Reason = tuple[str, float, float]


class ScoringCore:
    """Scores matrices whose columns are `served_features` (float32, NaN = missing) with one model."""

    def __init__(self, artifact: ModelArtifact, served_features: Sequence[str] = FEATURE_NAMES) -> None:
        served = tuple(served_features)
        missing = [name for name in artifact.feature_names if name not in served]
        if missing:
            raise ModelError(
                f"model {artifact.version} needs features this build cannot serve: {', '.join(missing)}"
            )
        self.artifact = artifact
        self.version = artifact.version
        self.threshold = artifact.threshold
        self.served_features = served
        self.feature_names = artifact.feature_names
        index = np.array([served.index(name) for name in artifact.feature_names], dtype=np.intp)
        # When the model takes exactly the served columns in order, the matrix is passed as it is.
        self._columns: npt.NDArray[np.intp] | None = (
            None if np.array_equal(index, np.arange(len(served))) else index
        )
        # A private copy: threads are a property of the booster, and the caller's booster keeps its own.
        # Micro-batches of a few hundred rows on 2 cores score faster on one thread than fanned out.
        self._booster = artifact.booster.copy()
        self._booster.set_param({"nthread": 1})

    def _model_columns(self, matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        if matrix.ndim != 2 or matrix.shape[1] != len(self.served_features):
            raise ModelError(
                f"feature matrix has shape {matrix.shape}, expected (n, {len(self.served_features)})"
            )
        m = np.asarray(matrix, dtype=np.float32)
        return m if self._columns is None else m[:, self._columns]

    def score(self, matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Fraud probabilities, one per row: a single `inplace_predict` call for the whole batch."""
        m = self._model_columns(matrix)
        if len(m) == 0:
            return np.empty(0, dtype=np.float64)
        raw = self._booster.inplace_predict(np.ascontiguousarray(m), missing=np.nan)
        return np.asarray(raw, dtype=np.float64)

    def is_alert(self, scores: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        return np.asarray(scores) >= self.threshold

    def reasons(self, matrix: npt.NDArray[np.float32], rows: npt.ArrayLike, k: int = 3) -> list[list[Reason]]:
        """For each given row, the k features that pushed its score up most: (name, value, SHAP value).

        Contributions are in log-odds, from XGBoost's exact tree SHAP (`pred_contribs=True`); only the
        given rows are explained, as this costs far more than scoring.
        """
        index = np.asarray(rows, dtype=np.intp)
        if index.size == 0:
            return []
        m = self._model_columns(matrix)[index]
        # `m` is in the model's column order already: naming the columns again only made the DMatrix
        # and the check of its names cost ~0.3 ms a call (of ~0.8), paid by every batch with an alert.
        data = xgb.DMatrix(m, missing=np.nan, nthread=1)
        contribs = self._booster.predict(data, pred_contribs=True, validate_features=False)
        contribs = contribs[:, :-1]  # the last column is the bias
        top = np.argsort(-contribs, axis=1, kind="stable")[:, :k]
        return [
            [(self.feature_names[j], float(m[i, j]), float(contribs[i, j])) for j in top[i]]
            for i in range(len(index))
        ]
