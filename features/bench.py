"""Measures the online store: read and write cost per event, and memory per card and per terminal.

It fills the store under its own key prefix with a Handbook-sized population (5,000 cards, 10,000
terminals, about 10,000 transactions a day) for the longest window plus the label delay, then times
`read` and `record_transactions` on batches of the steady state, and deletes its keys at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis
from tqdm import tqdm

from features.definition import DAY_MS, WINDOW_DAYS
from features.online import OnlineFeatureStore
from features.synthetic import generate
from schemas.history import TransactionColumns

PREFIX = "fsbench"


@dataclass(frozen=True)
class Measurement:
    """Per event: wall time of the calls, the CPU time this process spent in them, and the CPU time
    the Redis server spent (INFO cpu, which includes the INFO call itself: a few us per batch)."""

    batch: int
    read_us_per_event: float
    write_us_per_event: float
    read_cpu_us_per_event: float
    write_cpu_us_per_event: float
    redis_read_us_per_event: float
    redis_write_us_per_event: float
    label_us_per_label: float
    card_bytes: float
    terminal_bytes: float
    cards: int
    terminals: int


def _batches(tx: TransactionColumns, size: int) -> Iterator[TransactionColumns]:
    for start in range(0, len(tx), size):
        yield tx.take(slice(start, start + size))


def _median_memory(client: redis.Redis[bytes], pattern: str, sample: int = 300) -> float:
    keys = [k for _, k in zip(range(sample), client.scan_iter(match=pattern, count=1000), strict=False)]
    return float(np.median([client.memory_usage(k) or 0 for k in keys]))


def measure(
    client: redis.Redis[bytes], label_delay_days: int = 7, batch: int = 1000, per_day: int = 10_000
) -> Measurement:
    days = max(WINDOW_DAYS) + label_delay_days + 3
    tx = generate(per_day * days, days=days, cards=5000, terminals=10_000, seed=7)
    store = OnlineFeatureStore(client, label_delay_days=label_delay_days, prefix=PREFIX)
    warm = int(np.searchsorted(tx.event_time, tx.event_time[-1] - DAY_MS))
    frauds = tx.take(tx.is_fraud == 1)
    label_seconds, labelled, known = 0.0, 0, 0
    try:
        for part in tqdm(list(_batches(tx.take(slice(0, warm)), batch)), desc="warming", unit="batch"):
            store.record_transactions(part)
            now = int(part.event_time.max()) - label_delay_days * DAY_MS
            upto = int(np.searchsorted(frauds.event_time, now))
            start = time.perf_counter()
            store.record_labels(frauds.take(slice(known, upto)))
            label_seconds += time.perf_counter() - start
            labelled, known = labelled + upto - known, upto
        wall, cpu, server = np.zeros(2), np.zeros(2), np.zeros(2)
        timed = list(_batches(tx.take(slice(warm, None)), batch))[:-1]
        calls: tuple[Callable[[TransactionColumns], object], ...] = (store.read, store.record_transactions)
        for part in tqdm(timed, desc="timing", unit="batch"):
            for k, call in enumerate(calls):
                start, start_cpu, start_server = (
                    time.perf_counter(),
                    time.process_time(),
                    _server_cpu_s(client),
                )
                call(part)
                wall[k] += time.perf_counter() - start
                cpu[k] += time.process_time() - start_cpu
                server[k] += _server_cpu_s(client) - start_server
        per_event = 1e6 / (batch * len(timed))
        return Measurement(
            batch=batch,
            read_us_per_event=wall[0] * per_event,
            write_us_per_event=wall[1] * per_event,
            read_cpu_us_per_event=cpu[0] * per_event,
            write_cpu_us_per_event=cpu[1] * per_event,
            redis_read_us_per_event=server[0] * per_event,
            redis_write_us_per_event=server[1] * per_event,
            label_us_per_label=1e6 * label_seconds / max(labelled, 1),
            card_bytes=_median_memory(client, f"{PREFIX}:c:*"),
            terminal_bytes=_median_memory(client, f"{PREFIX}:t:*"),
            cards=len(np.unique(tx.card_id)),
            terminals=len(np.unique(tx.terminal_id)),
        )
    finally:
        for keys in _chunks(client.scan_iter(match=f"{PREFIX}:*", count=5000)):
            client.unlink(*keys)


def _server_cpu_s(client: redis.Redis[bytes]) -> float:
    """CPU seconds the Redis server has used: unlike timings, it does not grow when jobs share cores."""
    cpu: Any = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def _chunks(keys: Iterator[bytes], size: int = 5000) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for key in keys:
        chunk.append(key)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
