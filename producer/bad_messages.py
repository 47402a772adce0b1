"""Malformed transaction messages, one kind for each way real producers get it wrong.

Each kind is really malformed: the codec (`schemas.Codec.decode`) or the validator
(`schemas.validation.validate_transaction`) rejects it, whatever the event it was made from; the tests
prove it for every kind. `STAGE` says which of the two a scorer's dead-letter path will see reject it.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import fastavro
import numpy as np

from schemas import Codec, Framing
from schemas.codec import HEADER
from schemas.registry import parse

# Far above any id the built-in catalog or a fresh registry hands out.
UNKNOWN_SCHEMA_ID = 2_000_000_000
OVERSIZED_BYTES = 256 * 1024  # well past any sane event, well below the broker's 1 MB message limit

# The transaction's first three fields only: a producer on some other, older contract.
_PARTIAL = parse(
    {
        "type": "record",
        "name": "PartialTransaction",
        "fields": [
            {"name": "event_id", "type": "string"},
            {"name": "event_time", "type": "long"},
            {"name": "card_id", "type": "string"},
        ],
    }
)
# event_time written as an ISO-8601 string: the commonest type mistake.
_STRING_TIME = parse(
    {
        "type": "record",
        "name": "StringTimeTransaction",
        "fields": [
            {"name": "event_id", "type": "string"},
            {"name": "event_time", "type": "string"},
            {"name": "card_id", "type": "string"},
            {"name": "terminal_id", "type": "string"},
            {"name": "amount", "type": "double"},
            {"name": "currency", "type": "string"},
        ],
    }
)

Maker = Callable[[dict[str, Any], Codec, np.random.Generator], bytes]


def _framed_with(schema: Any, record: dict[str, Any], codec: Codec) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, record)
    return Framing(codec.schema_id).frame(buf.getvalue())


def _truncated(record: dict[str, Any], codec: Codec, rng: np.random.Generator) -> bytes:
    good = codec.encode(record)
    return good[: int(rng.integers(1, len(good)))]  # any proper prefix: Avro reads past its end


def _wrong_magic(record: dict[str, Any], codec: Codec, rng: np.random.Generator) -> bytes:
    return bytes([int(rng.integers(1, 256))]) + codec.encode(record)[1:]


def _unknown_schema_id(record: dict[str, Any], codec: Codec, rng: np.random.Generator) -> bytes:
    return Framing(UNKNOWN_SCHEMA_ID).frame(codec.encode(record)[HEADER.size :])


def _missing_fields(record: dict[str, Any], codec: Codec, rng: np.random.Generator) -> bytes:
    return _framed_with(_PARTIAL, record, codec)


def _wrong_type(record: dict[str, Any], codec: Codec, rng: np.random.Generator) -> bytes:
    iso = datetime.fromtimestamp(record["event_time"] / 1000, UTC).isoformat()
    return _framed_with(_STRING_TIME, {**record, "event_time": iso}, codec)


def _json(record: dict[str, Any], codec: Codec, rng: np.random.Generator) -> bytes:
    return json.dumps(record).encode()  # a producer that forgot its Avro serializer


def _with(**changes: Any) -> Maker:
    def make(record: dict[str, Any], codec: Codec, rng: np.random.Generator) -> bytes:
        return codec.encode({**record, **changes})

    return make


def _negative_amount(record: dict[str, Any], codec: Codec, rng: np.random.Generator) -> bytes:
    return codec.encode({**record, "amount": -max(0.01, record["amount"])})


def _empty_value(record: dict[str, Any], codec: Codec, rng: np.random.Generator) -> bytes:
    return b""


def _oversized(record: dict[str, Any], codec: Codec, rng: np.random.Generator) -> bytes:
    # Valid Avro, but a terminal id stuffed with a blob no real terminal id could be.
    return codec.encode({**record, "terminal_id": record["terminal_id"] + "X" * OVERSIZED_BYTES})


MAKERS: dict[str, Maker] = {
    "truncated": _truncated,
    "wrong_magic": _wrong_magic,
    "unknown_schema_id": _unknown_schema_id,
    "missing_fields": _missing_fields,
    "wrong_type": _wrong_type,
    "json_not_avro": _json,
    "nan_amount": _with(amount=math.nan),
    "negative_amount": _negative_amount,
    "absurd_amount": _with(amount=1e12),
    "empty_id": _with(card_id=""),
    "empty_value": _empty_value,
    "oversized": _oversized,
}
KINDS: tuple[str, ...] = tuple(MAKERS)

# Where a scorer meets each kind: "decode" (the codec rejects it) or "validate" (decodes, breaks a rule).
STAGE: dict[str, str] = {
    **dict.fromkeys(
        (
            "truncated",
            "wrong_magic",
            "unknown_schema_id",
            "missing_fields",
            "json_not_avro",
            "empty_value",
        ),
        "decode",
    ),
    **dict.fromkeys(("nan_amount", "negative_amount", "absurd_amount", "empty_id", "oversized"), "validate"),
    # The ISO string's length prefix is read as the time and the rest as the next fields: the record
    # either fails to decode or decodes with an event time in 1970, which the validator rejects.
    "wrong_type": "decode or validate",
}


def make_bad(kind: str, record: dict[str, Any], codec: Codec, rng: np.random.Generator) -> bytes:
    """A malformed message of `kind`, made from a good transaction `record`."""
    return MAKERS[kind](record, codec, rng)
