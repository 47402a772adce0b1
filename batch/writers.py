"""Writing batch predictions: Parquet or Avro (a container of `Prediction` records), by file extension."""

from __future__ import annotations

import time
from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq

from batch.exceptions import BatchError
from consumer.outputs import ScoredBatch, prediction_records
from schemas.registry import current_schemas, parse


def write_predictions(path: Path, scored: ScoredBatch) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    now_ms = int(time.time() * 1000)
    if path.suffix == ".parquet":
        tx = scored.tx
        table = pa.table(
            {
                "event_id": pa.array(tx.event_id.tolist(), pa.string()),
                "card_id": pa.array(tx.card_id.tolist(), pa.string()),
                "terminal_id": pa.array(tx.terminal_id.tolist(), pa.string()),
                "event_time": pa.array(tx.event_time, pa.timestamp("ms", tz="UTC")),
                "amount": pa.array(tx.amount, pa.float64()),
                "score": pa.array(scored.scores, pa.float64()),
                "is_alert": pa.array(scored.alert, pa.bool_()),
                "threshold": pa.array([scored.threshold] * len(tx), pa.float64()),
                "model_version": pa.array([scored.model_version] * len(tx), pa.string()),
                "is_fraud": pa.array([None if v < 0 else bool(v) for v in tx.is_fraud.tolist()], pa.bool_()),
            }
        )
        pq.write_table(table, path)
    elif path.suffix == ".avro":
        schema = parse(current_schemas()["prediction"])
        with path.open("wb") as fh:
            fastavro.writer(fh, schema, prediction_records(scored, now_ms), codec="deflate")
    else:
        raise BatchError(f"output {path} must end in .parquet or .avro")
