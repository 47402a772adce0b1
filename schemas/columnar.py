"""Framed Avro for a whole batch of flat records at once, byte for byte what `Codec.encode` writes.

The scorer's outputs are columns (numpy arrays) plus per-batch constants, and encoding them one record
at a time costs about 5 us a record in fastavro's per-call overhead. Here each field becomes a block of
bytes per row with a mask of the bytes in use (a varint takes 1 to 10 bytes, a string its length);
the blocks are laid side by side, one boolean gather packs every record back to back, and one slice per
record cuts them apart: well under a microsecond a record. Columns may be strings, longs (or ints),
doubles and booleans; any other field must be a constant of the batch, encoded once by fastavro.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import fastavro
import numpy as np
import numpy.typing as npt

from schemas.codec import HEADER, MAGIC, Codec
from schemas.exceptions import SchemaError

Block = tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]  # bytes (n, width), which are used
COLUMN_TYPES = ("string", "long", "int", "double", "boolean")


# The smallest value that needs k + 1 bytes, for k = 1..9: a varint's length is a `searchsorted`.
_VARINT_LIMITS = np.array([1 << (7 * k) for k in range(1, 10)], dtype=np.uint64)


def _varints(values: npt.NDArray[np.int64]) -> Block:
    """Zigzag varints (Avro `long`): 7 bits a byte, low bits first, high bit set on all but the last."""
    z = ((values.astype(np.int64) << 1) ^ (values.astype(np.int64) >> 63)).view(np.uint64)
    used = np.searchsorted(_VARINT_LIMITS, z, side="right") + 1
    width = int(used.max()) if len(used) else 1
    shifts = np.arange(width, dtype=np.uint64) * np.uint64(7)
    groups = ((z[:, None] >> shifts) & np.uint64(0x7F)).astype(np.uint8)
    column = np.arange(width)
    groups[column < (used[:, None] - 1)] |= 0x80
    return groups, column < used[:, None]


def _strings(values: npt.NDArray[Any]) -> Block:
    """Avro strings: the UTF-8 length as a varint, then the bytes."""
    text = np.asarray(values, dtype=np.str_)
    codes = text.view(np.uint32).reshape(len(text), -1) if text.dtype.itemsize else None
    if codes is not None and int(codes.max(initial=0)) < 128:
        data = codes.astype(np.uint8)  # ASCII: one byte per character, no codec call
        lengths = np.strings.str_len(text).astype(np.int64)
    else:
        encoded = np.strings.encode(text, "utf-8")
        width = max(encoded.dtype.itemsize, 1)
        data = np.frombuffer(encoded.astype(f"S{width}").tobytes(), dtype=np.uint8).reshape(len(text), width)
        lengths = np.strings.str_len(encoded).astype(np.int64)
    head, head_used = _varints(lengths)
    body_used = np.arange(data.shape[1]) < lengths[:, None]
    return np.hstack((head, data)), np.hstack((head_used, body_used))


def _column(kind: str, values: npt.NDArray[Any]) -> Block:
    n = len(values)
    if kind == "string":
        return _strings(values)
    if kind in ("long", "int"):
        return _varints(np.asarray(values, dtype=np.int64))
    if kind == "double":
        data = np.ascontiguousarray(values, dtype="<f8").view(np.uint8).reshape(n, 8)
        return data, np.ones((n, 8), dtype=bool)
    data = np.asarray(values, dtype=bool).astype(np.uint8).reshape(n, 1)
    return data, np.ones((n, 1), dtype=bool)


def _constant(parsed: Any, value: Any, n: int) -> Block:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed, value)
    data = np.frombuffer(buf.getvalue(), dtype=np.uint8)
    return np.broadcast_to(data, (n, len(data))), np.ones((n, len(data)), dtype=bool)


class ColumnarEncoder:
    """Encodes batches of one record type given as columns and constants (see the module doc)."""

    def __init__(self, codec: Codec) -> None:
        self._fields: list[tuple[str, Any]] = [(f["name"], f["type"]) for f in codec.raw["fields"]]
        # Parsed once: parsing a field's schema for every batch cost more than writing its value.
        self._parsed = {name: fastavro.parse_schema(kind) for name, kind in self._fields}
        self._header = np.frombuffer(HEADER.pack(MAGIC, codec.schema_id), dtype=np.uint8)

    def encode(
        self, n: int, columns: Mapping[str, npt.NDArray[Any]], constants: Mapping[str, Any]
    ) -> list[bytes]:
        if n == 0:
            return []
        blocks: list[Block] = [(np.broadcast_to(self._header, (n, len(self._header))), np.ones((n, 5), bool))]
        for name, kind in self._fields:
            if name in columns:
                if kind not in COLUMN_TYPES:
                    raise SchemaError(f"field {name} of type {kind} can only be a constant of the batch")
                if len(columns[name]) != n:
                    raise SchemaError(f"column {name} has {len(columns[name])} values, expected {n}")
                blocks.append(_column(kind, columns[name]))
            elif name in constants:
                blocks.append(_constant(self._parsed[name], constants[name], n))
            else:
                raise SchemaError(f"no column or constant for field {name}")
        data = np.hstack([b for b, _ in blocks])
        used = np.hstack([u for _, u in blocks])
        packed = data[used].tobytes()
        ends = np.cumsum(used.sum(axis=1)).tolist()
        return [packed[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
