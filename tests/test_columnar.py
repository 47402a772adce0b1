"""The columnar encoder writes exactly the bytes the per-record codec writes."""

from __future__ import annotations

import numpy as np
import pytest

from consumer.outputs import ScoredBatch, encode_predictions, prediction_records
from schemas import Codec, open_schema_source
from schemas.columnar import ColumnarEncoder
from schemas.exceptions import SchemaError
from schemas.history import TransactionColumns


def _batch(ids: list[str], times: list[int], missing: tuple[str, ...] = ()) -> ScoredBatch:
    n = len(ids)
    rng = np.random.default_rng(3)
    tx = TransactionColumns(
        event_id=np.array(ids, dtype=np.str_),
        event_time=np.array(times, dtype=np.int64),
        card_id=np.array([f"C{i:06d}" for i in range(n)], dtype=np.str_),
        terminal_id=np.array([i[::-1] for i in ids], dtype=np.str_),
        amount=np.round(rng.exponential(50, n), 2),
        is_fraud=np.zeros(n, dtype=np.int8),
        fraud_scenario=np.zeros(n, dtype=np.int8),
    )
    scores = rng.random(n)
    return ScoredBatch(tx, scores, scores >= 0.5, {}, 0.5, "20260101T000000Z-abcdef12", missing)


@pytest.mark.parametrize(
    ("ids", "times", "missing"),
    [
        ([f"e-{i}" for i in range(200)], list(range(1_767_225_600_000, 1_767_225_600_200)), ()),
        # Non-ASCII and empty ids, long ids (2-byte length varints), small, zero and negative times.
        (["é€😀", "", "x" * 300, "plain"], [0, -1, 63, -(2**63)], ("card", "terminal")),
        (["only"], [2**63 - 1], ()),
    ],
)
def test_predictions_encode_byte_for_byte_as_the_codec(
    ids: list[str], times: list[int], missing: tuple[str, ...]
) -> None:
    codec = Codec("prediction", open_schema_source(None))
    batch = _batch(ids, times, missing)
    expected = codec.encode_many(prediction_records(batch, 1_767_225_600_123))
    assert encode_predictions(batch, 1_767_225_600_123, ColumnarEncoder(codec)) == expected
    assert [codec.decode(v)["event_id"] for v in expected] == ids


def test_an_empty_batch_encodes_to_nothing() -> None:
    codec = Codec("prediction", open_schema_source(None))
    assert encode_predictions(_batch([], []), 0, ColumnarEncoder(codec)) == []


def test_a_missing_field_or_a_complex_column_is_refused() -> None:
    encoder = ColumnarEncoder(Codec("prediction", open_schema_source(None)))
    with pytest.raises(SchemaError, match="no column or constant"):
        encoder.encode(1, {"event_id": np.array(["a"])}, {})
    earlier = {"threshold": 0.5, "model_version": "v", "event_time": 1, "amount": 1.0, "score": 0.1}
    earlier |= {"event_id": "e", "card_id": "c", "terminal_id": "t", "is_alert": False}
    with pytest.raises(SchemaError, match="only be a constant"):
        encoder.encode(1, {"features_missing": np.array([["a"]])}, earlier)
