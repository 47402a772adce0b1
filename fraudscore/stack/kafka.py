"""Apache Kafka in KRaft mode from its jars: the config of each node, storage format, and start.

Every node is a combined broker and controller. One node suits tests; three form a quorum that
survives one node going down (replication factor 3, min ISR 2).
"""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fraudscore.stack import procs
from fraudscore.stack.exceptions import StartupError


@dataclass(frozen=True)
class KafkaNode:
    node_id: int
    broker_port: int
    controller_port: int

    def home(self, root: Path) -> Path:
        return root / f"kafka-{self.node_id}"


def plan_nodes(broker_ports: list[int], controller_ports: list[int]) -> list[KafkaNode]:
    return [
        KafkaNode(i + 1, b, c) for i, (b, c) in enumerate(zip(broker_ports, controller_ports, strict=True))
    ]


def new_cluster_id() -> str:
    # KRaft wants 16 random bytes as unpadded base64url (22 characters). One id in 64 starts with "-",
    # which kafka-storage's argument parser takes for an option (a test session failed so): drawn
    # again, as Kafka's own Uuid.randomUuid does.
    while True:
        cluster = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not cluster.startswith("-"):
            return cluster


def bootstrap_servers(nodes: list[KafkaNode]) -> str:
    return ",".join(f"{procs.LOOPBACK}:{n.broker_port}" for n in nodes)


def node_config(node: KafkaNode, nodes: list[KafkaNode], data_dir: str) -> dict[str, str]:
    """The broker settings of one node, as Kafka property names and values."""
    host = procs.LOOPBACK
    rf = min(3, len(nodes))
    min_isr = 2 if rf >= 3 else 1
    voters = ",".join(f"{n.node_id}@{host}:{n.controller_port}" for n in nodes)
    lines: dict[str, object] = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{host}:{node.broker_port},CONTROLLER://{host}:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{node.broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": data_dir,
        "default.replication.factor": rf,
        "min.insync.replicas": min_isr,
        # The internal topics default to 50 partitions and the first group join waits 3 s; these
        # make a local broker start and serve its first transaction in seconds on 2 cores.
        "offsets.topic.replication.factor": rf,
        "offsets.topic.num.partitions": 1,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min_isr,
        "transaction.state.log.num.partitions": 1,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": 0,
        "auto.create.topics.enable": "false",
    }
    return {k: str(v) for k, v in lines.items()}


def server_properties(node: KafkaNode, nodes: list[KafkaNode], root: Path) -> str:
    config = node_config(node, nodes, str(node.home(root) / "data"))
    return "".join(f"{k}={v}\n" for k, v in config.items())


def log4j2_properties(log_file: Path) -> str:
    return (
        "status=warn\n"
        "appender.file.type=File\n"
        "appender.file.name=file\n"
        f"appender.file.fileName={log_file}\n"
        "appender.file.layout.type=PatternLayout\n"
        "appender.file.layout.pattern=[%d] %p %m (%c)%n\n"
        "rootLogger.level=INFO\n"
        "rootLogger.appenderRef.file.ref=file\n"
    )


def server_log(node: KafkaNode, root: Path) -> Path:
    return node.home(root) / "server.log"


def console_log(node: KafkaNode, root: Path) -> Path:
    return node.home(root) / "console.log"


def prepare(
    java: str, jars: Path, node: KafkaNode, nodes: list[KafkaNode], root: Path, *, cluster: str
) -> None:
    """Writes the node's config files and formats its storage with the cluster id."""
    home = node.home(root)
    home.mkdir(parents=True, exist_ok=True)
    (home / "server.properties").write_text(server_properties(node, nodes, root))
    (home / "log4j2.properties").write_text(log4j2_properties(server_log(node, root)))
    cmd = [java, "-Xmx256m", "-cp", f"{jars}/*", "kafka.tools.StorageTool", "format"]
    cmd += ["-t", cluster, "-c", str(home / "server.properties")]
    done = subprocess.run(cmd, cwd=home, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stdout + done.stderr).strip().splitlines()[-3:]
        raise StartupError(f"formatting Kafka storage of node {node.node_id} failed: {' | '.join(last)}")


def start(
    java: str, jars: Path, node: KafkaNode, root: Path, heap: str, die_with_parent: bool = False
) -> subprocess.Popen[bytes]:
    home = node.home(root)
    # ZGC, not Kafka's usual G1: on 2 shared cores G1's young collections paused the broker 10-140 ms
    # every second or two, which was most of the scorer's p99 latency at 5,000 events/s (docs/bench.md).
    cmd = [java, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseZGC"]
    cmd += ["-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}"]
    cmd += ["-cp", f"{jars}/*", "kafka.Kafka", str(home / "server.properties")]
    return procs.spawn(cmd, home, console_log(node, root), home / "kafka.pid", die_with_parent)
