"""From scores to the records downstream services read: predictions for every event, alerts with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from schemas.columnar import ColumnarEncoder
from schemas.history import TransactionColumns

Reason = tuple[str, float, float]  # feature, value, contribution


@dataclass(frozen=True)
class ScoredBatch:
    """One batch's scores under one model version, with reasons for its alert rows."""

    tx: TransactionColumns
    scores: npt.NDArray[np.float64]
    alert: npt.NDArray[np.bool_]
    reasons: dict[int, list[Reason]]  # row -> top reasons, alert rows only
    threshold: float
    model_version: str
    features_missing: tuple[str, ...] = ()

    @property
    def alert_rows(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.alert)


def _event_fields(batch: ScoredBatch, i: int) -> dict[str, Any]:
    """What a prediction and an alert both say about event row `i`."""
    return {
        **batch.tx.row(i),
        "score": float(batch.scores[i]),
        "threshold": batch.threshold,
        "model_version": batch.model_version,
    }


def prediction_records(batch: ScoredBatch, scored_at_ms: int) -> list[dict[str, Any]]:
    missing = list(batch.features_missing)
    return [
        {
            **_event_fields(batch, i),
            "is_alert": bool(batch.alert[i]),
            "features_missing": missing,
            "scored_at": scored_at_ms,
        }
        for i in range(len(batch.tx))
    ]


def encode_predictions(batch: ScoredBatch, scored_at_ms: int, encoder: ColumnarEncoder) -> list[bytes]:
    """The framed Avro of `prediction_records`, byte for byte, encoded as columns (about 10x faster)."""
    tx = batch.tx
    columns = {
        "event_id": tx.event_id,
        "card_id": tx.card_id,
        "terminal_id": tx.terminal_id,
        "event_time": tx.event_time,
        "amount": tx.amount,
        "score": batch.scores,
        "is_alert": batch.alert,
    }
    constants = {
        "threshold": batch.threshold,
        "model_version": batch.model_version,
        "features_missing": list(batch.features_missing),
        "scored_at": scored_at_ms,
    }
    return encoder.encode(len(tx), columns, constants)


def alert_records(batch: ScoredBatch, scored_at_ms: int) -> list[dict[str, Any]]:
    return [
        {
            **_event_fields(batch, int(i)),
            "reasons": [
                {"feature": f, "value": float(v), "contribution": float(c)}
                for f, v, c in batch.reasons.get(int(i), [])
            ],
            "scored_at": scored_at_ms,
        }
        for i in batch.alert_rows
    ]
