"""The local stack as a whole: start Kafka and Redis together, record them, report and stop them.

Everything lives under one root directory: each server's config, data, logs and PID file, and
`stack.json`, the record `stop` and `status` read. Stopping removes the root, so nothing is left.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from fraudscore.stack import kafka, procs, readiness, redis_server, tools
from fraudscore.stack.exceptions import PortInUseError, StackError, StartupError
from fraudscore.stack.kafka import KafkaNode

STATE_FILE = "stack.json"


@dataclass(frozen=True)
class StackSpec:
    root: Path
    broker_ports: list[int]
    controller_ports: list[int]
    redis_port: int | None
    cache_dir: Path = field(default_factory=tools.default_cache_dir)
    heap: str = "512m"
    install_redis: bool = False
    # True for stacks owned by one process (a test session): they stop when it dies, however it dies.
    die_with_parent: bool = False


@dataclass(frozen=True)
class Process:
    name: str
    pid: int
    cwd: Path
    logs: tuple[Path, ...]


@dataclass(frozen=True)
class StackState:
    root: Path
    nodes: list[KafkaNode]
    redis_port: int | None
    processes: list[Process]

    @property
    def bootstrap_servers(self) -> str:
        return kafka.bootstrap_servers(self.nodes)

    @property
    def redis_url(self) -> str | None:
        return None if self.redis_port is None else redis_server.url(self.redis_port)

    def env_lines(self) -> list[str]:
        lines = [f"export KAFKA_BOOTSTRAP_SERVERS={self.bootstrap_servers}"]
        if self.redis_url:
            lines.append(f"export REDIS_URL={self.redis_url}")
        return lines

    def process(self, name: str) -> Process:
        for p in self.processes:
            if p.name == name:
                return p
        raise StackError(f"no process {name} in the stack at {self.root}")


def _save(state: StackState) -> None:
    doc = {
        "nodes": [vars(n) for n in state.nodes],
        "redis_port": state.redis_port,
        "processes": [
            {"name": p.name, "pid": p.pid, "cwd": str(p.cwd), "logs": [str(x) for x in p.logs]}
            for p in state.processes
        ],
    }
    (state.root / STATE_FILE).write_text(json.dumps(doc, indent=2))


def load(root: Path) -> StackState | None:
    """The stack recorded under `root`, or None when none was started there."""
    try:
        doc = json.loads((root / STATE_FILE).read_text())
        return StackState(
            root=root,
            nodes=[KafkaNode(**n) for n in doc["nodes"]],
            redis_port=doc["redis_port"],
            processes=[
                Process(p["name"], int(p["pid"]), Path(p["cwd"]), tuple(Path(x) for x in p["logs"]))
                for p in doc["processes"]
            ],
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StackError(f"unreadable stack record {root / STATE_FILE}: {exc}") from None


def _check_ports(spec: StackSpec) -> None:
    named = [(f"Kafka broker {i + 1}", p) for i, p in enumerate(spec.broker_ports)]
    named += [(f"Kafka controller {i + 1}", p) for i, p in enumerate(spec.controller_ports)]
    if spec.redis_port is not None:
        named.append(("Redis", spec.redis_port))
    ports = [p for _, p in named]
    if len(set(ports)) != len(ports):
        raise PortInUseError(f"the stack's ports must all differ, got {ports}")
    for what, port in named:
        if not procs.port_free(port):
            raise PortInUseError(
                f"port {port} on {procs.LOOPBACK} ({what}) is in use: "
                "stop what holds it or choose other ports"
            )


def start(
    spec: StackSpec, timeout_s: float = 120.0, progress: readiness.Progress = readiness.no_progress
) -> StackState:
    """Starts Kafka (one node per broker port) and Redis under `spec.root` and waits until ready."""
    java = tools.require_java()
    redis_program = tools.require_redis_server(spec.install_redis) if spec.redis_port is not None else ""
    jars = tools.kafka_jars(spec.cache_dir)
    _check_ports(spec)
    shutil.rmtree(spec.root, ignore_errors=True)
    spec.root.mkdir(parents=True)
    nodes = kafka.plan_nodes(spec.broker_ports, spec.controller_ports)
    cluster = kafka.new_cluster_id()
    for node in nodes:
        kafka.prepare(java, jars, node, nodes, spec.root, cluster=cluster)

    started: list[tuple[Process, subprocess.Popen[bytes]]] = []
    for node in nodes:
        popen = kafka.start(java, jars, node, spec.root, spec.heap, spec.die_with_parent)
        logs = (kafka.server_log(node, spec.root), kafka.console_log(node, spec.root))
        started.append((Process(f"kafka-{node.node_id}", popen.pid, node.home(spec.root), logs), popen))
    if spec.redis_port is not None:
        popen = redis_server.start(redis_program, spec.redis_port, spec.root, spec.die_with_parent)
        home = redis_server.home(spec.root)
        started.append((Process("redis", popen.pid, home, (redis_server.log_file(spec.root),)), popen))
    state = StackState(spec.root, nodes, spec.redis_port, [p for p, _ in started])
    _save(state)  # before waiting, so that `stop` can clean up a half-started stack

    def dead() -> str | None:
        for proc, popen in started:
            code = popen.poll()
            if code is not None:
                return f"{proc.name} exited with code {code}"
        return None

    deadline = time.monotonic() + timeout_s
    try:
        if state.redis_url is not None and spec.redis_port is not None:
            readiness.wait_redis(state.redis_url, spec.redis_port, deadline, dead, progress)
        conf = {"bootstrap.servers": state.bootstrap_servers}
        readiness.wait_kafka(conf, spec.broker_ports, deadline, dead, progress)
    except readiness.NotReadyError as exc:
        procs.stop_all([(p.pid, p.cwd) for p in state.processes])
        raise StartupError(_failure_message(state, exc, timeout_s)) from None
    return state


def _failure_message(state: StackState, exc: readiness.NotReadyError, timeout_s: float) -> str:
    if exc.dead:
        head = f"stack not ready: {exc.dead} while waiting for {exc.what}"
        culprit = state.process(exc.dead.split()[0])
    else:
        head = f"stack not ready after {timeout_s:.0f} s: still waiting for {exc.what}"
        culprit = state.processes[0] if "redis" not in exc.what else state.process("redis")
    parts = [head]
    for log in culprit.logs:
        lines = procs.tail(log, 12)
        if lines:
            parts.append(f"last lines of {log}:")
            parts.extend(f"    {line}" for line in lines)
    return "\n".join(parts)


def status(root: Path) -> list[tuple[Process, bool]]:
    """Each recorded process and whether it runs; empty when no stack was started under `root`."""
    state = load(root)
    if state is None:
        return []
    return [(p, procs.is_ours(p.pid, p.cwd)) for p in state.processes]


def stop_process(state: StackState, name: str) -> bool:
    """Stops one server of the stack (a failure test's broker outage). True if it was running."""
    proc = state.process(name)
    return procs.stop(proc.pid, proc.cwd)


def start_process(
    state: StackState,
    name: str,
    heap: str = "384m",
    timeout_s: float = 120.0,
    die_with_parent: bool = False,
    cache_dir: Path | None = None,
) -> bool:
    """Starts a stopped Kafka node of the stack again (the end of a failure test's broker outage) and
    waits until the cluster lists it; the record is updated so that `stop` stops the new process.
    False when it was running already."""
    proc = state.process(name)
    if procs.is_ours(proc.pid, proc.cwd):
        return False
    node = next((n for n in state.nodes if f"kafka-{n.node_id}" == name), None)
    if node is None:
        raise StackError(f"{name} is not a Kafka node of the stack at {state.root}")
    jars = tools.kafka_jars(cache_dir or tools.default_cache_dir())
    popen = kafka.start(tools.require_java(), jars, node, state.root, heap, die_with_parent)
    state.processes[state.processes.index(proc)] = Process(name, popen.pid, proc.cwd, proc.logs)
    _save(state)

    def dead() -> str | None:
        code = popen.poll()
        return None if code is None else f"{name} exited with code {code}"

    conf = {"bootstrap.servers": state.bootstrap_servers}
    try:
        readiness.wait_kafka(conf, [n.broker_port for n in state.nodes], time.monotonic() + timeout_s, dead)
    except readiness.NotReadyError as exc:
        raise StartupError(_failure_message(state, exc, timeout_s)) from None
    return True


def stop(root: Path) -> list[str]:
    """Stops every process recorded under `root` and removes the root; returns the names it stopped."""
    state = load(root)
    stopped: list[str] = []
    if state is not None:
        pids = procs.stop_all([(p.pid, p.cwd) for p in state.processes])
        stopped = [p.name for p in state.processes if p.pid in pids]
    shutil.rmtree(root, ignore_errors=True)
    return stopped
