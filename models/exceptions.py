"""Errors of the model part: training, artifacts and scoring."""

from __future__ import annotations

from fraudscore.errors import FraudscoreError


class ModelError(FraudscoreError):
    """A model artifact is missing, corrupt or unusable, or training cannot run on the given data."""
