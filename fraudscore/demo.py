"""`fraudscore demo`: the whole system end to end, driven through the same commands ops would run.

Stack up (unless servers already answer), topics, a model (simulated history and training, only when
there is no current model), the feature store warmed from that history, the scorer, a stream of
simulated events with some malformed ones, alerts printed live, then a summary.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fraudscore.errors import FraudscoreError
from fraudscore.kafka_client import quiet
from fraudscore.settings import Settings


@dataclass(frozen=True)
class DemoPlan:
    events: int
    rate: float
    bad_fraction: float
    customers: int
    terminals: int
    history_days: int
    seed: int
    keep_stack: bool
    work_dir: Path


def say(line: str) -> None:
    print(f"\033[1mdemo:\033[0m {line}" if sys.stdout.isatty() else f"demo: {line}", flush=True)


class Runner:
    """Runs `fraudscore` subcommands as child processes with one environment."""

    def __init__(self, settings: Settings) -> None:
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "REDIS_URL": settings.redis_url.get_secret_value(),
        }
        self.base = [
            sys.executable,
            "-m",
            "fraudscore.cli",
            "--run-dir",
            str(settings.run_dir),
            "--model-dir",
            str(settings.model_dir),
        ]

    def run(self, *args: str, quiet: bool = False) -> str:
        out = subprocess.run(
            [*self.base, *args],
            env=self.env,
            text=True,
            stdout=subprocess.PIPE if quiet else None,
            check=False,
        )
        if out.returncode != 0:
            raise FraudscoreError(f"`fraudscore {' '.join(args)}` failed (exit {out.returncode})")
        return out.stdout or ""

    def start(self, *args: str, log: Path | None = None) -> subprocess.Popen[str]:
        sink = log.open("w") if log is not None else None
        return subprocess.Popen(
            [*self.base, *args],
            env=self.env,
            text=True,
            stdout=subprocess.PIPE if log is not None else None,
            stderr=sink,
        )


def servers_answer(settings: Settings) -> bool:
    from confluent_kafka.admin import AdminClient

    from fraudscore.redis_client import connect_redis

    try:
        connect_redis(settings.redis_url.get_secret_value(), timeout_s=1.0)
        AdminClient(quiet(settings.kafka_common())).list_topics(timeout=3)
    except Exception:  # any failure means: not usable, start our own
        return False
    return True


def caught_up(settings: Settings) -> bool:
    """The scorer's group has committed every transaction in the topic."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(quiet({**settings.kafka_common(), "group.id": settings.group_id}))
    try:
        topic = settings.topic_transactions
        parts = [TopicPartition(topic, p) for p in c.list_topics(topic, timeout=10).topics[topic].partitions]
        committed = {tp.partition: tp.offset for tp in c.committed(parts, timeout=10)}
        return all(c.get_watermark_offsets(tp, timeout=10)[1] <= committed[tp.partition] for tp in parts)
    finally:
        c.close()


def ensure_model(runner: Runner, settings: Settings, plan: DemoPlan, history: Path) -> None:
    from models.artifact import current_version

    if current_version(settings.model_dir) is not None and history.exists():
        say(f"model {current_version(settings.model_dir)} is current; skipping training")
        return
    say(f"simulating {plan.history_days} days of history ({plan.customers:,} customers)")
    runner.run(
        "simulate",
        "--customers",
        str(plan.customers),
        "--terminals",
        str(plan.terminals),
        "--days",
        str(plan.history_days),
        "--seed",
        str(plan.seed),
        "--out",
        str(history),
    )
    if current_version(settings.model_dir) is None:
        say("training the model (XGBoost) on that history")
        runner.run("train", "--history", str(history), "--out", str(settings.model_dir))


def run_demo(settings: Settings, plan: DemoPlan) -> int:
    from datetime import UTC, datetime, timedelta

    plan.work_dir.mkdir(parents=True, exist_ok=True)
    runner = Runner(settings)
    started_stack = False
    if servers_answer(settings):
        say(f"using the running Kafka at {settings.kafka_bootstrap_servers} and its Redis")
    else:
        say("starting the local stack (Kafka in KRaft mode and Redis)")
        runner.run("stack", "up", quiet=True)
        started_stack = True
    scorer = tail = None
    try:
        runner.run("topics", "create", quiet=True)
        history = plan.work_dir / f"history-{plan.customers}-{plan.history_days}d-{plan.seed}.avro"
        ensure_model(runner, settings, plan, history)
        say("warming the online feature store from the history")
        runner.run("features", "load", "--history", str(history))
        say("starting the scorer and an alert subscriber; alerts appear below as they fire")
        scorer = runner.start("score", "--metrics-port", "0", log=plan.work_dir / "scorer.log")
        tail = runner.start("tail", "alerts")
        start = datetime(2018, 4, 1, tzinfo=UTC) + timedelta(days=plan.history_days)
        produced = runner.run(
            "produce",
            "--count",
            str(plan.events),
            "--rate",
            str(plan.rate),
            "--bad-fraction",
            str(plan.bad_fraction),
            "--customers",
            str(plan.customers),
            "--terminals",
            str(plan.terminals),
            "--seed",
            str(plan.seed),
            "--start",
            start.strftime("%Y-%m-%d"),
            "--json",
            quiet=True,
        )
        deadline = time.monotonic() + 120
        while not caught_up(settings) and time.monotonic() < deadline:
            time.sleep(0.5)
        scorer.send_signal(signal.SIGTERM)
        scored, _ = scorer.communicate(timeout=60)
        summary = json.loads(produced.strip().splitlines()[-1])
        say("done")
        print(f"\nproducer: {json.dumps(summary)}\nscorer:\n{scored}")
        print(f"scorer log: {plan.work_dir / 'scorer.log'}; models in {settings.model_dir}")
        return 0 if scorer.returncode == 0 else 1
    finally:
        for proc in (tail, scorer):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)
        if started_stack and not plan.keep_stack:
            say("stopping the local stack (use --keep-stack to leave it running)")
            runner.run("stack", "down", quiet=True)
