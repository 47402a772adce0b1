"""A broker that cannot be reached is one readable line at the start, then one warning per outage."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, KafkaError
from confluent_kafka.admin import AdminClient

from fraudscore.errors import ServiceUnavailableError
from fraudscore.kafka_client import OutageReport, check_kafka, quiet, reporting
from fraudscore.stack import procs

REFUSED = KafkaError(KafkaError._TRANSPORT, "Connect to 127.0.0.1:1 failed: Connection refused")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_an_outage_is_one_warning_then_one_more_per_repeat_period(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    report = OutageReport("scorer, Kafka at h:1", repeat_s=30, clock=lambda: now[0])
    report.armed = True
    with caplog.at_level(logging.DEBUG, logger="fraudscore.kafka"):
        for t in (0.0, 1.0, 2.0, 29.0, 31.0, 32.0):
            now[0] = t
            report(REFUSED)
    said = _warnings(caplog)
    assert len(said) == 2, said
    assert all(s.startswith("scorer, Kafka at h:1: Connect to 127.0.0.1:1 failed") for s in said)
    assert report.last_error == REFUSED.str()
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 4, "the repeats stay at debug"


def test_a_fatal_error_is_always_an_error_line(caplog: pytest.LogCaptureFixture) -> None:
    report = OutageReport("scorer, Kafka at h:1", clock=lambda: 0.0)
    report.armed = True
    fenced = KafkaError(KafkaError._FENCED, "producer fenced by a newer instance", fatal=True)
    with caplog.at_level(logging.DEBUG, logger="fraudscore.kafka"):
        report(REFUSED)
        report(fenced)  # within the repeat period of the warning above
        report(fenced)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["scorer, Kafka at h:1: fatal: producer fenced by a newer instance"] * 2


def test_librdkafka_keeps_its_warnings_and_loses_only_the_repeats_of_reported_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = reporting({}, OutageReport("x"))["logger"]
    with caplog.at_level(logging.DEBUG, logger="fraudscore.kafka"):
        logger.log(logging.ERROR, "%s [%s] %s", "FAIL", "rdkafka#consumer-1", "Connect failed")
        logger.log(logging.WARNING, "%s [%s] %s", "MAXPOLL", "rdkafka#consumer-1", "poll interval exceeded")
        logger.log(logging.INFO, "%s [%s] %s", "CGRPOP", "rdkafka#consumer-1", "group state")
    levels = {r.getMessage().split(" ")[0]: r.levelno for r in caplog.records}
    assert levels == {"FAIL": logging.DEBUG, "MAXPOLL": logging.WARNING, "CGRPOP": logging.DEBUG}


def test_before_the_start_check_errors_are_kept_but_not_warned(caplog: pytest.LogCaptureFixture) -> None:
    report = OutageReport("tail, Kafka at h:1")
    with caplog.at_level(logging.DEBUG, logger="fraudscore.kafka"):
        report(REFUSED)
    assert _warnings(caplog) == []
    assert report.last_error == REFUSED.str()


def test_the_start_check_names_a_silent_broker_and_the_cause_in_one_line() -> None:
    port = procs.free_ports(1)[0]
    servers = f"127.0.0.1:{port}"
    report = OutageReport("tail")
    consumer = Consumer(reporting({"bootstrap.servers": servers, "group.id": "g"}, report))
    try:
        with pytest.raises(ServiceUnavailableError) as caught:
            check_kafka(consumer, servers, timeout_s=1.0, report=report)
    finally:
        consumer.close()
    message = str(caught.value)
    assert message.startswith(f"Kafka at {servers} did not answer within 1 s (")
    assert "Connection refused" in message, "the cause, from the error callback"
    assert "\n" not in message


def test_the_start_check_names_every_missing_topic_and_arms_the_report(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    there = new_topic("present")
    report = OutageReport("scorer")
    admin = AdminClient(quiet({"bootstrap.servers": kafka_bootstrap}))
    check_kafka(admin, kafka_bootstrap, [there], report=report)
    assert report.armed, "a broker that answered arms the outage warnings"
    with pytest.raises(ServiceUnavailableError, match="topic\\(s\\) absent-a, absent-b missing on"):
        check_kafka(admin, kafka_bootstrap, [there, "absent-a", "absent-b"])


def test_a_real_client_reports_a_down_broker_once_and_keeps_librdkafka_quiet(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    port = procs.free_ports(1)[0]
    report = OutageReport(f"scorer, Kafka at 127.0.0.1:{port}")
    report.armed = True  # as after a start check: the broker went away later
    consumer = Consumer(
        reporting(
            {"bootstrap.servers": f"127.0.0.1:{port}", "group.id": "g", "reconnect.backoff.ms": 50}, report
        )
    )
    consumer.subscribe(["t"])
    try:
        with caplog.at_level(logging.DEBUG):
            deadline = time.monotonic() + 20
            # Errors and log lines are served by the client's poll: poll until several attempts failed.
            debug_lines = 0
            while time.monotonic() < deadline and debug_lines < 5:
                consumer.poll(0.2)
                debug_lines = sum(r.levelno == logging.DEBUG for r in caplog.records)
    finally:
        consumer.close()
    said = _warnings(caplog)
    assert len(said) == 1, said
    assert f"127.0.0.1:{port}" in said[0]
    assert debug_lines >= 5, "librdkafka's lines reach the debug log"
    assert "%3|" not in capfd.readouterr().err, "librdkafka printed nothing itself"
