"""Encode and decode framed Avro records, one at a time or a batch at a time.

Each schema is parsed once per process. Decoding resolves the writer's schema (named by the id in the
frame) against the reader's current one, so records written with an older compatible version still
decode. Bad bytes are data: `decode_many` returns the good records and the failures as two lists.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import fastavro

from schemas.exceptions import DecodeError, SchemaError
from schemas.registry import SchemaSource, current_schemas, full_name, parse

MAGIC = 0
HEADER = struct.Struct(">BI")
_STREAM = re.compile(r"<_io\.BytesIO object at 0x[0-9a-f]+>")


@dataclass(frozen=True)
class Framing:
    """Confluent wire format: magic byte, schema id, Avro binary body."""

    schema_id: int

    def frame(self, body: bytes) -> bytes:
        return HEADER.pack(MAGIC, self.schema_id) + body


class Codec:
    """The codec of one record type (by file stem: "transaction", "prediction", ...)."""

    def __init__(self, stem: str, source: SchemaSource) -> None:
        schemas = current_schemas()
        if stem not in schemas:
            raise SchemaError(f"no schema file schemas/{stem}.avsc")
        self.raw = schemas[stem]
        self.name = full_name(self.raw)
        self.schema = parse(self.raw)
        self._source = source
        self.schema_id = source.id_for(self.name)
        self._framing = Framing(self.schema_id)
        self._field_names = [f["name"] for f in self.raw["fields"]]

    def encode(self, record: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, self.schema, record)
        return self._framing.frame(buf.getvalue())

    def encode_many(self, records: Iterable[dict[str, Any]]) -> list[bytes]:
        return [self.encode(r) for r in records]

    def decode(self, data: bytes | None) -> dict[str, Any]:
        if not data:
            raise DecodeError("empty value")
        if len(data) < HEADER.size:
            raise DecodeError(f"value of {len(data)} bytes is shorter than the 5-byte frame header")
        magic, schema_id = HEADER.unpack_from(data)
        if magic != MAGIC:
            raise DecodeError(f"wrong magic byte {magic} (expected {MAGIC})")
        try:
            writer = self._source.writer_schema(schema_id)
        except SchemaError as exc:
            raise DecodeError(str(exc)) from None
        reader = None if schema_id == self.schema_id else self.schema
        body = io.BytesIO(data)
        body.seek(HEADER.size)
        try:
            record = fastavro.schemaless_reader(body, writer, reader)
        except Exception as exc:  # fastavro raises many types for bad bytes; all mean the same here
            detail = _STREAM.sub("the value", str(exc))  # the same reason for the same bytes
            raise DecodeError(
                f"undecodable Avro body for schema id {schema_id}: {type(exc).__name__}: {detail}"
            ) from None
        if not isinstance(record, dict):
            raise DecodeError(f"schema id {schema_id} is not a record schema")
        if body.tell() != len(data):
            raise DecodeError(f"{len(data) - body.tell()} trailing bytes after the record")
        return record


@dataclass(frozen=True)
class Failure:
    """An input that did not decode: its position in the batch and the reason."""

    index: int
    reason: str


def decode_many(
    codec: Codec, values: Sequence[bytes | None]
) -> tuple[list[tuple[int, dict[str, Any]]], list[Failure]]:
    """Decode a batch: (index, record) for the good ones, and a Failure for each bad one."""
    good: list[tuple[int, dict[str, Any]]] = []
    bad: list[Failure] = []
    for i, value in enumerate(values):
        try:
            good.append((i, codec.decode(value)))
        except DecodeError as exc:
            bad.append(Failure(i, exc.reason))
    return good, bad


__all__ = ["Codec", "DecodeError", "Failure", "Framing", "decode_many", "parse"]
