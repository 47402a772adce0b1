"""`fraudscore produce` and the upstream API against the real broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer

from fraudscore.cli import main
from fraudscore.settings import Settings
from producer.api import TransactionProducer
from producer.exceptions import BrokerUnavailableError, InvalidTransactionError
from producer.labels import DAY_MS
from schemas import Codec, DecodeError, open_schema_source
from schemas.validation import validate_transaction

pytestmark = pytest.mark.integration
SOURCE = open_schema_source(None)
TX, LABEL = Codec("transaction", SOURCE), Codec("label", SOURCE)
POPULATION = ["--customers", "100", "--terminals", "200"]


def _flags(s: Settings) -> list[str]:
    return [
        "--bootstrap-servers",
        s.kafka_bootstrap_servers,
        "--topic-transactions",
        s.topic_transactions,
        "--topic-labels",
        s.topic_labels,
    ]


def _consume(bootstrap: str, topic: str, expected: int, timeout_s: float = 60.0) -> list[Any]:
    """Every message of `topic` until `expected` have come (bounded by a deadline)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                assert msg.error() is None, msg.error()
                got.append(msg)
    finally:
        consumer.close()
    return got


def _produce_json(settings: Settings, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = main([*_flags(settings), "produce", *POPULATION, "--json", *args])
    out = capsys.readouterr().out.strip().splitlines()[-1]
    return code, json.loads(out)


def test_events_decode_and_are_keyed_by_card_and_labels_follow_their_delay(
    test_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, summary = _produce_json(
        test_settings,
        "--count",
        "1500",
        "--rate",
        "0",
        "--label-delay-days",
        "1",
        "--seed",
        "5",
        capsys=capsys,
    )
    assert code == 0
    assert summary["sent"] == summary["delivered"] == 1500
    assert summary["failed"] == 0
    events = _consume(test_settings.kafka_bootstrap_servers, test_settings.topic_transactions, 1500)
    assert len(events) == 1500
    records = [TX.decode(m.value()) for m in events]
    assert all(m.key() == r["card_id"].encode() for m, r in zip(events, records, strict=True))
    assert all(validate_transaction(r) is None for r in records)
    assert len({r["event_id"] for r in records}) == 1500
    newest = max(r["event_time"] for r in records)

    n_labels = summary["labels_sent"]
    assert n_labels > 0
    assert summary["labels_delivered"] == n_labels
    labels = [
        LABEL.decode(m.value())
        for m in _consume(test_settings.kafka_bootstrap_servers, test_settings.topic_labels, n_labels)
    ]
    assert len(labels) == n_labels
    by_id = {r["event_id"]: r for r in records}
    for label in labels:
        event = by_id[label["event_id"]]
        assert label["card_id"] == event["card_id"]
        assert label["label_time"] == event["event_time"] + DAY_MS
        assert label["label_time"] <= newest  # released only once the simulated clock passed it
    due = [r for r in records if r["event_time"] + DAY_MS <= newest]
    assert len(labels) == len(due)  # every label that was due went out, and no other


def test_bad_fraction_sends_every_kind_and_each_is_rejected(
    test_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, summary = _produce_json(
        test_settings, "--count", "1200", "--rate", "0", "--bad-fraction", "0.3", capsys=capsys
    )
    assert code == 0
    assert summary["delivered"] == 1200
    assert len(summary["bad_by_kind"]) == 12
    rejected = 0
    for msg in _consume(test_settings.kafka_bootstrap_servers, test_settings.topic_transactions, 1200):
        try:
            reason = validate_transaction(TX.decode(msg.value()))
        except DecodeError:
            reason = "undecodable"
        rejected += reason is not None
    assert rejected == summary["bad_injected"]


def test_a_fixed_rate_holds_within_five_percent_over_30_s(
    test_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, summary = _produce_json(test_settings, "--duration", "30", "--rate", "2000", capsys=capsys)
    assert code == 0
    assert summary["failed"] == 0
    assert abs(summary["rate_achieved"] - 2000) <= 100
    assert abs(summary["delivered"] - 60_000) <= 3_000
    assert summary["elapsed_s"] >= 29.9


def test_missing_broker_is_one_line_not_a_hang(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    code = main(["--bootstrap-servers", "127.0.0.1:9", "produce", "--count", "5", "--connect-timeout", "2"])
    err = capsys.readouterr().err
    assert code != 0
    assert time.monotonic() - started < 20
    assert err.strip().count("\n") == 0
    assert "did not answer" in err


def test_missing_topic_is_one_line(test_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    flags = _flags(test_settings)
    flags[flags.index("--topic-transactions") + 1] = "no-such-topic-here"
    assert main([*flags, "produce", "--count", "5"]) != 0
    assert "no-such-topic-here" in capsys.readouterr().err


def test_ctrl_c_flushes_and_prints_the_summary(test_settings: Settings) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fraudscore.cli",
            *_flags(test_settings),
            "produce",
            *POPULATION,
            "--rate",
            "500",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the first progress line: the stream is running
    assert line.startswith("sent ")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["interrupted"] is True
    assert summary["sent"] > 0
    assert summary["delivered"] == summary["sent"]
    assert "Traceback" not in err


def test_upstream_api_validates_encodes_and_keys(test_settings: Settings) -> None:
    with TransactionProducer(
        test_settings.kafka_bootstrap_servers,
        transactions_topic=test_settings.topic_transactions,
        labels_topic=test_settings.topic_labels,
    ) as tp:
        tp.check(timeout_s=10)
        tp.send_transaction(
            event_id="up-1",
            event_time=1_717_000_000_000,
            card_id="C000042",
            terminal_id="T000007",
            amount=42.5,
        )
        with pytest.raises(InvalidTransactionError, match="NaN"):
            tp.send_transaction(
                event_id="up-2",
                event_time=1_717_000_000_000,
                card_id="C000042",
                terminal_id="T000007",
                amount=float("nan"),
            )
        tp.send_label(
            event_id="up-1",
            card_id="C000042",
            terminal_id="T000007",
            event_time=1_717_000_000_000,
            label_time=1_717_600_000_000,
            is_fraud=True,
        )
    assert tp.stats.total_failed == 0
    assert tp.stats.delivered[test_settings.topic_transactions] == 1
    [msg] = _consume(test_settings.kafka_bootstrap_servers, test_settings.topic_transactions, 1)
    assert msg.key() == b"C000042"
    assert TX.decode(msg.value())["amount"] == 42.5
    [label] = _consume(test_settings.kafka_bootstrap_servers, test_settings.topic_labels, 1)
    assert LABEL.decode(label.value())["is_fraud"] is True


def test_upstream_api_without_broker_is_a_bounded_error() -> None:
    tp = TransactionProducer("127.0.0.1:9")
    with pytest.raises(BrokerUnavailableError):
        tp.check(timeout_s=1)
