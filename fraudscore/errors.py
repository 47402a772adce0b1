"""The base of every error fraudscore raises on purpose.

The CLI turns a `FraudscoreError` into one readable line and a non-zero exit; anything else is a bug
and keeps its traceback. `retriable` tells a caller whether trying again may help (aiokafka's idea).
"""

from __future__ import annotations


class FraudscoreError(Exception):
    """An expected failure with a message fit for one line on a terminal."""

    retriable: bool = False
    exit_code: int = 1


class ConfigError(FraudscoreError):
    """A bad flag, environment variable or setting."""

    exit_code = 2


class ServiceUnavailableError(FraudscoreError):
    """Kafka or Redis cannot be reached."""

    retriable = True
