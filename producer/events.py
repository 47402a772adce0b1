"""Simulated transactions as encoded messages, in event-time order, with optional bad ones mixed in.

`EventStream` is the reusable core of `fraudscore produce` (and of benchmarks and the demo): it turns
day blocks from the simulator (or any `TransactionColumns`) into (key, value, event_time) messages. The
same seed gives the same messages, byte for byte, bad ones included.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from producer.bad_messages import KINDS, make_bad
from producer.encoding import encode_transactions, key_of, transaction_rows
from schemas import Codec
from schemas.history import TransactionColumns

STREAM_BAD = 7  # the random stream of bad-message choices, apart from the simulator's streams


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """One message for the transactions topic; `source[row]` is the transaction it stands for."""

    key: bytes
    value: bytes
    event_time: int
    bad_kind: str | None
    source: TransactionColumns
    row: int


class EventStream:
    """Iterate to get `OutgoingEvent`s; `bad_fraction` of them are replaced by malformed messages,
    drawn evenly from every kind in `producer.bad_messages.KINDS`."""

    def __init__(
        self,
        blocks: Iterable[TransactionColumns],
        codec: Codec,
        *,
        bad_fraction: float = 0.0,
        seed: int = 0,
        kinds: tuple[str, ...] = KINDS,
    ) -> None:
        if not 0.0 <= bad_fraction <= 1.0:
            raise ValueError("bad_fraction must be within [0, 1]")
        self._blocks = blocks
        self._codec = codec
        self._bad_fraction = bad_fraction
        self._kinds = kinds
        self._rng = np.random.default_rng([seed, STREAM_BAD])

    def __iter__(self) -> Iterator[OutgoingEvent]:
        for block in self._blocks:
            n = len(block)
            bad = self._rng.random(n) < self._bad_fraction
            kind = self._rng.integers(len(self._kinds), size=n)
            values: list[bytes] = encode_transactions(self._codec, block)
            bad_rows = np.nonzero(bad)[0]
            for row, record in zip(bad_rows.tolist(), transaction_rows(block.take(bad_rows)), strict=True):
                values[row] = make_bad(self._kinds[kind[row]], record, self._codec, self._rng)
            names = np.full(n, None, dtype=object)
            names[bad_rows] = [self._kinds[k] for k in kind[bad_rows].tolist()]
            for i, (card, value, time, name) in enumerate(
                zip(block.card_id.tolist(), values, block.event_time.tolist(), names.tolist(), strict=True)
            ):
                yield OutgoingEvent(key_of(card), value, time, name, block, i)
