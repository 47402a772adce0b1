"""Errors of batch scoring and replay."""

from __future__ import annotations

from fraudscore.errors import FraudscoreError


class BatchError(FraudscoreError):
    """The input or output of a batch run is unusable."""
