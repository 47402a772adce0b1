"""Exactly-once through a broker outage and past a paused (zombie) scorer, on the 3-broker cluster."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from delivery_support import (
    Sender,
    assert_exactly_once,
    caught_up,
    cluster_settings,
    ensure_all_brokers,
    grown_by,
    make_stream,
    read_outputs,
    redis_db,
)
from scorer_support import make_model, start_scorer_process, stop_scorer_process, wait_for

from fraudscore.settings import Settings
from fraudscore.stack import local

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

BROKER_DB, ZOMBIE_DB = 4, 5
TRANSACTION_TIMEOUT_S = 10.0  # ScorerConfig.transaction_timeout_ms


@pytest.fixture
def make_settings(
    kafka_cluster3: local.StackState, redis_url: str, tmp_path: Path
) -> Callable[[int], Settings]:
    """Settings on the cluster with fresh topics, their features in Redis database `db`."""
    ensure_all_brokers(kafka_cluster3)
    make_model(tmp_path / "models")

    def make(db: int) -> Settings:
        url = redis_db(redis_url, db)
        return cluster_settings(kafka_cluster3, url, tmp_path / "models", tmp_path / "run")

    return make


def group_coordinator(settings: Settings) -> int:
    admin = AdminClient(settings.kafka_common())
    group = admin.describe_consumer_groups([settings.group_id])[settings.group_id].result(timeout=10)
    return int(group.coordinator.id)


def test_a_broker_stopped_and_restarted_mid_stream_loses_nothing(
    kafka_cluster3: local.StackState, make_settings: Callable[[int], Settings], tmp_path: Path
) -> None:
    settings = make_settings(BROKER_DB)
    stream = make_stream(20_000, bad_per_kind=2, seed=31)
    log = tmp_path / "scorer.log"
    scorer = start_scorer_process(settings, "--guarantee", "exactly-once", output=log)
    sender = Sender(settings, stream.messages, chunks=40, pause_s=0.5)
    try:
        wait_for(grown_by(settings, 2000), 90, "scoring with three brokers")
        # The group's coordinator: its loss moves the consumer group and the transactional offsets.
        broker = f"kafka-{group_coordinator(settings)}"
        assert local.stop_process(kafka_cluster3, broker)
        wait_for(grown_by(settings, 3000), 120, f"scoring with {broker} down")
        assert local.start_process(kafka_cluster3, broker, die_with_parent=True)
        sender.join()
        wait_for(lambda: caught_up(settings) or scorer.poll() is not None, 180, "caught up", 0.5)
    finally:
        code = stop_scorer_process(scorer)
    assert code == 0, f"the scorer survives the outage:\n{log.read_text()[-3000:]}"
    assert_exactly_once(read_outputs(settings, stream), stream)


def test_a_paused_scorer_is_fenced_by_its_replacement_and_nothing_is_duplicated(
    make_settings: Callable[[int], Settings], tmp_path: Path
) -> None:
    settings = make_settings(ZOMBIE_DB)
    stream = make_stream(20_000, bad_per_kind=2, seed=41)
    args = ["--guarantee", "exactly-once", "--transactional-id", f"{settings.group_id}-member-0"]
    zombie_log, log = tmp_path / "zombie.log", tmp_path / "scorer.log"
    sender = Sender(settings, stream.messages, chunks=60, pause_s=0.5)  # flows past the zombie's return
    zombie = start_scorer_process(settings, *args, output=zombie_log)
    replacement = None
    try:
        wait_for(grown_by(settings, 2000), 90, "the first scorer scoring")
        zombie.send_signal(signal.SIGSTOP)
        paused = time.monotonic()
        replacement = start_scorer_process(settings, *args, output=log)
        wait_for(grown_by(settings, 2000), 90, "the replacement scoring")
        wait_for(lambda: time.monotonic() - paused > TRANSACTION_TIMEOUT_S + 2, 30, "the transaction timeout")
        zombie.send_signal(signal.SIGCONT)
        zombie_code = zombie.wait(90)
        sender.join()
        wait_for(lambda: caught_up(settings) or replacement.poll() is not None, 180, "caught up", 0.5)
    finally:
        zombie.kill()
        zombie.wait()
        code = stop_scorer_process(replacement) if replacement is not None else None
    said = zombie_log.read_text()
    assert zombie_code == 3, f"the zombie exits as fenced (3), not {zombie_code}:\n{said[-3000:]}"
    assert "fenced" in said, said[-3000:]
    assert "Traceback" not in said, "one line, no traceback"
    assert code == 0, f"the replacement runs on:\n{log.read_text()[-3000:]}"
    assert_exactly_once(read_outputs(settings, stream), stream)
