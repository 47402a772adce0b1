"""Event-to-prediction latency at fixed input rates, with `fraudscore score` running as its own process.

The bench produces events at the rate (stamping each event id with the time just before `produce`)
while a downstream consumer in this process reads the predictions topic and stamps each prediction
when it is handed over; latency is the difference, on one clock. The scorer runs as a separate
`fraudscore score` process, as deployed, so it does not share this process's interpreter.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from confluent_kafka import Consumer, TopicPartition

from bench.exceptions import BenchError
from bench.kafka_io import PacedProducer
from fraudscore.settings import Settings
from schemas import Codec, open_schema_source


@dataclass(frozen=True)
class Latency:
    rate: float  # asked for
    achieved_rate: float  # what the producer managed
    events: int
    received: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    # The p99 of each part of the way, split at the prediction's `scored_at` (the scorer's wall clock,
    # floored to the millisecond): where a tail comes from, the scorer's input side or its output side.
    p99_to_scored_ms: float  # send -> scored: fetch, batch wait, decode, features, predict
    p99_after_scored_ms: float  # scored -> read: encode, produce, broker, the reader's fetch


class PredictionReader:
    """A downstream subscriber of the predictions topic, in a thread, stamping each arrival."""

    def __init__(self, settings: Settings, partitions: int) -> None:
        self._codec = Codec("prediction", open_schema_source(settings.schema_registry_url))
        self._consumer = Consumer(
            {**settings.kafka_common(), "group.id": "bench-reader", "enable.auto.commit": False}
        )
        topic = settings.topic_predictions
        self._consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        self.received_at: dict[str, float] = {}
        self.scored_at: dict[str, float] = {}  # the prediction's `scored_at`, wall-clock seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prediction-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        decode, stamps, scored = self._codec.decode, self.received_at, self.scored_at
        while not self._stop.is_set():
            # `consume(n, t)` returns only when it has n messages or t has passed, so stamping after a
            # `consume(1000, 0.01)` dated every prediction up to 10 ms late. Take what is already here,
            # else wait for the first arrival only.
            msgs = self._consumer.consume(1000, 0) or self._consumer.consume(1, 0.01)
            now = time.perf_counter()
            for m in msgs:
                if m.error() is None:
                    record = decode(m.value())
                    if record["event_id"] not in stamps:
                        # `scored_at` first: an id in `received_at` is "back", and its parts are read.
                        scored[record["event_id"]] = record["scored_at"] / 1000
                        stamps[record["event_id"]] = now

    def wait_for(self, ids: list[str], timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        while (got := sum(i in self.received_at for i in ids)) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        return got

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()


def scorer_process(
    settings: Settings, model_dir: Path, version: str, extra: list[str]
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDSCORE_")}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "REDIS_URL": settings.redis_url.get_secret_value(),
            "FRAUDSCORE_MODEL_DIR": str(model_dir),
            **{
                f"FRAUDSCORE_{k.upper()}": v
                for k, v in settings.model_dump().items()
                if k.startswith("topic_")
            },
        }
    )
    argv = [sys.executable, "-m", "fraudscore.cli", "score", "--metrics-port", "0"]
    argv += ["--group-id", f"bench-live-{time.monotonic_ns()}", "--model-version", version, *extra]
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_scorer(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BenchError("the scorer did not exit within 60 s of SIGTERM") from None
    if proc.returncode != 0:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise BenchError(f"the scorer exited with {proc.returncode}: {last[0]}")


def measure(
    producer: PacedProducer,
    reader: PredictionReader,
    ids: list[str],
    keys: list[bytes],
    values: list[bytes],
    rate: float,
) -> Latency:
    wall_minus_clock = time.time() - time.perf_counter()  # the stamps' clock to the wall clock
    producer.run(ids, keys, values, rate)
    received = reader.wait_for(ids, timeout_s=30)
    back = [i for i in ids if i in reader.received_at]
    if not back:
        raise BenchError(f"no prediction came back at {rate:,.0f} events/s")
    sent = np.array([producer.sent_at[i] for i in back]) + wall_minus_clock
    scored = np.array([reader.scored_at[i] for i in back])
    read = np.array([reader.received_at[i] for i in back]) + wall_minus_clock
    lat = 1000 * (read - sent)
    p50, p95, p99 = np.percentile(lat, [50, 95, 99])
    return Latency(
        rate,
        len(ids) / producer.elapsed_s,
        len(ids),
        received,
        float(p50),
        float(p95),
        float(p99),
        float(lat.max()),
        float(np.percentile(1000 * (scored - sent), 99)),
        float(np.percentile(1000 * (read - scored), 99)),
    )
