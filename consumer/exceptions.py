"""Errors of the scorer."""

from __future__ import annotations

from fraudscore.errors import FraudscoreError


class ScorerError(FraudscoreError):
    """The scorer cannot go on; its uncommitted work is redone by the next run (nothing is lost)."""


class DeliveryError(ScorerError):
    """Outputs were not confirmed by the broker after the retry budget."""

    retriable = True


class FencedError(ScorerError):
    """Another scorer with the same transactional id took over: this one must stop."""

    exit_code = 3
