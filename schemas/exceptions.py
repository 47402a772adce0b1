"""Errors of the wire layer."""

from __future__ import annotations

from fraudscore.errors import FraudscoreError


class DecodeError(FraudscoreError):
    """Bytes that are not a valid framed Avro record of the expected type; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SchemaError(FraudscoreError):
    """A schema is missing, invalid, or unknown to the catalog or registry."""
