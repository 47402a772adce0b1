"""The online store's writes, packed: one call of the script (`features.store_script`) per batch, in
Redis's wire format, ready to send.

A batch's `BatchKeys` serve its read and its write alike: the distinct cards and terminals, which of
them each row belongs to, and their keys, packed once for both commands.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from features.hashing import hash64
from features.redis_pipe import command, pack_args
from features.store_layout import (
    CARD_ENTRY,
    FRAUD_BIT,
    NO_TIME,
    TERMINAL_ENTRY,
    Parsed,
    card_key,
    last_times,
    pack_groups,
    tags_of,
    terminal_key,
)
from features.store_script import APPEND_ENTRIES, refresh_flags
from schemas.history import TransactionColumns

Hashes = npt.NDArray[np.uint64]


def _groups(ids: npt.NDArray[np.str_]) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.int64]]:
    """The distinct ids, and for each row the index of its id among them."""
    distinct, inverse = np.unique(ids, return_inverse=True)
    return distinct, inverse.astype(np.int64).reshape(-1)


def _keys(prefix: str, cards: npt.NDArray[np.str_], terminals: npt.NDArray[np.str_]) -> list[bytes]:
    keys = [card_key(prefix, c) for c in cards.tolist()] + [
        terminal_key(prefix, t) for t in terminals.tolist()
    ]
    return [k.encode() for k in keys]


@dataclass(frozen=True)
class BatchKeys:
    """What reading and then recording one batch both need, computed once."""

    hashes: Hashes
    card_of: npt.NDArray[np.int64]
    terminal_of: npt.NDArray[np.int64]
    n_cards: int
    keys: list[bytes]

    @classmethod
    def of(cls, prefix: str, tx: TransactionColumns) -> BatchKeys:
        cards, card_of = _groups(tx.card_id)
        terminals, terminal_of = _groups(tx.terminal_id)
        return cls(hash64(tx.event_id), card_of, terminal_of, len(cards), _keys(prefix, cards, terminals))

    @cached_property
    def tags(self) -> npt.NDArray[np.uint32]:
        """Each row's entry tag (`store_layout.tags_of`), for the read's merge and the write alike."""
        return tags_of(self.hashes)

    @cached_property
    def packed_keys(self) -> bytes:
        """The keys in the wire format, for both the read and the write (~0.4 ms for 1,800 keys)."""
        return pack_args(self.keys)

    def refreshes(self, time: npt.NDArray[np.int64], cards: Parsed, terminals: Parsed) -> bytes:
        """The write's refresh flags, from the keys' state just read and the batch's newest entries."""
        newest = np.full(len(self.keys), NO_TIME, dtype=np.int64)
        np.maximum.at(newest, self.card_of, time)
        np.maximum.at(newest, self.n_cards + self.terminal_of, time)
        return refresh_flags(np.concatenate((last_times(cards), last_times(terminals))), newest)


class WritePacker:
    """Packs the script's calls for one store: its key prefix, horizons and TTLs (card, terminal,
    batch marker)."""

    def __init__(self, prefix: str, card_horizon_ms: int, terminal_horizon_ms: int, ttls: list[int]) -> None:
        self._prefix = prefix
        self._card_horizon = card_horizon_ms
        self._terminal_horizon = terminal_horizon_ms
        self._ttls = ttls
        self._script = APPEND_ENTRIES.encode()

    def transactions(self, tx: TransactionColumns, b: BatchKeys) -> bytes:
        """The call that appends the batch's transactions to its cards and terminals (every key's TTL
        refreshed; the last argument holds the refresh flags, see `redis_pipe.set_last_argument`)."""
        card_entries = np.empty(len(tx), dtype=CARD_ENTRY)
        card_entries["time"], card_entries["amount"], card_entries["tag"] = tx.event_time, tx.amount, b.tags
        term_entries = np.empty(len(tx), dtype=TERMINAL_ENTRY)
        term_entries["time"], term_entries["tag"] = tx.event_time, b.tags & ~FRAUD_BIT
        card_data, card_ends = pack_groups(card_entries, b.card_of, b.n_cards)
        term_data, term_ends = pack_groups(term_entries, b.terminal_of, len(b.keys) - b.n_cards)
        ends = np.concatenate((card_ends, term_ends + len(card_data)))
        head = [b.n_cards, self._card_horizon, self._terminal_horizon, 0]
        return self._pack(b"tx", b.hashes, b.keys, head, card_data + term_data, ends, b.packed_keys)

    def labels(self, frauds: TransactionColumns) -> bytes:
        """The call that marks the labelled transactions (all frauds) on their terminals."""
        hashes = hash64(frauds.event_id)
        terminals, terminal_of = _groups(frauds.terminal_id)
        entries = np.empty(len(frauds), dtype=TERMINAL_ENTRY)
        entries["time"], entries["tag"] = frauds.event_time, tags_of(hashes) | FRAUD_BIT
        data, ends = pack_groups(entries, terminal_of, len(terminals))
        # A label's time is its transaction's, days in the past: the cutoff it gives is conservative.
        head = [0, 0, self._terminal_horizon, 1]
        keys = _keys(self._prefix, np.array([], dtype=np.str_), terminals)
        return self._pack(b"labels", hashes, keys, head, data, ends, pack_args(keys))

    def _pack(
        self,
        kind: bytes,
        hashes: Hashes,
        keys: list[bytes],
        head: list[int],
        data: bytes,
        ends: npt.NDArray[np.int64],
        packed_keys: bytes,
    ) -> bytes:
        """One script call, packed; `head`: number of card keys, card and terminal horizons, skip_known;
        `packed_keys`: `keys` in the wire format."""
        digest = hashlib.blake2b(kind + np.unique(hashes).tobytes(), digest_size=16).hexdigest()
        marker = f"{self._prefix}:applied:{digest}".encode()
        numbers = [str(n).encode() for n in (len(keys) + 1, *self._ttls, *head)]
        # EVAL, not EVALSHA: Redis caches the compiled script by its digest all the same, and a
        # restarted Redis (scripts gone) needs no second round trip to load it again.
        ends_le = ends.astype("<i8").tobytes()
        refresh = b"\x01" * len(keys)  # every key; the scorer's read may lower some (the last argument)
        before, after = [b"EVAL", self._script, numbers[0], marker], [*numbers[1:], data, ends_le, refresh]
        argc = len(before) + len(keys) + len(after)
        return command(argc, pack_args(before), packed_keys, pack_args(after))
