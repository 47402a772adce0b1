"""Scorers SIGKILLed at random moments on the 3-broker cluster while 50,000 events flow.

Exactly-once: every good event is predicted once and every bad one dead-lettered once (as read with
read_committed), with the scores and the Redis features of a clean run over the same events.
At-least-once: nothing is missing; the duplicates are counted and reported.

The events span three days and the label delay is the default seven, so the terminal windows are
empty and a score depends only on its card's earlier events, which one partition holds in order: the
scores of any two runs are then equal, whatever the batches were.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import numpy.typing as npt
import pytest
import redis
from delivery_support import (
    Outputs,
    Sender,
    Stream,
    assert_exactly_once,
    cluster_settings,
    ensure_all_brokers,
    feature_state,
    grown_by,
    kill_loop,
    make_stream,
    probe_features,
    read_outputs,
    redis_db,
    run_to_end,
)
from scorer_support import make_model, send, start_scorer_process, wait_for

from fraudscore.stack import local

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

KILLS = 6
CLEAN_DB, EXACTLY_ONCE_DB, AT_LEAST_ONCE_DB, REDIS_WRITES_DB = 1, 2, 3, 7


@dataclass(frozen=True)
class Reference:
    """A clean run over the stream: its scores and the feature state it left."""

    scores: dict[str, float]
    state: dict[str, frozenset[bytes]]
    probe: npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def cluster(kafka_cluster3: local.StackState) -> local.StackState:
    return ensure_all_brokers(kafka_cluster3)


@pytest.fixture(scope="module")
def stream() -> Stream:
    return make_stream(50_000, bad_per_kind=10)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models")
    make_model(path)
    return path


@pytest.fixture(scope="module")
def clean(
    cluster: local.StackState,
    redis_url: str,
    stream: Stream,
    model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Reference:
    tmp = tmp_path_factory.mktemp("clean")
    url = redis_db(redis_url, CLEAN_DB)
    settings = cluster_settings(cluster, url, model_dir, tmp / "run")
    send(settings, settings.topic_transactions, stream.messages)
    run_to_end(settings, [], tmp / "scorer.log")
    out = read_outputs(settings, stream)
    assert_exactly_once(out, stream)  # the reference itself
    scores = {event: next(iter(s)) for event, s in out.scores.items()}
    return Reference(scores, feature_state(url), probe_features(url, stream))


def assert_same_scores_and_features(out: Outputs, url: str, stream: Stream, clean: Reference) -> None:
    differ = [e for e, s in out.scores.items() if s != {clean.scores[e]}]
    assert not differ, f"{len(differ)} events scored differently from the clean run, e.g. {differ[:3]}"
    state = feature_state(url)
    assert state.keys() == clean.state.keys(), "the same cards and terminals have state"
    changed = [k for k in state if state[k] != clean.state[k]]
    assert not changed, f"{len(changed)} keys hold other entries than after the clean run: {changed[:3]}"
    np.testing.assert_array_equal(probe_features(url, stream), clean.probe)


@pytest.fixture
def chaos_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    log = tmp_path / "scorer.log"
    if log.exists():  # shown by pytest when the test failed
        print(log.read_text()[-4000:])


def sigkill_run(
    cluster: local.StackState,
    url: str,
    stream: Stream,
    model_dir: Path,
    where: Path,
    args: list[str],
    seed: int,
) -> tuple[Outputs, list[str]]:
    """The stream sent while a scorer is SIGKILLed KILLS times, then one that runs to the end."""
    settings = cluster_settings(cluster, url, model_dir, where / "run")
    log = where / "scorer.log"
    sender = Sender(settings, stream.messages)
    moments = kill_loop(settings, args, KILLS, seed, log)
    sender.join()
    run_to_end(settings, args, log)
    return read_outputs(settings, stream), moments


def test_exactly_once_survives_sigkills_without_loss_or_duplicates(
    cluster: local.StackState,
    redis_url: str,
    stream: Stream,
    model_dir: Path,
    clean: Reference,
    chaos_dir: Path,
) -> None:
    url = redis_db(redis_url, EXACTLY_ONCE_DB)
    args = ["--guarantee", "exactly-once", "--transactional-id", f"scorer-{uuid.uuid4().hex[:8]}"]
    out, moments = sigkill_run(cluster, url, stream, model_dir, chaos_dir, args, seed=1)
    print(f"exactly-once: {KILLS} SIGKILLs: {'; '.join(moments)}")
    assert_exactly_once(out, stream)
    assert_same_scores_and_features(out, url, stream, clean)


def test_at_least_once_survives_sigkills_without_loss(
    cluster: local.StackState,
    redis_url: str,
    stream: Stream,
    model_dir: Path,
    clean: Reference,
    chaos_dir: Path,
) -> None:
    url = redis_db(redis_url, AT_LEAST_ONCE_DB)
    out, moments = sigkill_run(cluster, url, stream, model_dir, chaos_dir, [], seed=2)
    predicted_twice = sum(c - 1 for c in out.predictions.values())
    dead_twice = sum(c - 1 for c in out.dead.values())
    print(
        f"at-least-once: {KILLS} SIGKILLs ({'; '.join(moments)}): {predicted_twice} duplicate "
        f"predictions over {len(stream.events)} events, {dead_twice} duplicate dead letters"
    )
    assert set(out.predictions) == stream.good_ids, "every good event has a prediction"
    assert set(out.dead) == stream.bad_keys, "every bad message is in the DLQ"
    assert set(out.alerts) == out.alerted, "every alerting score has its alert"
    # The feature writes are idempotent: redone batches change neither the features nor the scores.
    assert_same_scores_and_features(out, url, stream, clean)


def test_exactly_once_commits_no_batch_whose_feature_updates_redis_refused(
    cluster: local.StackState,
    redis_url: str,
    stream: Stream,
    model_dir: Path,
    clean: Reference,
    chaos_dir: Path,
) -> None:
    """Redis refuses the feature writes (reads still work) mid-stream, the scorer is SIGKILLed while
    it waits, Redis accepts writes again, a new scorer runs to the end: nothing was committed without
    its feature updates, so the state is the clean run's. The scorer logs in as a Redis user of its
    own, with a password, so that the test can take its scripting right away; the password must appear
    in no log line."""
    admin = redis.Redis.from_url(redis_url)
    user, password = f"scorer-{uuid.uuid4().hex[:8]}", secrets.token_hex(12)
    admin.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], keys=["*"], channels=["*"], commands=["+@all"]
    )
    db_url = redis_db(redis_url, REDIS_WRITES_DB)
    parts = urlsplit(db_url)
    url = urlunsplit((parts.scheme, f"{user}:{password}@{parts.hostname}:{parts.port}", parts.path, "", ""))
    settings = cluster_settings(cluster, url, model_dir, chaos_dir / "run")
    log = chaos_dir / "scorer.log"
    args = ["--guarantee", "exactly-once", "--transactional-id", f"scorer-{uuid.uuid4().hex[:8]}"]
    args += ["--redis-retry-budget-ms", "300"]
    sender = Sender(settings, stream.messages)
    try:
        scorer = start_scorer_process(settings, *args, output=log)
        try:
            wait_for(grown_by(settings, 3000, or_exited=scorer), 120, "scoring with Redis up")
            admin.acl_setuser(user, enabled=True, commands=["-@scripting"])  # EVAL (the write) refused
            rolled_back = "feature writes not applied"
            wait_for(lambda: rolled_back in log.read_text(), 60, "a batch rolled back for its writes")
            assert scorer.poll() is None, f"the scorer waits for Redis:\n{log.read_text()[-3000:]}"
        finally:
            scorer.kill()
            scorer.wait()
        admin.acl_setuser(user, enabled=True, commands=["+@all"])
        sender.join()
        run_to_end(settings, args, log)
    finally:
        admin.acl_deluser(user)
        admin.close()
    out = read_outputs(settings, stream)
    assert_exactly_once(out, stream)
    assert_same_scores_and_features(out, db_url, stream, clean)
    assert password not in log.read_text()
