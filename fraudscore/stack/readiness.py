"""Is the broker ready? Its port accepts, the metadata lists every node, and a transaction can start.

The transactional check matters: the transaction coordinator loads its log after the broker reports
itself started, and exactly-once code fails until it has.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from fraudscore.kafka_client import quiet
from fraudscore.stack import procs

# Returns a description of a dead process, or None while all live.
DeadCheck = Callable[[], str | None]
# Told the name of each readiness step as it begins (a CLI shows it as progress).
Progress = Callable[[str], None]


def no_progress(_step: str) -> None:
    return None


class NotReadyError(Exception):
    """Readiness failed: `what` says which step; `dead` is set when a process exited."""

    def __init__(self, what: str, dead: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.dead = dead


def _wait(step: str, ok: Callable[[], bool], deadline: float, dead: DeadCheck, progress: Progress) -> None:
    progress(step)
    while True:
        gone = dead()
        if gone is not None:
            raise NotReadyError(step, gone)
        if ok():
            return
        if time.monotonic() >= deadline:
            raise NotReadyError(step)
        time.sleep(0.2)


def _accepts(port: int) -> Callable[[], bool]:
    return lambda: procs.port_accepts(port)


def wait_kafka(
    conf: dict[str, Any],
    ports: list[int],
    deadline: float,
    dead: DeadCheck = lambda: None,
    progress: Progress = no_progress,
) -> None:
    """Blocks until the cluster at `conf` (one node per port) serves transactions, or raises."""
    from confluent_kafka import KafkaException, Producer
    from confluent_kafka.admin import AdminClient

    for port in ports:
        _wait(f"broker port {port} accepting connections", _accepts(port), deadline, dead, progress)

    admin = AdminClient(quiet(conf))

    def all_brokers() -> bool:
        try:
            meta = admin.list_topics(timeout=max(0.5, min(5.0, deadline - time.monotonic())))
        except KafkaException:
            return False
        return len(meta.brokers) >= len(ports)

    _wait(f"metadata listing all {len(ports)} broker(s)", all_brokers, deadline, dead, progress)

    def transaction() -> bool:
        producer = Producer(quiet({**conf, "transactional.id": f"fraudscore-ready-{uuid.uuid4().hex}"}))
        try:
            producer.init_transactions(max(1.0, min(10.0, deadline - time.monotonic())))
        except KafkaException:
            return False
        return True

    _wait("a throw-away init_transactions()", transaction, deadline, dead, progress)


def wait_redis(
    redis_url: str,
    port: int,
    deadline: float,
    dead: DeadCheck = lambda: None,
    progress: Progress = no_progress,
) -> None:
    from fraudscore.stack import redis_server

    _wait(f"redis port {port} accepting connections", _accepts(port), deadline, dead, progress)
    _wait("redis answering PING", lambda: redis_server.ping(redis_url), deadline, dead, progress)
