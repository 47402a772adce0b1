"""The scorer's read-ahead on the real servers: the next batch is taken while Redis answers the current
one's read, yet a revocation then still finishes the batch in flight first, and a bounded run stops at
its count with what it read ahead left for the next run."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from scorer_support import (
    ScorerThread,
    assert_each_scored_once,
    committed_offsets,
    make_events,
    make_model,
    prediction_counts,
    read_topic,
    scorer_config,
    send_events,
    wait_for,
)

from consumer.scorer import Scorer
from fraudscore.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(test_settings: Settings, tmp_path: Path) -> Settings:
    make_model(tmp_path / "models")
    return test_settings.model_copy(update={"model_dir": tmp_path / "models", "max_wait_ms": 20})


class RevokeDuringReadAhead:
    """Runs the scorer's revoke callback inside its first `times` read-ahead consumes (timeout 0, a
    batch in flight), as librdkafka would on a rebalance, and notes what the callback left."""

    def __init__(self, runner: ScorerThread, times: int) -> None:
        self.scorer = runner.scorer
        self.real: Any = runner.scorer.consumer
        self.times = times
        self.seen: list[dict[str, Any]] = []

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[Any]:
        in_flight = self.scorer._in_flight
        if timeout == 0 and in_flight is not None and len(self.seen) < self.times:
            self.scorer._on_revoke(self.real, [])
            wanted = [TopicPartition(t, p) for (t, p) in in_flight.next_offsets]
            committed = {(tp.topic, tp.partition): tp.offset for tp in self.real.committed(wanted, 10)}
            self.seen.append(
                {
                    "finished": self.scorer._in_flight is None,
                    "committed": all(committed[k] >= o for k, o in in_flight.next_offsets.items()),
                }
            )
        return list(self.real.consume(num_messages, timeout))


def test_a_revocation_during_the_read_ahead_finishes_the_batch_in_flight_first(settings: Settings) -> None:
    events = make_events(4000, seed=21, cards=300)
    send_events(settings, events)
    runner = ScorerThread(scorer_config(settings, max_batch=100, max_events=len(events)))
    spy = RevokeDuringReadAhead(runner, times=3)
    runner.scorer.collector._consumer = spy
    with runner:
        wait_for(lambda: not runner.thread.is_alive(), 120, "the bounded run to end")
    assert spy.seen == [{"finished": True, "committed": True}] * 3, "each revoke finished and committed"
    assert read_ahead(runner.scorer) > 0, "batches were read ahead, not only collected"
    assert_each_scored_once(settings, events, "the loop did not score the batch the revoke had finished")


def test_a_bounded_run_stops_at_its_count_and_leaves_the_rest_uncommitted(settings: Settings) -> None:
    events = make_events(3000, seed=22, cards=300)
    send_events(settings, events)
    # 1,000 is no multiple of 150: the read-ahead must cut its last batch short as the loop does.
    with ScorerThread(scorer_config(settings, max_batch=150, max_events=1000)) as first:
        wait_for(lambda: not first.thread.is_alive(), 120, "the bounded run to end")
    assert first.scorer.summary.events == 1000
    assert read_ahead(first.scorer) > 0
    assert sum(max(o, 0) for o in committed_offsets(settings, settings.topic_transactions).values()) == 1000
    assert len(read_topic(settings, settings.topic_predictions, "prediction", 1000)) == 1000

    with ScorerThread(scorer_config(settings, until_idle_s=2.0)) as second:
        wait_for(lambda: not second.thread.is_alive(), 120, "the rest to be scored")
    assert_each_scored_once(settings, events, "the second run scored the rest, nothing twice")


def test_a_batch_read_ahead_when_the_scorer_stops_is_left_for_the_next_run(settings: Settings) -> None:
    events = make_events(3000, seed=23, cards=300)
    send_events(settings, events)
    runner = ScorerThread(scorer_config(settings, max_batch=100))
    scorer = runner.scorer
    dropped: list[int] = []

    def stop_with_a_batch_ahead(s: Scorer) -> None:
        if s._ahead is not None and not dropped:
            dropped.append(s._ahead.size)
            s.stop()

    def run() -> None:
        try:
            scorer.run(on_batch=stop_with_a_batch_ahead)
        except BaseException as exc:  # raised again when the runner exits
            runner.error = exc

    runner.thread = threading.Thread(target=run, daemon=True)
    with runner:
        wait_for(lambda: not runner.thread.is_alive(), 120, "the scorer to stop")
    assert dropped == [100]
    scored = scorer.summary.events
    assert sum(max(o, 0) for o in committed_offsets(settings, settings.topic_transactions).values()) == scored
    assert sum(prediction_counts(settings, scored).values()) == scored, "the batch ahead was not scored"

    with ScorerThread(scorer_config(settings, until_idle_s=2.0)) as second:
        wait_for(lambda: not second.thread.is_alive(), 120, "the rest to be scored")
    assert_each_scored_once(settings, events, "the next run scored the batch left ahead, once")


def read_ahead(scorer: Scorer) -> float:
    return scorer.metrics.registry.get_sample_value("fraudscore_read_ahead_batches_total") or 0.0
