"""Errors of the upstream part: the simulator, the event producer and the upstream API."""

from __future__ import annotations

from fraudscore.errors import ConfigError, FraudscoreError, ServiceUnavailableError


class SimulationError(ConfigError):
    """Simulation parameters that cannot give a population (no customers, no days, ...)."""


class BrokerUnavailableError(ServiceUnavailableError):
    """Kafka did not answer within the bounded wait, or a topic we write to does not exist."""


class InvalidTransactionError(FraudscoreError):
    """An upstream service tried to send a transaction that breaks the validation rules."""

    exit_code = 2
