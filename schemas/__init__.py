"""The wire contracts: Avro schemas (`*.avsc`), their ids, and the one codec that reads and writes them."""

from schemas.codec import Codec, DecodeError, Framing, decode_many
from schemas.registry import BuiltinCatalog, SchemaSource, open_schema_source

__all__ = [
    "BuiltinCatalog",
    "Codec",
    "DecodeError",
    "Framing",
    "SchemaSource",
    "decode_many",
    "open_schema_source",
]
