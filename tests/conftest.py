"""Session fixtures for tests against a real Kafka broker and a real Redis server.

Servers come from, in order: the environment (`KAFKA_BOOTSTRAP_SERVERS` and `REDIS_URL` both set),
Docker through testcontainers when an engine answers, else the project's own stack started on free
ports in a temporary directory and stopped at the end of the session. A server that cannot start
fails the tests that need it; nothing is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from fraudscore.settings import Settings, load_settings
from fraudscore.stack import containers, local, procs
from fraudscore.stack.topics import create_topics, delete_topics

TOPIC_PARTITIONS = 3


@dataclass(frozen=True)
class Servers:
    bootstrap_servers: str
    redis_url: str
    source: str


def _own_stack(root: Path, brokers: int, with_redis: bool = True) -> local.StackSpec:
    ports = procs.free_ports(2 * brokers + 1)
    return local.StackSpec(
        root=root,
        broker_ports=ports[:brokers],
        controller_ports=ports[brokers : 2 * brokers],
        redis_port=ports[-1] if with_redis else None,
        heap="384m",
        die_with_parent=True,
    )


@pytest.fixture(scope="session")
def _servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    bootstrap, redis_url = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("REDIS_URL")
    if bootstrap and redis_url:
        yield Servers(bootstrap, redis_url, "environment")
    elif containers.docker_engine_reachable():
        with containers.running() as found:
            yield Servers(found.bootstrap_servers, found.redis_url, "testcontainers")
    else:
        spec = _own_stack(tmp_path_factory.mktemp("stack"), brokers=1)
        try:
            state = local.start(spec)
            assert state.redis_url is not None
            yield Servers(state.bootstrap_servers, state.redis_url, "local stack")
        finally:
            local.stop(spec.root)


@pytest.fixture(scope="session")
def kafka_bootstrap(_servers: Servers) -> str:
    """Bootstrap servers of a real single-node KRaft broker."""
    return _servers.bootstrap_servers


@pytest.fixture(scope="session")
def redis_url(_servers: Servers) -> str:
    return _servers.redis_url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis[bytes]]:
    """A client on the session's Redis, its database flushed before the test."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def kafka_cluster3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local.StackState]:
    """A 3-node KRaft cluster of this project's own stack (RF 3, min ISR 2), for failure tests.

    Always the local stack, since the tests stop one of its brokers: `local.stop_process(state,
    "kafka-2")`. Started only when a test asks for it.
    """
    spec = _own_stack(tmp_path_factory.mktemp("cluster3"), brokers=3, with_redis=False)
    try:
        yield local.start(spec, timeout_s=180.0)
    finally:
        local.stop(spec.root)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def new_topic(kafka_bootstrap: str) -> Iterator[Callable[..., str]]:
    """Factory: `new_topic(prefix="t", partitions=1)` creates a fresh topic and waits until it is usable."""
    conf: dict[str, str | int | float | bool] = {"bootstrap.servers": kafka_bootstrap}
    made: list[str] = []

    def make(prefix: str = "t", partitions: int = 1) -> str:
        name = unique(prefix)
        create_topics(conf, [name], partitions)
        made.append(name)
        return name

    yield make
    _delete_topics(conf, made)


def _delete_topics(conf: dict[str, str | int | float | bool], names: list[str]) -> None:
    # Keeps the session broker small; a failure here must not fail the test that already ran.
    for failure in delete_topics(conf, names):
        print(f"could not delete test topic {failure}")


@pytest.fixture
def test_settings(kafka_bootstrap: str, redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings on the session's servers: five fresh topics (3 partitions each) and a fresh group id."""
    topics = {
        field: unique(field.removeprefix("topic_"))
        for field in Settings.model_fields
        if field.startswith("topic_")
    }
    conf: dict[str, str | int | float | bool] = {"bootstrap.servers": kafka_bootstrap}
    create_topics(conf, list(topics.values()), TOPIC_PARTITIONS)
    yield load_settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        redis_url=redis_url,
        group_id=unique("group"),
        run_dir=tmp_path / "run",
        model_dir=tmp_path / "models",
        **topics,
    )
    _delete_topics(conf, list(topics.values()))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test fails the run: a test that could not run proved nothing (team rule)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if skipped and exitstatus == pytest.ExitCode.OK:
        print(f"\n{skipped} test(s) skipped: failing the run, since tests here must never skip")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
