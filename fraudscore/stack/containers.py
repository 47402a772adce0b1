"""The same stack from official images, through testcontainers, where a Docker engine answers."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fraudscore.stack import kafka, procs

KAFKA_IMAGE = "apache/kafka:4.1.1"
REDIS_IMAGE = "redis:7"


def docker_engine_reachable(timeout_s: float = 10.0) -> bool:
    """True when a Docker engine answers; the `docker` client alone is not enough."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        done = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def kafka_env(port: int) -> dict[str, str]:
    """The official image's environment (KAFKA_A_B means a.b) for the local stack's broker settings.

    The broker listens inside the container on the same port number that is published on the host,
    so the advertised address works from the host without knowing a mapped port in advance.
    """
    node = kafka.KafkaNode(1, port, 9093)
    config = kafka.node_config(node, [node], "/var/lib/kafka/data")
    config["listeners"] = f"PLAINTEXT://0.0.0.0:{port},CONTROLLER://0.0.0.0:9093"
    config["controller.quorum.voters"] = "1@localhost:9093"
    return {"KAFKA_" + k.upper().replace(".", "_"): v for k, v in config.items()}


@dataclass(frozen=True)
class Endpoints:
    bootstrap_servers: str
    redis_url: str


@contextmanager
def running(deadline_s: float = 180.0) -> Iterator[Endpoints]:
    """Starts Kafka and Redis containers, waits until both are ready, and removes them afterwards."""
    import time

    from testcontainers.community.redis import RedisContainer
    from testcontainers.core.container import DockerContainer

    from fraudscore.stack import readiness

    (port,) = procs.free_ports(1)
    broker = DockerContainer(KAFKA_IMAGE).with_bind_ports(port, port)
    for key, value in kafka_env(port).items():
        broker = broker.with_env(key, value)
    with broker, RedisContainer(REDIS_IMAGE) as redis_box:
        redis_url = f"redis://{redis_box.get_container_host_ip()}:{redis_box.get_exposed_port(6379)}/0"
        deadline = time.monotonic() + deadline_s
        readiness.wait_kafka({"bootstrap.servers": f"127.0.0.1:{port}"}, [port], deadline)
        yield Endpoints(f"127.0.0.1:{port}", redis_url)
