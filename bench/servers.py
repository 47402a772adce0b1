"""The broker and Redis the benchmark measures against, and its own throw-away topics.

The servers are the ones the settings name. When neither answers, the bench starts the project's local
stack on free ports in a temporary directory (as the test fixtures do) and stops it at the end, so a
bare `fraudscore bench` works on a fresh checkout and never disturbs a stack that is already running.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from pydantic import SecretStr

from bench.exceptions import BenchError
from fraudscore.settings import Settings, redact_url

# Three partitions, as `fraudscore topics create` makes by default: the scorer then fetches from several
# partitions as it does in production (and a group of up to three could share them). On 2 cores more
# partitions would add fetch overhead and no parallelism.
PARTITIONS = 3
TOPIC_FIELDS = ("topic_transactions", "topic_predictions", "topic_alerts", "topic_labels", "topic_dlq")


def _kafka_answers(settings: Settings) -> bool:
    from confluent_kafka.admin import AdminClient

    from fraudscore.kafka_client import quiet

    try:
        AdminClient(quiet(settings.kafka_common())).list_topics(timeout=3)
        return True
    except Exception:  # any failure means "not reachable" here; the caller decides what to do
        return False


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


def say(line: str) -> None:
    print(f"bench: {line}", file=sys.stderr, flush=True)


@contextmanager
def servers(settings: Settings) -> Iterator[Settings]:
    """The settings to use: as given when both servers answer, else pointing at a stack started here."""
    url = settings.redis_url.get_secret_value()
    kafka_ok, redis_ok = _kafka_answers(settings), _redis_answers(url)
    if kafka_ok and redis_ok:
        yield settings
        return
    if kafka_ok or redis_ok:
        missing = (
            "Redis at " + redact_url(url) if kafka_ok else "Kafka at " + settings.kafka_bootstrap_servers
        )
        raise BenchError(f"{missing} does not answer (the other server does): start it or fix the settings")
    from fraudscore.stack import local, procs

    root = Path(tempfile.mkdtemp(prefix="fraudscore-bench-stack-"))
    ports = procs.free_ports(3)
    # The heap `fraudscore stack up` gives a broker: a smaller one collects more often (latency tail).
    spec = local.StackSpec(
        root=root, broker_ports=[ports[0]], controller_ports=[ports[1]], redis_port=ports[2], heap="1g"
    )
    say(f"no Kafka or Redis answers: starting a local stack in {root} (stopped at the end)")
    try:
        state = local.start(spec)
        yield settings.model_copy(
            update={
                "kafka_bootstrap_servers": state.bootstrap_servers,
                "redis_url": SecretStr(state.redis_url or ""),
            }
        )
    finally:
        local.stop(root)


@contextmanager
def topic_set(settings: Settings, label: str) -> Iterator[Settings]:
    """Settings whose five topics are fresh (PARTITIONS each), deleted on the way out."""
    from fraudscore.stack.topics import create_topics

    run = uuid.uuid4().hex[:8]
    names = {f: f"bench-{run}-{label}-{f.removeprefix('topic_')}" for f in TOPIC_FIELDS}
    conf = settings.kafka_common()
    create_topics(conf, list(names.values()), PARTITIONS)
    try:
        yield settings.model_copy(update=names)
    finally:
        _delete(conf, list(names.values()))


def _delete(conf: dict[str, Any], names: list[str]) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(conf)  # kept referenced until the futures resolve, or they fail with _DESTROY
    for future in admin.delete_topics(names, operation_timeout=10).values():
        try:
            future.result()
        except Exception as exc:  # best effort: a topic left behind is harmless and named "bench-"
            say(f"could not delete a bench topic: {exc}")
