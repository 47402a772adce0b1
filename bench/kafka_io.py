"""Producing the benchmark's input: a backlog as fast as the broker takes it, or paced at a fixed rate."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer
from tqdm import tqdm

from bench.exceptions import BenchError


def upstream_producer(kafka: dict[str, Any], linger_ms: int) -> Producer:
    """An upstream service's producer: idempotent, acks from all replicas."""
    return Producer({**kafka, "enable.idempotence": True, "acks": "all", "linger.ms": linger_ms})


def _produce(producer: Producer, topic: str, key: bytes, value: bytes) -> None:
    while True:
        try:
            producer.produce(topic, value, key)
            return
        except BufferError:
            producer.poll(0.05)  # the local queue is full: let deliveries drain


def _flush(producer: Producer) -> None:
    if producer.flush(60) != 0:
        raise BenchError("the broker did not acknowledge the benchmark's input within 60 s")


def produce_backlog(kafka: dict[str, Any], topic: str, keys: list[bytes], values: list[bytes]) -> None:
    producer = upstream_producer(kafka, linger_ms=20)
    for key, value in tqdm(zip(keys, values, strict=True), total=len(keys), desc="backlog", unit="ev"):
        _produce(producer, topic, key, value)
        producer.poll(0)
    _flush(producer)


class PacedProducer:
    """Sends events at a fixed rate, stamping each with `clock()` just before `produce`.

    Every millisecond it sends the events due by then, so the rate holds without a sleep per event.
    """

    def __init__(self, kafka: dict[str, Any], topic: str, clock: Callable[[], float] = time.perf_counter):
        # linger.ms=1: upstream services that care about latency do not hold events back for long.
        self._producer = upstream_producer(kafka, linger_ms=1)
        self._topic = topic
        self._clock = clock
        self.sent_at: dict[str, float] = {}
        self.elapsed_s = 0.0

    def run(self, ids: list[str], keys: list[bytes], values: list[bytes], rate: float) -> None:
        clock, stamps, produce = self._clock, self.sent_at, self._producer.produce
        start = clock()
        i, n = 0, len(ids)
        while i < n:
            due = min(n, int((clock() - start) * rate) + 1)
            while i < due:
                stamps[ids[i]] = clock()
                try:
                    produce(self._topic, values[i], keys[i])
                except BufferError:
                    self._producer.poll(0.01)
                    continue
                i += 1
            self._producer.poll(0)
            time.sleep(0.001)
        self.elapsed_s = clock() - start
        _flush(self._producer)
