"""How every fraudscore Kafka client reports a broker it cannot reach: in one readable line.

librdkafka logs each failed connection attempt itself, several lines a second for as long as a broker
is down. A command that needs the broker to start checks it once, with a bounded wait, and fails in one
line (`check_kafka`). A long-running client (the scorer, `tail`) keeps retrying, as librdkafka does,
and says so in one warning line per outage (`reporting`); librdkafka's own lines go to debug logging.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fraudscore.errors import ServiceUnavailableError

if TYPE_CHECKING:
    from confluent_kafka import KafkaError

log = logging.getLogger("fraudscore.kafka")

CONNECT_TIMEOUT_S = 10.0
# A broker still down after this long is reported again, so the log shows the outage goes on.
REPEAT_S = 30.0


def quiet(conf: dict[str, Any]) -> dict[str, Any]:
    """`conf` without librdkafka's log noise; failures still surface as exceptions."""
    return {**conf, "log_level": 2, "error_cb": lambda _err: None}


class _DebugLog:
    """librdkafka's own log lines, at debug level: `reporting` says what matters once."""

    def log(self, _level: int, fmt: str, *args: Any) -> None:
        log.debug(fmt, *args)


class OutageReport:
    """An `error_cb` that keeps the last error and warns once per outage, again every `repeat_s`.

    It stays silent until `check_kafka` has seen the broker answer: before that, a down broker is
    the check's one line, not a warning beside it.
    """

    def __init__(
        self, who: str, repeat_s: float = REPEAT_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.who = who
        self.last_error: str | None = None
        self.armed = False
        self._repeat_s = repeat_s
        self._clock = clock
        self._said_at: float | None = None

    def __call__(self, err: KafkaError) -> None:
        self.last_error = err.str()
        now = self._clock()
        if not self.armed or (self._said_at is not None and now - self._said_at < self._repeat_s):
            log.debug("%s: %s", self.who, err.str())
            return
        self._said_at = now
        log.warning("%s: %s (retrying)", self.who, err.str())


def reporting(conf: dict[str, Any], report: OutageReport) -> dict[str, Any]:
    """`conf` for a long-running client: errors go to `report`, librdkafka's own log to debug."""
    return {**conf, "error_cb": report, "logger": _DebugLog()}


def add_connect_timeout(parser: argparse.ArgumentParser) -> None:
    """The `--connect-timeout` flag of every command that checks the broker before it starts."""
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=CONNECT_TIMEOUT_S,
        metavar="S",
        help=f"wait this long for Kafka at the start [{CONNECT_TIMEOUT_S:g}]",
    )


def check_kafka(
    client: Any,
    servers: str,
    topics: list[str] | tuple[str, ...] = (),
    timeout_s: float = CONNECT_TIMEOUT_S,
    report: OutageReport | None = None,
    error: type[ServiceUnavailableError] = ServiceUnavailableError,
) -> None:
    """Fail in one line unless the broker answers within `timeout_s` and every topic exists.

    `client` is any confluent-kafka client; `report`, its error callback, gives the failure's cause
    (a refused connection, say) where the metadata request's own error only says it failed. `error`
    is what to raise: a part may have its own kind of `ServiceUnavailableError`.
    """
    from confluent_kafka import KafkaException  # here: the stack's commands start without it

    try:
        meta = client.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        why = report.last_error if report is not None and report.last_error else exc.args[0].str()
        raise error(f"Kafka at {servers} did not answer within {timeout_s:g} s ({why})") from None
    if report is not None:
        report.armed = True
    missing = [t for t in topics if t not in meta.topics or meta.topics[t].error is not None]
    if missing:
        raise error(
            f"topic(s) {', '.join(missing)} do not exist on {servers} (create them first: "
            "fraudscore topics create)"
        )
