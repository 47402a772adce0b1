"""The benchmark's events: simulated, namespaced by run, encoded once, and the feature state they need.

Every id (event, card, terminal) carries the run's tag, so the feature keys the run writes never touch
a real card's state in the same Redis, and `reset_state` can delete exactly the run's keys. Before each
measured phase the store holds the same warm history (the longest window plus the label delay), so
every phase reads feature state of realistic size and starts from the same point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import redis
from tqdm import tqdm

from features.definition import DAY_MS
from features.online import OnlineFeatureStore
from producer.simulator import SimulationConfig, Simulator, concat
from schemas import Codec
from schemas.history import TransactionColumns

STATE_PREFIX = "fs"  # the scorer's own feature-store prefix: the run's ids keep its keys apart


@dataclass(frozen=True)
class Workload:
    tag: str
    warm: TransactionColumns  # history written to the store before each phase
    stream: TransactionColumns  # the events the phases produce, after `warm` in event time
    label_delay_days: int

    def slice(self, start: int, stop: int) -> TransactionColumns:
        return self.stream.take(slice(start, stop))


def _tagged(tag: str, ids: np.ndarray) -> np.ndarray:
    return np.char.add(f"{tag}-", ids)


def simulate(tag: str, events: int, warm_days: int, label_delay_days: int, seed: int = 11) -> Workload:
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

    def namespaced(tx: TransactionColumns) -> TransactionColumns:
        return TransactionColumns(
            event_id=_tagged(tag, tx.event_id),
            event_time=tx.event_time,
            card_id=_tagged(tag, tx.card_id),
            terminal_id=_tagged(tag, tx.terminal_id),
            amount=tx.amount,
            is_fraud=tx.is_fraud,
            fraud_scenario=tx.fraud_scenario,
        )

    return Workload(tag, namespaced(warm), namespaced(stream), label_delay_days)


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


def reset_state(client: redis.Redis[bytes], work: Workload) -> None:
    """Delete the run's feature keys, then write the warm history and the labels known by its end."""
    drop_state(client, work.tag)
    store = OnlineFeatureStore(client, label_delay_days=work.label_delay_days, prefix=STATE_PREFIX)
    for part in _batches(work.warm, 5000):
        store.record_transactions(part)
    known_by = int(work.stream.event_time[0]) - work.label_delay_days * DAY_MS
    frauds = work.warm.take((work.warm.is_fraud == 1) & (work.warm.event_time < known_by))
    store.record_labels(frauds)


def drop_state(client: redis.Redis[bytes], tag: str) -> None:
    keys: list[bytes] = []
    for key in client.scan_iter(match=f"{STATE_PREFIX}:*:{tag}-*", count=5000):
        keys.append(key)
        if len(keys) == 5000:
            client.unlink(*keys)
            keys = []
    if keys:
        client.unlink(*keys)


ProgressFn = Callable[[int], None]
