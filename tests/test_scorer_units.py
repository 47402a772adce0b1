"""Unit tests of the scorer's stages with in-memory fakes (the real-server tests are in test_scorer*.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pytest
from confluent_kafka import KafkaError, KafkaException
from scorer_support import DAY_MS, START_MS, FakeMessage, make_events

from consumer.collect import BatchCollector
from consumer.commit import AtLeastOnce
from consumer.config import ScorerConfig, Topics
from consumer.decode import decode_batch
from consumer.feature_guard import MISSING_GROUPS, FeatureGuard
from consumer.kafka_config import consumer_config
from consumer.sink import OutputSink
from features.definition import FEATURE_NAMES
from features.exceptions import FeatureStoreError
from schemas import Codec, open_schema_source
from schemas.history import TransactionColumns


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def FRESH() -> float:  # noqa: N802 - a constant clock: FakeMessage stamps are 1.000 s + offset ms
    """A wall clock at which every FakeMessage is brand new (its stamp is in the future)."""
    return 0.0


class ScriptedConsumer:
    """Hands out pre-arranged message lists; each consume call advances the fake clock."""

    def __init__(self, script: list[list[int]], clock: FakeClock, step_s: float) -> None:
        self.script = script
        self.clock = clock
        self.step = step_s
        self.calls: list[tuple[int, float]] = []

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]:
        self.calls.append((num_messages, timeout))
        self.clock.now += self.step
        return [FakeMessage(b"x", i) for i in self.script.pop(0)] if self.script else []


def test_a_batch_closes_when_full() -> None:
    clock = FakeClock()
    consumer = ScriptedConsumer([[0], [1, 2, 3], [4, 5, 6, 7, 8]], clock, 0.001)
    collector = BatchCollector(
        consumer, max_batch=5, max_wait_s=1.0, idle_wait_s=0.5, clock=clock, wall=FRESH
    )
    batch = collector.collect()
    assert [m.offset() for m in batch] == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert consumer.calls[0] == (1, 0.5)  # the first wait asks for one message: it returns at once
    assert consumer.calls[1][0] == 4  # tops up only to the batch size
    assert consumer.calls[2][0] == 1


def test_a_batch_closes_when_its_first_message_waited_max_wait() -> None:
    clock = FakeClock()
    consumer = ScriptedConsumer([[0], [1], [2], [3]], clock, 0.03)
    collector = BatchCollector(
        consumer, max_batch=100, max_wait_s=0.05, idle_wait_s=0.5, clock=clock, wall=FRESH
    )
    batch = collector.collect()
    # The first message came at 0.03 s; top-ups at 0.06 and 0.09 s; at 0.09 s it had waited 0.06 s:
    # what is already fetched is still taken (no wait), and the batch closes when nothing is.
    assert [m.offset() for m in batch] == [0, 1, 2, 3]
    assert [timeout for _, timeout in consumer.calls[1:]] == pytest.approx([0.05, 0.02, 0.0, 0.0])
    assert collector.pending == []


def test_a_message_that_queued_while_the_last_batch_was_scored_does_not_wait_max_wait_again() -> None:
    clock = FakeClock()
    consumer = ScriptedConsumer([[0], [1], []], clock, 0.001)
    # FakeMessage 0 is stamped 1.000 s (epoch): by the wall clock it has waited 40 ms already.
    collector = BatchCollector(
        consumer, max_batch=100, max_wait_s=0.05, idle_wait_s=0.5, clock=clock, wall=lambda: 1.040
    )
    assert [m.offset() for m in collector.collect()] == [0, 1]
    assert consumer.calls[1][1] == pytest.approx(0.01)  # 50 ms budget, 40 spent before it was taken
    assert consumer.calls[2][1] == pytest.approx(0.009)
    late = ScriptedConsumer([[0], [1], []], clock, 0.001)
    old = BatchCollector(late, max_batch=100, max_wait_s=0.05, idle_wait_s=0.5, clock=clock, wall=lambda: 9.0)
    assert [m.offset() for m in old.collect()] == [0, 1]  # takes what is there, waits for nothing
    assert [timeout for _, timeout in late.calls[1:]] == pytest.approx([0.0, 0.0], abs=1e-9)


def test_a_read_ahead_takes_only_what_is_fetched_and_collect_tops_it_up_without_a_first_wait() -> None:
    clock = FakeClock()
    consumer = ScriptedConsumer([[0, 1], [2, 3, 4], [5]], clock, 0.001)
    collector = BatchCollector(
        consumer, max_batch=4, max_wait_s=0.05, idle_wait_s=0.5, clock=clock, wall=FRESH
    )
    assert not collector.gather_ready(4)  # two of four: the batch is not full, and stays gathered
    assert consumer.calls == [(4, 0)]  # never waits
    assert [m.offset() for m in collector.collect()] == [0, 1, 2, 3, 4]
    assert consumer.calls[1][0] == 2  # a top-up to the size; no wait for a first message (0.5 s)
    assert collector.gather_ready(1)  # one fetched message fills a batch of one
    assert [m.offset() for m in collector.take()] == [5]


@pytest.mark.parametrize(("max_wait_ms", "held_ms"), [(5, 5), (0, 1), (20, 20), (60_000, 500)])
def test_the_broker_holds_a_fetch_no_longer_than_a_batch_may_wait(max_wait_ms: int, held_ms: int) -> None:
    cfg = ScorerConfig(
        kafka={"bootstrap.servers": "127.0.0.1:9"},
        redis_url="redis://127.0.0.1:9",
        topics=Topics("tx", "pred", "alerts", "labels", "dlq"),
        group_id="g",
        model_dir=Path("models"),
        max_wait_ms=max_wait_ms,
    )
    conf = consumer_config(cfg)
    assert conf["fetch.wait.max.ms"] == held_ms
    assert conf["fetch.min.bytes"] > 1  # the broker gathers events for the wait instead of answering each


class RevokingConsumer(ScriptedConsumer):
    """Runs a rebalance callback inside chosen consume calls, as librdkafka does, before returning."""

    def __init__(self, script: list[list[int]], clock: FakeClock, revoke_in: set[int]) -> None:
        super().__init__(script, clock, 0.001)
        self.revoke_in = revoke_in
        self.on_revoke: Any = None

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]:
        if len(self.calls) in self.revoke_in:
            self.on_revoke()
        return super().consume(num_messages, timeout)


@pytest.mark.parametrize("revoke_in", [{0}, {1}, {0, 2}])
def test_messages_returned_by_the_consume_call_that_ran_a_revoke_are_not_lost(revoke_in: set[int]) -> None:
    """The zombie test's lost event: a revoke inside the first consume of a batch took the collector's
    list, and the messages that very call returned went into the list it had taken."""
    clock = FakeClock()
    consumer = RevokingConsumer([[0], [1, 2], [3], []], clock, revoke_in)
    collector = BatchCollector(
        consumer, max_batch=100, max_wait_s=1.0, idle_wait_s=0.5, clock=clock, wall=FRESH
    )
    handled: list[list[int]] = []  # what the scorer's revoke callback processed
    consumer.on_revoke = lambda: handled.append([m.offset() for m in collector.take()])
    batches = [[m.offset() for m in collector.collect()]]
    while batches[-1]:
        batches.append([m.offset() for m in collector.collect()])
    seen = sorted(o for part in handled + batches for o in part)
    assert seen == [0, 1, 2, 3]  # each message handed out once: in a batch or to the revoke


def test_decode_sorts_good_bad_and_labels_and_counts_every_offset() -> None:
    source = open_schema_source(None)
    tx_codec, label_codec = Codec("transaction", source), Codec("label", source)
    events = make_events(3, seed=5)
    label = {
        "event_id": "x",
        "card_id": "C1",
        "terminal_id": "T1",
        "event_time": START_MS,
        "label_time": START_MS + 7 * DAY_MS,
        "is_fraud": True,
        "fraud_scenario": 1,
    }
    messages = [
        FakeMessage(tx_codec.encode(events[2]), 10),
        FakeMessage(b"junk", 11),
        FakeMessage(tx_codec.encode(events[0]), 12),
        FakeMessage(label_codec.encode(label), 4, _topic="labels"),
        FakeMessage(tx_codec.encode({**events[1], "amount": float("nan")}), 13),
    ]
    batch = decode_batch(messages, tx_codec, label_codec, "tx")
    assert list(batch.transactions.event_id) == [events[0]["event_id"], events[2]["event_id"]]
    assert list(batch.arrived_ms) == [1_012, 1_010]  # timestamps follow the event-time order
    assert batch.labels is not None
    assert list(batch.labels.is_fraud) == [1]
    assert [(d.offset, d.stage) for d in batch.dead_letters] == [(11, "decode"), (13, "validate")]
    assert batch.dead_letters[0].value == b"junk"
    assert batch.next_offsets == {("tx", 0): 14, ("labels", 0): 5}


class FlakyStore:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.recorded: list[str] = []
        self.sent: list[str] = []  # sent, Redis's answer not yet read
        self.fetched: list[list[str]] = []
        self.started = 0

    def _maybe_fail(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise FeatureStoreError("redis down")

    def start_read(self, tx: TransactionColumns) -> None:
        self._maybe_fail()
        self.started += 1

    def read(self, tx: TransactionColumns, on_fetched: Callable[[], None] | None = None) -> np.ndarray:
        self._maybe_fail()
        self.fetched.append(list(self.sent))  # what was sent when the state came back
        if on_fetched is not None:
            on_fetched()
        return np.ones((len(tx), len(FEATURE_NAMES)), dtype=np.float32)

    def send_transactions(self, tx: TransactionColumns) -> None:
        self._maybe_fail()
        self.sent.extend(tx.event_id.tolist())

    def send_labels(self, labels: TransactionColumns) -> None:
        self._maybe_fail()

    def confirm(self) -> None:
        sent, self.sent = self.sent, []
        self._maybe_fail()  # the connection died before the answer: nothing sent counts as applied
        self.recorded.extend(sent)


def guard_over_flaky_store(
    mode: Literal["score-missing", "pause"] = "score-missing",
) -> tuple[FeatureGuard, FlakyStore, FakeClock]:
    """A guard with a 0.5 s budget over a store that answers until a test sets its `failures`."""
    clock = FakeClock()
    store = FlakyStore(failures=0)
    return FeatureGuard(store, 0.5, mode, lambda: False, clock=clock, sleep=clock.sleep), store, clock


def _tx(n: int, seed: int) -> TransactionColumns:
    from schemas.history import from_records

    return from_records(make_events(n, seed=seed))


def test_reads_retry_within_the_budget_then_score_with_features_missing() -> None:
    clock = FakeClock()
    errors: list[int] = []
    guard = FeatureGuard(
        FlakyStore(failures=100),
        1.0,
        "score-missing",
        lambda: False,
        on_error=lambda: errors.append(1),
        clock=clock,
        sleep=clock.sleep,
    )
    matrix, missing = guard.read_then_record(_tx(4, 1), None)
    assert missing == MISSING_GROUPS
    assert np.isnan(matrix[:, 3:]).all()
    assert not np.isnan(matrix[:, :3]).any()
    assert 0.5 <= clock.now <= 1.0  # retried, and never past the budget
    assert len(errors) >= 3
    assert guard.degraded


def test_a_batch_update_is_sent_once_its_state_is_fetched_and_also_when_it_cannot_be() -> None:
    guard, store, _ = guard_over_flaky_store()
    batch = _tx(3, 1)
    guard.read_then_record(batch, None)
    assert store.fetched == [[]], "the state was read before the batch's update went out"
    assert store.sent == batch.event_id.tolist(), "sent right after, its answer read later"
    guard.wait()
    assert store.recorded == batch.event_id.tolist()
    store.failures = 10**6  # Redis down: no state, the update queued all the same
    second = _tx(2, 2)
    _, missing = guard.read_then_record(second, None)
    assert missing == MISSING_GROUPS
    assert guard.pending_events == 2


def test_a_read_started_early_that_fails_is_retried_and_none_starts_before_queued_updates() -> None:
    errors: list[int] = []
    clock = FakeClock()
    store = FlakyStore(failures=1)
    guard = FeatureGuard(store, 0.5, "score-missing", lambda: False, lambda: errors.append(1), clock=clock)
    batch = _tx(3, 1)
    guard.start_read(batch)  # Redis refuses the early send: only the head start is lost
    assert store.started == 0
    assert errors == [], "counted only if the read itself fails (it would count it again)"
    matrix, missing = guard.read_then_record(batch, None)
    assert missing == ()
    assert matrix.shape == (3, len(FEATURE_NAMES))
    assert store.sent == batch.event_id.tolist()
    store.failures = 2  # the answer to that write is lost, and Redis refuses its replay: queued
    guard.wait()
    assert guard.backlogged
    guard.start_read(_tx(2, 2))
    assert store.started == 0, "a read must not pass the queued updates"


def test_a_short_outage_within_the_budget_is_invisible() -> None:
    clock = FakeClock()
    guard = FeatureGuard(
        FlakyStore(failures=2), 1.0, "score-missing", lambda: False, clock=clock, sleep=clock.sleep
    )
    matrix, missing = guard.read_then_record(_tx(4, 1), None)
    assert missing == ()
    assert (matrix == 1).all()


def test_failed_writes_are_kept_and_replayed_in_order_when_redis_is_back() -> None:
    guard, store, _ = guard_over_flaky_store()
    first, second = _tx(3, 1), _tx(2, 2)
    store.failures = 10**6
    guard.record(first, None)
    guard.record(second, None)
    guard.wait()
    assert guard.backlogged is True
    assert guard.pending_events == 5
    assert store.recorded == []
    store.failures = 0
    assert guard.flush_pending()
    assert getattr(guard, "backlogged") is False  # noqa: B009 - a fresh read, not the narrowed one
    assert store.recorded == first.event_id.tolist() + second.event_id.tolist()
    assert guard.pending_events == 0


def test_a_write_whose_answer_is_lost_is_replayed_and_recorded_once() -> None:
    guard, store, _ = guard_over_flaky_store()
    batch = _tx(3, 1)
    guard.record(batch, None)
    assert store.recorded == []  # sent; the answer is read by the next `wait`
    store.failures = 1  # the connection dies before the answer
    guard.wait()
    assert store.recorded == batch.event_id.tolist()
    assert guard.pending_events == 0
    assert not guard.backlogged


def test_pause_mode_waits_for_redis_instead_of_scoring_without_features() -> None:
    clock = FakeClock()
    guard = FeatureGuard(FlakyStore(failures=40), 0.1, "pause", lambda: False, clock=clock, sleep=clock.sleep)
    matrix, missing = guard.read_then_record(_tx(2, 1), None)
    assert missing == ()
    assert (matrix == 1).all()
    assert clock.now > 0.1  # it waited past the budget rather than giving up


def test_a_read_once_redis_is_back_applies_the_queued_updates_first() -> None:
    guard, store, _ = guard_over_flaky_store("pause")
    earlier = _tx(3, 1)
    store.failures = 10**6
    guard.record(earlier, None)
    guard.wait()
    assert guard.pending_events == 3, "Redis down: the update is queued"
    seen_at_read: list[list[str]] = []
    real_read = store.read

    def read_and_note(tx: TransactionColumns, on_fetched: Callable[[], None] | None = None) -> np.ndarray:
        seen_at_read.append(list(store.recorded))
        return real_read(tx, on_fetched)

    store.read = read_and_note  # type: ignore[method-assign]
    store.failures = 30  # back after a while: the read waits (pause), then replays, then reads
    _, missing = guard.read_then_record(_tx(2, 2), None)
    assert missing == ()
    assert seen_at_read[-1] == earlier.event_id.tolist(), "the read saw the earlier batch's updates"
    assert not guard.backlogged
    assert guard.pending_events == 0


def test_pause_mode_gives_up_only_when_asked_to_stop() -> None:
    clock = FakeClock()
    guard = FeatureGuard(
        FlakyStore(failures=10**6), 0.1, "pause", lambda: clock.now > 5, clock=clock, sleep=clock.sleep
    )
    with pytest.raises(FeatureStoreError):
        guard.read_then_record(_tx(2, 1), None)


class RecordingConsumer:
    def __init__(self) -> None:
        self.stored: list[list[tuple[str, int, int]]] = []

    def store_offsets(self, offsets: list[Any]) -> None:
        self.stored.append([(tp.topic, tp.partition, tp.offset) for tp in offsets])


class ConfirmingSink:
    def __init__(self) -> None:
        self.confirms = 0

    def confirm(self) -> None:
        self.confirms += 1


def test_at_least_once_holds_offsets_while_feature_writes_are_queued() -> None:
    consumer, sink = RecordingConsumer(), ConfirmingSink()
    queued = [False]
    commit = AtLeastOnce(cast(Any, consumer), cast(Any, sink), writes_queued=lambda: queued[0])
    commit.finish({("tx", 0): 10}, {("tx", 0): 0})
    queued[0] = True  # Redis went down: the batch's feature write is only in memory
    commit.begin()
    commit.finish({("tx", 0): 20}, {("tx", 0): 10})
    commit.idle()
    assert consumer.stored == []  # outputs confirmed, offsets held
    assert sink.confirms == 2
    queued[0] = False  # the queue was replayed
    commit.begin()
    assert consumer.stored == [[("tx", 0, 20)]]


def test_a_guard_closing_with_redis_down_keeps_the_updates_it_could_not_apply() -> None:
    guard, store, clock = guard_over_flaky_store()
    guard.record(_tx(3, 1), None)
    assert guard.pending_events == 0  # in flight is not queued
    store.failures = 10**6
    guard.close()
    assert guard.backlogged
    assert guard.pending_events == 3
    assert clock.now >= 0.5  # it tried for the budget before giving up


class FullQueueProducer:
    """Refuses a produce with BufferError (librdkafka's local queue is full) at chosen calls."""

    def __init__(self, full_at: set[int]) -> None:
        self.full_at = full_at
        self.calls = 0
        self.polls = 0
        self.produced: list[tuple[str, bytes, bytes]] = []

    def produce(self, topic: str, value: bytes, key: bytes) -> None:
        self.calls += 1
        if self.calls in self.full_at:
            raise BufferError("queue full")
        self.produced.append((topic, key, value))

    def poll(self, timeout: float) -> int:
        self.polls += 1
        return 0


def test_send_many_produces_every_output_once_in_order_through_a_full_queue() -> None:
    producer = FullQueueProducer(full_at={3, 4, 9})
    sink = OutputSink({}, make_producer=lambda _conf: producer)
    keys = [f"k{i}".encode() for i in range(8)]
    values = [f"v{i}".encode() for i in range(8)]
    sink.send_many("out", keys, values)
    assert producer.produced == [("out", k, v) for k, v in zip(keys, values, strict=True)]
    assert producer.polls == 3, "each refusal waits for deliveries before trying again"
    assert sink.sent == 8
    with pytest.raises(ValueError, match="2 keys for 1 values"):
        sink.send_many("out", keys[:2], values[:1])


def test_close_releases_the_producer_without_waiting_for_an_unreachable_broker() -> None:
    # Port 1 refuses connections: the output can never be acknowledged.
    sink = OutputSink({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 600_000})
    sink.send("out", b"k", b"v")
    closing = threading.Thread(target=sink.close, kwargs={"timeout_s": 0.2}, daemon=True)
    closing.start()
    closing.join(30)  # a hang guard, not a speed check: an unbounded close never returns here
    assert not closing.is_alive(), "an unacknowledged output held the close"
    with pytest.raises(RuntimeError, match="closed"):
        sink.send("out", b"k", b"v")


class FatalProducer:
    def __init__(self) -> None:
        self.closed = False

    def flush(self, timeout: float) -> int:
        raise KafkaException(KafkaError(KafkaError._FENCED, "fenced", fatal=True))

    def close(self) -> bool:
        self.closed = True
        return True


def test_close_of_a_fenced_producer_releases_it_without_raising() -> None:
    producer = FatalProducer()
    OutputSink({}, make_producer=lambda _conf: producer).close()
    assert producer.closed
