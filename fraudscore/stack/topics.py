"""Topic creation that can be repeated: existing topics are left as they are."""

from __future__ import annotations

import time
from typing import Any

from fraudscore.kafka_client import CONNECT_TIMEOUT_S, check_kafka, quiet
from fraudscore.stack.exceptions import StackError


def create_topics(
    conf: dict[str, Any],
    names: list[str],
    partitions: int,
    replication_factor: int = -1,
    timeout_s: float = 30.0,
) -> dict[str, str]:
    """Creates the missing topics and waits until every one has a leader for each partition.

    Returns "created" or "exists" per name. A replication factor of -1 takes the broker's default,
    which the local stack sets to fit its size (1, or 3 for the 3-node cluster).
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient(quiet(conf))
    check_kafka(admin, str(conf.get("bootstrap.servers", "")), timeout_s=min(timeout_s, CONNECT_TIMEOUT_S))
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=replication_factor) for n in names],
        operation_timeout=timeout_s,
        request_timeout=timeout_s,
    )
    outcome: dict[str, str] = {}
    for name, future in futures.items():
        try:
            future.result()
            outcome[name] = "created"
        except KafkaException as exc:
            err = exc.args[0]
            if err.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise StackError(f"cannot create topic {name}: {err.str()}") from None
            outcome[name] = "exists"
    wait_usable(admin, names, time.monotonic() + timeout_s)
    return outcome


def wait_usable(admin: Any, names: list[str], deadline: float) -> None:
    """Waits until the metadata shows every partition of every topic with a leader."""
    from confluent_kafka import KafkaException

    pending = set(names)
    while pending:
        try:
            meta = admin.list_topics(timeout=5.0)
        except KafkaException:
            meta = None
        if meta is not None:
            for name in list(pending):
                topic = meta.topics.get(name)
                led = topic is not None and topic.error is None and bool(topic.partitions)
                if led and all(p.leader >= 0 for p in topic.partitions.values()):
                    pending.discard(name)
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise StackError(f"topics not usable before the deadline: {', '.join(sorted(pending))}")
        time.sleep(0.1)


def delete_topics(conf: dict[str, Any], names: list[str], timeout_s: float = 15.0) -> list[str]:
    """Deletes topics, waiting at most `timeout_s` each; returns one line per topic that failed."""
    from confluent_kafka.admin import AdminClient

    if not names:
        return []
    admin = AdminClient(quiet(conf))  # held until every future has resolved: dropping it cancels them
    futures = admin.delete_topics(names, operation_timeout=timeout_s, request_timeout=timeout_s)
    failed: list[str] = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout_s + 5)
        except Exception as exc:  # any failure only leaves the topic behind; the caller decides
            failed.append(f"{name}: {exc}")
    return failed
