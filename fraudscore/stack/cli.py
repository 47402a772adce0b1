"""`fraudscore stack up|down|status|fetch` and `fraudscore topics create`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fraudscore.settings import Settings

if TYPE_CHECKING:
    from fraudscore.stack.local import StackState

STACK_DIR = "stack"
ENV_FILE = "env.sh"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Adds this part's subcommands to the `fraudscore` parser."""
    stack = sub.add_parser("stack", help="run a local Kafka (KRaft) and Redis for development and tests")
    verbs = stack.add_subparsers(dest="stack_command", metavar="ACTION", required=True)

    up = verbs.add_parser("up", help="start Kafka and Redis on loopback and wait until they are ready")
    up.add_argument("--brokers", type=int, choices=(1, 3), default=1, help="Kafka nodes (3: RF 3, min ISR 2)")
    up.add_argument(
        "--kafka-port", type=int, default=9092, help="broker port of node 1; node N uses PORT+2(N-1)"
    )
    up.add_argument(
        "--controller-port", type=int, default=9093, help="controller port of node 1; node N uses PORT+2(N-1)"
    )
    up.add_argument("--redis-port", type=int, default=6379)
    up.add_argument("--heap", default="1g", help="Java heap per Kafka node (default 1g)")
    up.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for readiness")
    up.set_defaults(handler=run_up)

    down = verbs.add_parser("down", help="stop the processes `stack up` started and delete their data")
    down.set_defaults(handler=run_down)
    status = verbs.add_parser("status", help="what runs (exit 0 only when every server runs)")
    status.set_defaults(handler=run_status)
    fetch = verbs.add_parser("fetch", help="fetch the Kafka jars with Maven into the cache (done by up)")
    fetch.set_defaults(handler=run_fetch)

    topics = sub.add_parser("topics", help="manage the Kafka topics")
    topic_verbs = topics.add_subparsers(dest="topics_command", metavar="ACTION", required=True)
    create = topic_verbs.add_parser("create", help="create the five topics (names from settings); idempotent")
    create.add_argument("--partitions", type=int, default=3, help="partitions per new topic (default 3)")
    create.add_argument(
        "--replication-factor", type=int, default=-1, help="default: the broker's (1, or 3 on 3 nodes)"
    )
    create.set_defaults(handler=run_topics_create)


def _root(settings: Settings) -> Path:
    # Absolute: the servers run with their own directories as working directories.
    return (settings.run_dir / STACK_DIR).resolve()


def _say(line: str) -> None:
    print(f"stack: {line}", file=sys.stderr, flush=True)


def run_up(args: argparse.Namespace, settings: Settings) -> int:
    from fraudscore.stack import local, readiness
    from fraudscore.stack.exceptions import StackError, StartupError

    root = _root(settings)
    state = local.load(root)
    if state is not None:
        running = [alive for _, alive in local.status(root)]
        if all(running):
            if len(state.nodes) != args.brokers:
                raise StackError(
                    f"a {len(state.nodes)}-broker stack already runs in {root}: "
                    "run `fraudscore stack down` first"
                )
            conf = {"bootstrap.servers": state.bootstrap_servers}
            ports = [n.broker_port for n in state.nodes]
            try:
                readiness.wait_kafka(conf, ports, time.monotonic() + args.timeout)
            except readiness.NotReadyError as exc:
                raise StartupError(f"the running stack in {root} is not ready: {exc.what}") from None
            _say(f"already running in {root}")
            return _announce(state, settings)
        _say("a previous stack is partly down; stopping what is left and starting afresh")
        local.stop(root)

    n = args.brokers
    spec = local.StackSpec(
        root=root,
        broker_ports=[args.kafka_port + 2 * i for i in range(n)],
        controller_ports=[args.controller_port + 2 * i for i in range(n)],
        redis_port=args.redis_port,
        heap=args.heap,
        install_redis=True,
    )
    started = time.monotonic()
    _say(f"starting Kafka ({n} node{'s' if n > 1 else ''}) and Redis in {root}")
    state = local.start(spec, timeout_s=args.timeout, progress=lambda step: _say(f"waiting for {step}"))
    _say(f"ready in {time.monotonic() - started:.1f} s")
    return _announce(state, settings)


def _announce(state: StackState, settings: Settings) -> int:
    lines = state.env_lines()
    env_file = settings.run_dir / ENV_FILE
    env_file.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    _say(f'wrote {env_file}; use it with: eval "$(cat {env_file})"')
    return 0


def run_down(args: argparse.Namespace, settings: Settings) -> int:
    from fraudscore.stack import local

    root = _root(settings)
    existed = root.exists()
    stopped = local.stop(root)
    (settings.run_dir / ENV_FILE).unlink(missing_ok=True)
    if stopped:
        _say(f"stopped {', '.join(stopped)}")
    else:
        _say("nothing was running" + (f"; removed {root}" if existed else ""))
    return 0


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    from fraudscore.stack import local

    root = _root(settings)
    state = local.load(root)
    if state is None:
        print(f"no stack in {root}")
        return 1
    statuses = local.status(root)
    ports = {
        f"kafka-{n.node_id}": f"broker {n.broker_port}, controller {n.controller_port}" for n in state.nodes
    }
    ports["redis"] = f"port {state.redis_port}"
    for proc, alive in statuses:
        state_word = "running" if alive else "STOPPED"
        print(f"{proc.name:8} pid {proc.pid:<8} {state_word:8} {ports.get(proc.name, '')}")
    if all(alive for _, alive in statuses):
        print("\n".join(state.env_lines()))
        return 0
    return 1


def run_fetch(args: argparse.Namespace, settings: Settings) -> int:
    from fraudscore.stack import tools

    print(tools.kafka_jars(tools.default_cache_dir()))
    return 0


def run_topics_create(args: argparse.Namespace, settings: Settings) -> int:
    from fraudscore.errors import ConfigError
    from fraudscore.stack.topics import create_topics

    if args.partitions < 1:
        raise ConfigError("--partitions must be at least 1")
    names = list(settings.topics().values())
    outcome = create_topics(settings.kafka_common(), names, args.partitions, args.replication_factor)
    for name, what in outcome.items():
        print(f"{name}: {what}")
    return 0
