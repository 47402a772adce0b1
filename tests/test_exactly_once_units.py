"""The exactly-once strategy's decisions, with a fake producer and consumer (retry, abort and rewind,
the poison cap, fencing, the zombie check). The real-broker tests are test_exactly_once*.py."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from consumer.exactly_once import ExactlyOnce
from consumer.exceptions import FencedError, ScorerError

TIMED_OUT = KafkaError(KafkaError._TIMED_OUT, "timed out", retriable=True)
ABORTABLE = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "too large", txn_requires_abort=True)
FENCED = KafkaError(KafkaError._FENCED, "fenced", fatal=True)


class FakeProducer:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: dict[str, list[KafkaError]] = {}  # call -> errors to raise, one per call
        self.offsets: list[list[TopicPartition]] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.fail.get(name):
            raise KafkaException(self.fail[name].pop(0))

    def init_transactions(self, _timeout: float) -> None:
        self._call("init")

    def begin_transaction(self) -> None:
        self._call("begin")

    def send_offsets_to_transaction(self, offsets: list[TopicPartition], _group: Any, _t: float) -> None:
        self._call("offsets")
        self.offsets.append(offsets)

    def commit_transaction(self, _timeout: float) -> None:
        self._call("commit")

    def abort_transaction(self, _timeout: float) -> None:
        self._call("abort")


class FakeConsumer:
    def __init__(self) -> None:
        self.owned: list[TopicPartition] = []
        self.committed_at: dict[tuple[str, int], int] = {}
        self.sought: list[tuple[str, int, int]] = []
        self.lost: set[tuple[str, int]] = set()

    def consumer_group_metadata(self) -> object:
        return object()

    def seek(self, tp: TopicPartition) -> None:
        if (tp.topic, tp.partition) in self.lost:
            raise KafkaException(KafkaError(KafkaError._STATE, "not assigned"))
        self.sought.append((tp.topic, tp.partition, tp.offset))

    def assignment(self) -> list[TopicPartition]:
        return self.owned

    def committed(self, parts: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [
            TopicPartition(p.topic, p.partition, self.committed_at.get((p.topic, p.partition), -1001))
            for p in parts
        ]

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float) -> tuple[int, int]:
        return 7, 100


class FakeSink:
    def __init__(self, producer: FakeProducer) -> None:
        self.producer = producer

    def forget_failures(self) -> None:
        return


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 10.0  # every look at the clock is 10 s later: retries run out quickly
        return self.now


def strategy(retry_s: float = 1000.0) -> tuple[ExactlyOnce, FakeProducer, FakeConsumer]:
    producer, consumer = FakeProducer(), FakeConsumer()
    eos = ExactlyOnce(consumer, FakeSink(producer), retry_s=retry_s, max_aborts=3, clock=Clock())  # type: ignore[arg-type]
    producer.calls.clear()
    return eos, producer, consumer


def run_batch(eos: ExactlyOnce) -> bool:
    eos.begin()
    return eos.finish({("tx", 0): 50}, {("tx", 0): 40})


def test_a_commit_that_times_out_is_retried_until_it_goes_through() -> None:
    eos, producer, _ = strategy()
    producer.fail["commit"] = [TIMED_OUT, TIMED_OUT]
    assert run_batch(eos)
    assert producer.calls == ["begin", "offsets", "commit", "commit", "commit"]


def test_a_commit_that_keeps_timing_out_stops_the_scorer_past_the_retry_budget() -> None:
    eos, producer, _ = strategy(retry_s=25.0)
    producer.fail["commit"] = [TIMED_OUT] * 10
    with pytest.raises(ScorerError, match="commit_transaction still failing"):
        run_batch(eos)


def test_an_abortable_error_aborts_and_rewinds_to_the_first_offsets() -> None:
    eos, producer, consumer = strategy()
    producer.fail["commit"] = [ABORTABLE]
    assert not run_batch(eos)
    assert producer.calls[-1] == "abort"
    assert consumer.sought == [("tx", 0, 40)]
    assert run_batch(eos), "the batch goes through on the next attempt"


def test_a_batch_rolled_back_max_aborts_times_in_a_row_stops_the_scorer() -> None:
    eos, producer, _ = strategy()
    producer.fail["offsets"] = [ABORTABLE] * 2
    assert not run_batch(eos)
    assert not run_batch(eos)
    assert run_batch(eos), "a success resets the count"
    producer.fail["offsets"] = [ABORTABLE] * 3
    assert not run_batch(eos)
    assert not run_batch(eos)
    with pytest.raises(ScorerError, match="rolled back 3 times in a row"):
        run_batch(eos)


def test_a_rewind_of_a_partition_no_longer_owned_is_skipped() -> None:
    eos, producer, consumer = strategy()
    consumer.lost = {("tx", 0)}
    producer.fail["commit"] = [ABORTABLE]
    assert not run_batch(eos)
    assert consumer.sought == []


def test_a_fenced_commit_raises_fenced_and_close_does_not_abort_again() -> None:
    eos, producer, _ = strategy()
    producer.fail["commit"] = [FENCED]
    with pytest.raises(FencedError):
        run_batch(eos)
    eos.close()
    assert "abort" not in producer.calls


def test_idle_checks_nothing_until_the_group_dropped_the_member() -> None:
    eos, producer, consumer = strategy()
    consumer.owned = [TopicPartition("labels", 0)]
    eos.idle()
    assert producer.calls == []


def test_after_a_lost_session_idle_commits_the_owned_offsets_unchanged_once() -> None:
    eos, producer, consumer = strategy()
    eos.lost()
    eos.idle()
    assert producer.calls == [], "nothing owned yet: nothing to check with"
    consumer.owned = [TopicPartition("labels", 0), TopicPartition("tx", 1)]
    consumer.committed_at = {("tx", 1): 42}
    eos.idle()
    assert producer.calls == ["begin", "offsets", "commit"]
    sent = {(tp.topic, tp.partition): tp.offset for tp in producer.offsets[-1]}
    assert sent == {("labels", 0): 7, ("tx", 1): 42}, "committed offsets, or the earliest where none"
    eos.idle()
    assert producer.calls == ["begin", "offsets", "commit"], "checked once"


def test_a_zombie_learns_at_its_first_idle_moment_that_it_was_fenced() -> None:
    eos, producer, consumer = strategy()
    consumer.owned = [TopicPartition("labels", 0)]
    eos.lost()
    producer.fail["offsets"] = [FENCED]
    with pytest.raises(FencedError):
        eos.idle()


def test_a_batch_whose_feature_writes_are_only_queued_is_rolled_back_not_committed() -> None:
    producer, consumer = FakeProducer(), FakeConsumer()
    queued = [True]  # Redis is down: the batch's feature updates are only in memory
    eos = ExactlyOnce(
        consumer,  # type: ignore[arg-type]
        FakeSink(producer),  # type: ignore[arg-type]
        max_aborts=3,
        clock=Clock(),
        writes_queued=lambda: queued[0],
    )
    producer.calls.clear()
    for _ in range(5):  # more than max_aborts: waiting for Redis is not a poison batch
        assert not run_batch(eos)
    assert "offsets" not in producer.calls
    assert "commit" not in producer.calls
    assert producer.calls.count("abort") == 5
    assert consumer.sought == [("tx", 0, 40)] * 5, "rewound: the batch is consumed again"
    queued[0] = False  # Redis back, the queue replayed
    assert run_batch(eos)
    assert producer.calls[-2:] == ["offsets", "commit"]
