"""Errors of the local stack: each is one line a person can act on."""

from __future__ import annotations

from fraudscore.errors import FraudscoreError


class StackError(FraudscoreError):
    """The local Kafka/Redis stack cannot be started, stopped or inspected."""


class ToolMissingError(StackError):
    """A program the stack needs (`java`, `mvn`, `redis-server`) is not installed."""

    exit_code = 3


class PortInUseError(StackError):
    """A port the stack would listen on is already taken."""

    exit_code = 4


class StartupError(StackError):
    """A server did not become ready before the deadline; the message carries its last log lines."""

    exit_code = 5
