"""Errors of the feature part."""

from __future__ import annotations

from fraudscore.errors import FraudscoreError, ServiceUnavailableError


class FeatureInputError(FraudscoreError):
    """Transactions or a history file the features cannot be computed from."""


class FeatureStoreError(ServiceUnavailableError):
    """The online store (Redis) failed; retriable. The message never holds a password."""

    retriable = True
