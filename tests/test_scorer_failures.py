"""The scorer under stops, rebalances and a Redis outage, on the real servers: nothing is lost."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from pydantic import SecretStr
from scorer_support import (
    ScorerThread,
    assert_each_scored_once,
    committed_offsets,
    make_events,
    make_model,
    positions,
    prediction_counts,
    read_topic,
    scorer_config,
    send_events,
    start_scorer_process,
    stop_scorer_process,
    topic_count,
    wait_for,
)

from fraudscore.settings import Settings
from fraudscore.stack import procs, redis_server

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(test_settings: Settings, tmp_path: Path, redis_client: redis.Redis[bytes]) -> Settings:
    make_model(tmp_path / "models")
    return test_settings.model_copy(update={"model_dir": tmp_path / "models", "max_wait_ms": 20})


def test_sigterm_mid_stream_finishes_the_batch_commits_and_a_restart_loses_nothing(
    settings: Settings,
) -> None:
    events = make_events(20_000, seed=11, cards=500)
    send_events(settings, events)
    first = start_scorer_process(settings, "--max-batch", "200")
    try:
        wait_for(lambda: topic_count(settings, settings.topic_predictions) >= 3000, 90, "3,000 predictions")
    finally:
        rc = stop_scorer_process(first)
    assert rc == 0, first.stderr.read() if first.stderr else ""

    committed = committed_offsets(settings, settings.topic_transactions)
    where = positions(settings, settings.topic_transactions, "transaction", len(events))
    scored = {p["event_id"] for p in read_topic(settings, settings.topic_predictions, "prediction", 1)}
    below = [e for e, (part, off) in where.items() if off < committed[part]]
    assert len(below) >= 3000, "the stop committed the work it had finished"
    assert set(below) <= scored, "every event below the committed offset has its prediction"
    assert len(scored) == len(below), "the batch in hand was finished and committed, not left half done"

    second = start_scorer_process(settings, "--until-idle", "3")
    assert second.wait(120) == 0
    assert_each_scored_once(settings, events, "a clean stop leaves nothing to score twice")


def test_a_rebalance_between_two_scorers_hands_partitions_over_without_loss(settings: Settings) -> None:
    events = make_events(20_000, seed=12, cards=500)
    send_events(settings, events)
    a = start_scorer_process(settings, "--max-batch", "100")
    b = None
    try:
        wait_for(lambda: topic_count(settings, settings.topic_predictions) >= 2000, 90, "A scoring")
        b = start_scorer_process(settings, "--max-batch", "100", "--until-idle", "5")
        wait_for(lambda: topic_count(settings, settings.topic_predictions) >= 8000, 90, "both scoring")
    finally:
        assert stop_scorer_process(a) == 0
    assert b is not None
    assert b.wait(120) == 0, b.stderr.read() if b.stderr else ""
    counts = prediction_counts(settings, len(events))
    assert set(counts) == {e["event_id"] for e in events}, "no event lost across the handovers"
    duplicates = sum(c - 1 for c in counts.values())
    print(f"duplicates across two rebalances: {duplicates}")
    assert duplicates == 0, "revoked partitions are finished and committed before they move"


def test_redis_stopped_and_restarted_mid_stream_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    port = procs.free_ports(1)[0]
    root = tmp_path / "own-redis"
    url = redis_server.url(port)
    server = redis_server.start("redis-server", port, root, die_with_parent=True)
    wait_for(lambda: redis_server.ping(url), 20, "our Redis")
    own = settings.model_copy(update={"redis_url": SecretStr(url)})
    cfg = scorer_config(own, redis_retry_budget_ms=300)
    before, during, after = (make_events(600, seed=s, prefix=p) for s, p in ((21, "a"), (22, "b"), (23, "c")))
    try:
        with ScorerThread(cfg) as running:
            s = running.scorer
            send_events(own, before)
            wait_for(lambda: s.summary.predictions >= 600, 60, "scoring with Redis up")
            procs.stop(server.pid, redis_server.home(root))
            send_events(own, during)
            wait_for(lambda: s.summary.predictions >= 1200, 90, "scoring with Redis down")
            assert s.features.pending_events > 0, "the updates Redis missed are kept"
            server = redis_server.start("redis-server", port, root, die_with_parent=True)
            wait_for(lambda: redis_server.ping(url), 20, "Redis back")
            send_events(own, after)
            wait_for(lambda: s.summary.predictions >= 1800, 60, "scoring after recovery")
            wait_for(lambda: s.features.pending_events == 0, 30, "queued updates replayed")
    finally:
        procs.stop(server.pid, redis_server.home(root))

    predictions = {p["event_id"]: p for p in read_topic(own, own.topic_predictions, "prediction", 1800)}
    assert set(predictions) == {e["event_id"] for e in before + during + after}
    assert all(predictions[e["event_id"]]["features_missing"] == [] for e in before + after)
    assert all(predictions[e["event_id"]]["features_missing"] == ["card", "terminal"] for e in during)
