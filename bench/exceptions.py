"""Errors of the benchmark."""

from __future__ import annotations

from fraudscore.errors import FraudscoreError


class BenchError(FraudscoreError):
    """The benchmark cannot run or a phase did not complete (every figure would be meaningless)."""
