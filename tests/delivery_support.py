"""Helpers for the delivery-guarantee failure tests on the 3-broker cluster.

A `Stream` is a fixed list of good transactions and malformed messages in a fixed order; a run sends
it, scorers are killed and restarted over it, and `read_outputs` and `feature_state` say what the run
left behind, to compare with a clean run over the same stream.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import numpy.typing as npt
import redis
from confluent_kafka import Consumer, KafkaException, TopicPartition
from scorer_support import (
    make_events,
    read_topic,
    send,
    start_scorer_process,
    stop_scorer_process,
    topic_count,
    wait_for,
)

from features.online import OnlineFeatureStore
from features.store_layout import CARD_ENTRY, TERMINAL_ENTRY, card_key, terminal_key
from fraudscore.settings import Settings, load_settings
from fraudscore.stack import local
from fraudscore.stack.topics import create_topics
from producer.bad_messages import KINDS, make_bad
from schemas import Codec, open_schema_source
from schemas.history import from_records

STORE_PREFIX = "fs"  # the scorer's online store keeps the default prefix
Message = tuple[bytes | None, bytes | None]


@dataclass(frozen=True)
class Stream:
    events: list[dict[str, Any]]  # the good transactions
    messages: list[Message]  # good and bad, in the order they are sent
    bad_keys: frozenset[bytes]  # each malformed message has its own key

    @property
    def good_ids(self) -> set[str]:
        return {e["event_id"] for e in self.events}


def make_stream(n_good: int, bad_per_kind: int, seed: int = 7, cards: int = 2000) -> Stream:
    """Good events (keyed by card, so a card's events keep their order) with malformed ones of every
    kind `producer.bad_messages` makes, at random places."""
    codec = Codec("transaction", open_schema_source(None))
    events = make_events(n_good, seed=seed, cards=cards)
    messages: list[Message] = [(e["card_id"].encode(), codec.encode(e)) for e in events]
    rng = np.random.default_rng(seed)
    bad_keys = []
    for i, e in enumerate(make_events(len(KINDS) * bad_per_kind, seed=seed + 1, prefix="bad")):
        key = f"bad-{i:05d}".encode()
        bad_keys.append(key)
        value = make_bad(KINDS[i % len(KINDS)], e, codec, rng)
        messages.insert(int(rng.integers(0, len(messages) + 1)), (key, value))
    return Stream(events, messages, frozenset(bad_keys))


def redis_db(url: str, db: int) -> str:
    """The URL of database `db` on the server of `url`, flushed (one database per run)."""
    parts = urlsplit(url)
    db_url = urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))
    client = redis.Redis.from_url(db_url)
    client.flushdb()
    client.close()
    return db_url


def ensure_all_brokers(cluster: local.StackState) -> local.StackState:
    """Every broker of the cluster running: an earlier test may have left one stopped."""
    for node in cluster.nodes:
        local.start_process(cluster, f"kafka-{node.node_id}", die_with_parent=True)
    return cluster


def cluster_settings(cluster: local.StackState, redis_url: str, model_dir: Path, run_dir: Path) -> Settings:
    """Settings on the cluster with five fresh topics (3 partitions, replication factor 3)."""
    tag = uuid.uuid4().hex[:10]
    topics = {f: f"{f.removeprefix('topic_')}-{tag}" for f in Settings.model_fields if f.startswith("topic_")}
    create_topics({"bootstrap.servers": cluster.bootstrap_servers}, list(topics.values()), 3, 3)
    return load_settings(
        kafka_bootstrap_servers=cluster.bootstrap_servers,
        redis_url=redis_url,
        group_id=f"group-{tag}",
        model_dir=model_dir,
        run_dir=run_dir,
        max_wait_ms=20,
        **topics,
    )


@dataclass
class Sender:
    """Sends a stream's messages in chunks, `pause_s` apart, from a background thread."""

    settings: Settings
    messages: list[Message]
    chunks: int = 20
    pause_s: float = 1.0
    error: BaseException | None = None
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            size = -(-len(self.messages) // self.chunks)
            for start in range(0, len(self.messages), size):
                if start:
                    time.sleep(self.pause_s)  # pacing the flow, not waiting for anything
                send(self.settings, self.settings.topic_transactions, self.messages[start : start + size])
        except BaseException as exc:  # handed to the test by `join`
            self.error = exc

    def join(self, timeout_s: float = 120) -> None:
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the sender did not finish"
        if self.error is not None:
            raise self.error


def caught_up(settings: Settings) -> bool:
    """True when the group's committed offsets are at the end of every input partition."""
    topic = settings.topic_transactions
    consumer = Consumer({**settings.kafka_common(), "group.id": settings.group_id})
    try:
        parts = [TopicPartition(topic, p) for p in consumer.list_topics(topic, 10).topics[topic].partitions]
        ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in parts]
        committed = consumer.committed(parts, timeout=10)
        return all(end in (tp.offset, 0) for tp, end in zip(committed, ends, strict=True))
    except KafkaException:
        return False  # stale metadata or a coordinator moving: not known yet, asked again
    finally:
        consumer.close()


def run_to_end(settings: Settings, args: list[str], log: Path, timeout_s: float = 180) -> None:
    """A scorer that runs until the group has committed every input message, then stops cleanly."""
    proc = start_scorer_process(settings, *args, output=log)
    try:
        wait_for(lambda: caught_up(settings) or proc.poll() is not None, timeout_s, "scorer caught up", 0.5)
    finally:
        code = stop_scorer_process(proc)
    assert code == 0, f"the scorer exited with {code}:\n{log.read_text()[-3000:]}"


def grown_by(
    settings: Settings,
    records: int,
    since: int | None = None,
    or_exited: subprocess.Popen[bytes] | None = None,
) -> Callable[[], bool]:
    """A condition: the predictions topic holds `records` more records (committed or not) than it
    did at `since` (default: now), or the process `or_exited` has exited."""
    topic = settings.topic_predictions
    base = topic_count(settings, topic) if since is None else since
    return lambda: (
        topic_count(settings, topic) >= base + records
        or (or_exited is not None and or_exited.poll() is not None)
    )


def kill_loop(settings: Settings, args: list[str], kills: int, seed: int, log: Path) -> list[str]:
    """Starts a scorer and SIGKILLs it `kills` times: the first while it starts up (a random moment
    after the spawn), the others once the predictions topic grew by a random number of records since
    it started, i.e. mid-stream, most likely inside a batch. Returns what each kill interrupted."""
    rng = random.Random(seed)
    moments = []
    for k in range(kills):
        proc = start_scorer_process(settings, *args, output=log)
        base = topic_count(settings, settings.topic_predictions)
        try:
            if k == 0:
                moment = rng.uniform(0.5, 4.0)
                time.sleep(moment)  # the random moment itself: there is no condition to wait for
                moments.append(f"start-up +{moment:.1f} s")
            else:
                grow = rng.randint(1, 3000)
                done = grown_by(settings, grow, since=base, or_exited=proc)
                wait_for(done, 120, f"scorer {k} producing", 0.02)
                moments.append(f"after {grow} records")
        finally:
            proc.kill()
            proc.wait()
        assert proc.returncode == -signal.SIGKILL, f"scorer {k} died by itself:\n{log.read_text()[-3000:]}"
    return moments


@dataclass(frozen=True)
class Outputs:
    predictions: Counter[str]  # event id -> copies
    scores: dict[str, set[float]]  # event id -> every score it was given
    alerts: Counter[str]
    alerted: set[str]  # event ids whose prediction says alert
    dead: Counter[bytes]  # original key -> copies in the DLQ

    @property
    def duplicates(self) -> int:
        return sum(c - 1 for c in self.predictions.values()) + sum(c - 1 for c in self.dead.values())


def read_outputs(settings: Settings, stream: Stream, expect: int | None = None) -> Outputs:
    """Every record of the output topics, read as a downstream read_committed consumer sees them
    (waiting for `expect` predictions, default one per good event, then for the topics to go quiet)."""
    want = len(stream.events) if expect is None else expect
    predictions = read_topic(settings, settings.topic_predictions, "prediction", want)
    alerting = len({p["event_id"] for p in predictions if p["is_alert"]})
    alerts = read_topic(settings, settings.topic_alerts, "alert", alerting)
    dead = read_topic(
        settings, settings.topic_dlq, "dead_letter", len(stream.bad_keys) if expect is None else 0
    )
    scores: dict[str, set[float]] = {}
    for p in predictions:
        scores.setdefault(p["event_id"], set()).add(p["score"])
    return Outputs(
        predictions=Counter(p["event_id"] for p in predictions),
        scores=scores,
        alerts=Counter(a["event_id"] for a in alerts),
        alerted={p["event_id"] for p in predictions if p["is_alert"]},
        dead=Counter(d["key"] for d in dead),
    )


def feature_state(url: str) -> dict[str, frozenset[bytes]]:
    """Each card's and terminal's entries as a set: what the readers see (a copy counts once, and the
    order of appends is not part of the state)."""
    client = redis.Redis.from_url(url)
    try:
        state: dict[str, frozenset[bytes]] = {}
        for kind, pattern, size in (
            ("c", card_key(STORE_PREFIX, "*"), CARD_ENTRY.itemsize),
            ("t", terminal_key(STORE_PREFIX, "*"), TERMINAL_ENTRY.itemsize),
        ):
            for key in client.scan_iter(match=pattern, count=1000):
                value = client.get(key) or b""
                assert len(value) % size == 0, f"corrupt {kind} value at {key!r}"
                state[key.decode()] = frozenset(value[i : i + size] for i in range(0, len(value), size))
        return state
    finally:
        client.close()


def probe_features(url: str, stream: Stream) -> npt.NDArray[np.float32]:
    """The feature matrix the store returns for one probe transaction per card and terminal, a day
    after the stream's last event."""
    end = max(e["event_time"] for e in stream.events) + 86_400_000
    cards = sorted({e["card_id"] for e in stream.events})
    terminals = sorted({e["terminal_id"] for e in stream.events})
    probes = [
        {
            "event_id": f"probe-{i}",
            "event_time": end,
            "card_id": cards[i % len(cards)],
            "terminal_id": terminals[i % len(terminals)],
            "amount": 10.0,
        }
        for i in range(max(len(cards), len(terminals)))
    ]
    client = redis.Redis.from_url(url)
    try:
        return OnlineFeatureStore(client).read(from_records(probes))
    finally:
        client.close()


def assert_exactly_once(out: Outputs, stream: Stream) -> None:
    """Every good event predicted once, every bad one dead-lettered once, one alert per alerting score."""
    missing, extra = stream.good_ids - set(out.predictions), set(out.predictions) - stream.good_ids
    gaps = (len(missing), len(extra))
    assert gaps == (0, 0), (
        f"every good event has a prediction: {gaps[0]} missing (e.g. {sorted(missing)[:5]}), "
        f"{gaps[1]} unexpected (e.g. {sorted(extra)[:5]})"
    )
    assert max(out.predictions.values()) == 1, f"{out.duplicates} duplicate outputs"
    assert set(out.dead) == stream.bad_keys, "every bad message is in the DLQ"
    assert max(out.dead.values()) == 1, "no dead letter twice"
    assert set(out.alerts) == out.alerted, "every alerting score has its alert"
    assert max(out.alerts.values()) == 1, "no alert twice"
