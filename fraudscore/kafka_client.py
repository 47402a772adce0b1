"""How every fraudscore Kafka client reports a broker it cannot reach: in one readable line.

librdkafka logs each failed connection attempt itself, several lines a second for as long as a broker
is down. A command that needs the broker to start checks it once, with a bounded wait, and fails in one
line (`check_kafka`). A long-running client (the scorer, `tail`) keeps retrying, as librdkafka does,
and says so in a warning at most every 30 s (`reporting`); librdkafka's line per failed attempt goes
to debug logging, its other warnings keep their level.
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
librdkafka_log = logging.getLogger("fraudscore.kafka.librdkafka")

CONNECT_TIMEOUT_S = 10.0
# While a broker stays down, the warning is repeated this often, so the log shows the outage goes on.
REPEAT_S = 30.0
# librdkafka's log facilities that repeat what the error callback already reports, once per attempt.
_REPORTED_FACILITIES = frozenset({"FAIL", "ERROR"})


def quiet(conf: dict[str, Any]) -> dict[str, Any]:
    """`conf` without librdkafka's log noise; failures still surface as exceptions."""
    return {**conf, "log_level": 2, "error_cb": lambda _err: None}


class _LibrdkafkaLog:
    """librdkafka's own log lines (confluent-kafka passes Python levels): a failed connection attempt,
    which the error callback reports, goes to debug; a warning or an error of anything else (an
    authentication failure, a consumer over max.poll.interval.ms) keeps its level; the rest is debug."""

    def log(self, level: int, fmt: str, *args: Any) -> None:
        facility = args[0] if args else ""
        if facility in _REPORTED_FACILITIES or level < logging.WARNING:
            level = logging.DEBUG
        librdkafka_log.log(level, fmt, *args)


class OutageReport:
    """An `error_cb` that keeps the last error and warns at most once every `repeat_s`: one warning
    when the broker goes away, then one more every `repeat_s` while librdkafka keeps failing.

    It stays silent until `check_kafka` has seen the broker answer: before that, a down broker is
    the check's one line, not a warning beside it. A fatal error (the client cannot go on) is always
    logged as an error.
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
        if err.fatal():
            log.error("%s: fatal: %s", self.who, err.str())
            return
        now = self._clock()
        if not self.armed or (self._said_at is not None and now - self._said_at < self._repeat_s):
            log.debug("%s: %s", self.who, err.str())
            return
        self._said_at = now
        log.warning("%s: %s (librdkafka retries)", self.who, err.str())


def reporting(conf: dict[str, Any], report: OutageReport) -> dict[str, Any]:
    """`conf` for a long-running client: errors go to `report`, librdkafka's repeats to debug."""
    return {**conf, "error_cb": report, "logger": _LibrdkafkaLog()}


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
        if report is not None:
            client.poll(0)  # serves the error callback: the cause (a refused connection, say)
        why = report.last_error if report is not None and report.last_error else exc.args[0].str()
        raise error(f"Kafka at {servers} did not answer within {timeout_s:g} s ({why})") from None
    if report is not None:
        report.armed = True
    missing = [t for t in topics if t not in meta.topics or meta.topics[t].error is not None]
    if missing:
        raise error(
            f"topic(s) {', '.join(missing)} missing on {servers}, or not visible to this client "
            "(create them: fraudscore topics create)"
        )
