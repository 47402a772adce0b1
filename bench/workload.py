"""The benchmark's events (simulated, encoded once) and the feature state every phase starts from.

The bench keeps its feature state in a Redis database of its own (`BENCH_DB`, which must be empty), so
it never touches the state a real scorer reads, and it can put back the same warm history (the longest
window plus the label delay, written once, then restored from a DUMP) before each measured phase: every
phase reads feature state of realistic size and starts from the same point.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import redis
from tqdm import tqdm

from bench.exceptions import BenchError
from features.definition import DAY_MS
from features.online import OnlineFeatureStore
from producer.simulator import SimulationConfig, Simulator, concat
from schemas import Codec
from schemas.history import TransactionColumns

BENCH_DB = 15


@dataclass(frozen=True)
class Workload:
    warm: TransactionColumns  # history written to the store before each phase
    stream: TransactionColumns  # the events the phases produce, after `warm` in event time
    label_delay_days: int

    def slice(self, start: int, stop: int) -> TransactionColumns:
        return self.stream.take(slice(start, stop))


def simulate(events: int, warm_days: int, label_delay_days: int, seed: int = 11) -> Workload:
    """`warm_days` of history and then at least `events` more, from the producer's simulator."""
    days: list[TransactionColumns] = []
    sim = Simulator(SimulationConfig(days=None, seed=seed))
    streamed = 0
    with tqdm(desc="simulating", unit="day", leave=False) as bar:
        for day in sim.days():
            days.append(day)
            if len(days) > warm_days:
                streamed += len(day)
            bar.update(1)
            if streamed >= events:
                break
    warm, stream = concat(days[:warm_days]), concat(days[warm_days:]).take(slice(0, events))

    return Workload(warm, stream, label_delay_days)


def encode(tx: TransactionColumns, codec: Codec) -> tuple[list[bytes], list[bytes]]:
    """(keys, values) as an upstream producer sends them: key = card id, value = framed Avro."""
    keys = [c.encode() for c in tx.card_id.tolist()]
    values = [
        codec.encode(
            {
                "event_id": e,
                "event_time": t,
                "card_id": c,
                "terminal_id": m,
                "amount": a,
                "currency": "EUR",
            }
        )
        for e, t, c, m, a in tqdm(
            zip(
                tx.event_id.tolist(),
                tx.event_time.tolist(),
                tx.card_id.tolist(),
                tx.terminal_id.tolist(),
                tx.amount.tolist(),
                strict=True,
            ),
            total=len(tx),
            desc="encoding",
            unit="ev",
            leave=False,
        )
    ]
    return keys, values


def _batches(tx: TransactionColumns, size: int) -> Iterator[TransactionColumns]:
    for start in range(0, len(tx), size):
        yield tx.take(slice(start, start + size))


def bench_redis_url(url: str) -> str:
    """The same server, database `BENCH_DB`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", parts.query, parts.fragment))


class FeatureState:
    """The warm feature state in the bench's own database, written once and restored before each phase."""

    def __init__(self, client: redis.Redis[bytes], work: Workload) -> None:
        if client.dbsize():
            raise BenchError(
                f"Redis database {BENCH_DB} holds keys: the bench needs it empty (it flushes it at the end)"
            )
        self._client = client
        store = OnlineFeatureStore(client, label_delay_days=work.label_delay_days)
        for part in tqdm(list(_batches(work.warm, 5000)), desc="warming features", unit="batch", leave=False):
            store.record_transactions(part)
        known_by = int(work.stream.event_time[0]) - work.label_delay_days * DAY_MS
        store.record_labels(work.warm.take((work.warm.is_fraud == 1) & (work.warm.event_time < known_by)))
        keys = list(client.scan_iter(count=5000))
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.dump(key)
            pipe.pttl(key)
        replies = pipe.execute()
        self._dumps = [(k, replies[2 * i], replies[2 * i + 1]) for i, k in enumerate(keys)]

    def restore(self) -> None:
        self._client.flushdb()
        pipe = self._client.pipeline(transaction=False)
        for key, blob, ttl in self._dumps:
            pipe.restore(key, max(int(ttl), 0), blob, replace=True)
        pipe.execute()

    def values(self) -> dict[bytes, bytes]:
        """The warm state as plain values by key (after `restore`)."""
        keys = [k for k, _, _ in self._dumps]
        got = self._client.mget(keys)
        return {k: v for k, v in zip(keys, got, strict=True) if v is not None}

    def drop(self) -> None:
        self._client.flushdb()
