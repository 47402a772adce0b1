"""The codec: every schema round-trips, old writers still decode, and bad bytes become typed errors."""

from __future__ import annotations

import io
import struct
from typing import Any

import fastavro
import pytest

from schemas import BuiltinCatalog, Codec, DecodeError, Framing, decode_many
from schemas.registry import current_schemas, load_schema_file, parse


def sample(schema: Any, depth: int = 0) -> Any:
    """A valid value for any Avro type used in schemas/, so a new schema is covered automatically."""
    if isinstance(schema, list):  # a union: take its first non-null branch
        return sample(next(s for s in schema if s != "null"), depth)
    if isinstance(schema, dict):
        kind = schema["type"]
        if kind == "record":
            return {f["name"]: sample(f["type"], depth + 1) for f in schema["fields"]}
        if kind == "array":
            return [sample(schema["items"], depth + 1), sample(schema["items"], depth + 2)]
        if kind == "map":
            return {"k": sample(schema["values"], depth + 1)}
        if kind == "enum":
            return schema["symbols"][0]
        return sample(kind, depth)
    scalars = {
        "string": f"s{depth}",
        "long": 1_767_225_600_000 + depth,
        "int": 7 + depth,
        "double": 12.5 + depth,
        "float": 0.5,
        "boolean": True,
        "bytes": b"\x00\xff" + bytes([depth]),
    }
    return scalars[schema]


@pytest.fixture(scope="module")
def catalog() -> BuiltinCatalog:
    return BuiltinCatalog()


@pytest.mark.parametrize("stem", sorted(current_schemas()))
def test_every_schema_round_trips(stem: str, catalog: BuiltinCatalog) -> None:
    codec = Codec(stem, catalog)
    record = sample(codec.raw)
    data = codec.encode(record)
    assert data[0] == 0
    assert struct.unpack(">I", data[1:5])[0] == codec.schema_id
    assert codec.decode(data) == record
    assert codec.encode_many([record, record]) == [data, data]


def test_a_v1_transaction_decodes_with_the_current_reader_and_gets_the_default_currency(
    catalog: BuiltinCatalog,
) -> None:
    v1 = parse(load_schema_file("history/transaction.v1.avsc"))
    old = {"event_id": "e1", "event_time": 1, "card_id": "C1", "terminal_id": "T1", "amount": 9.99}
    body = io.BytesIO()
    fastavro.schemaless_writer(body, v1, old)
    data = Framing(1).frame(body.getvalue())

    codec = Codec("transaction", catalog)
    assert codec.schema_id != 1  # the current version has its own id
    assert codec.decode(data) == {**old, "currency": "EUR"}


@pytest.fixture(scope="module")
def good(catalog: BuiltinCatalog) -> bytes:
    codec = Codec("transaction", catalog)
    return codec.encode(sample(codec.raw))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda g: b"", "empty value"),
        (lambda g: g[:3], "shorter than the 5-byte frame header"),
        (lambda g: b"\x01" + g[1:], "wrong magic byte 1"),
        (lambda g: Framing(999).frame(g[5:]), "unknown schema id 999"),
        (lambda g: g[:-4], "undecodable Avro body"),
        (lambda g: g + b"\x00\x01", "2 trailing bytes"),
        (lambda g: Framing(2).frame(b"\xff" * 12), "undecodable Avro body"),
    ],
    ids=["empty", "short", "magic", "unknown-id", "truncated", "trailing", "garbage"],
)
def test_bad_bytes_raise_decode_error_with_the_reason(
    make: Any, reason: str, good: bytes, catalog: BuiltinCatalog
) -> None:
    with pytest.raises(DecodeError) as caught:
        Codec("transaction", catalog).decode(make(good))
    assert reason in caught.value.reason


def test_none_is_a_decode_error(catalog: BuiltinCatalog) -> None:
    with pytest.raises(DecodeError, match="empty value"):
        Codec("transaction", catalog).decode(None)


def test_decode_many_splits_good_and_bad_keeping_positions(good: bytes, catalog: BuiltinCatalog) -> None:
    codec = Codec("transaction", catalog)
    records, failures = decode_many(codec, [good, b"junk-bytes", None, good, good + b"x"])
    assert [i for i, _ in records] == [0, 3]
    assert all(r == codec.decode(good) for _, r in records)
    assert [f.index for f in failures] == [1, 2, 4]
    assert "wrong magic" in failures[0].reason
    assert "trailing" in failures[2].reason


def test_an_unknown_stem_is_a_schema_error(catalog: BuiltinCatalog) -> None:
    from schemas.exceptions import SchemaError

    with pytest.raises(SchemaError, match="no schema file"):
        Codec("nope", catalog)
