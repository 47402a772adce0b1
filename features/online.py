"""Online features: state in Redis that the stream keeps current, read for a whole batch at once.

`read` costs one MGET for the batch (a card key and a terminal key per distinct card and terminal),
then runs the same windowed arithmetic as offline (`features.windows`) over the state plus the batch's
own events: a card's second event in a batch sees its first, as offline. `record_transactions` and
`record_labels` write through one Lua script per call and are idempotent (see `features.store_script`).

Labels are `TransactionColumns` too: one row per labelled transaction, with that transaction's
`event_id`, `event_time` and `terminal_id`, and `is_fraud` 1 (rows with 0 are ignored: only frauds
change the features; a label cannot be taken back).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import redis

from features.definition import (
    DAY_MS,
    DEFAULT_LABEL_DELAY_DAYS,
    FEATURE_NAMES,
    assemble,
    card_horizon_ms,
    terminal_horizon_ms,
)
from features.exceptions import FeatureInputError, FeatureStoreError
from features.hashing import hash64
from features.store_layout import (
    CARD_ENTRY,
    FRAUD_BIT,
    TERMINAL_ENTRY,
    card_key,
    pack_groups,
    parse,
    terminal_key,
)
from features.store_script import APPEND_ENTRIES
from features.windows import card_block, terminal_block
from schemas.history import TransactionColumns

T = TypeVar("T")
NO_TRIM = 2**53  # a horizon longer than any epoch-ms time: the cutoff is negative
_CREDENTIALS = re.compile(r"://[^@/\s]*@")


def _first_of_each(tags: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """Mask keeping the first row of each event id (a batch may hold a redelivered duplicate)."""
    keep = np.zeros(len(tags), dtype=bool)
    keep[np.unique(tags, return_index=True)[1]] = True
    return keep


def _distinct(tx: TransactionColumns) -> tuple[TransactionColumns, npt.NDArray[np.uint64]]:
    """The transactions without repeated event ids, and their tags."""
    tags = hash64(tx.event_id)
    keep = _first_of_each(tags)
    return tx.take(keep), tags[keep]


def _groups(ids: npt.NDArray[np.str_]) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.int64]]:
    """The distinct ids, and for each row the index of its id among them."""
    distinct, inverse = np.unique(ids, return_inverse=True)
    return distinct, inverse.astype(np.int64).reshape(-1)


class OnlineFeatureStore:
    def __init__(
        self,
        client: redis.Redis[bytes],
        label_delay_days: int = DEFAULT_LABEL_DELAY_DAYS,
        *,
        prefix: str = "fs",
        ttl_ms: int | None = None,
        trim_slack_ms: int = DAY_MS,
    ) -> None:
        """`trim_slack_ms`: how much older (event time) than its card's or terminal's newest event an
        event may arrive and still see its whole windows."""
        if client.connection_pool.connection_kwargs.get("decode_responses"):
            raise FeatureInputError("the feature store needs a Redis client with decode_responses=False")
        self._client = client
        self._delay_ms = label_delay_days * DAY_MS
        self._prefix = prefix
        self._card_horizon = card_horizon_ms() + trim_slack_ms
        self._terminal_horizon = terminal_horizon_ms(label_delay_days) + trim_slack_ms
        self._ttl_ms = ttl_ms if ttl_ms is not None else self._terminal_horizon
        self._append = client.register_script(APPEND_ENTRIES)

    def _redis(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except redis.RedisError as exc:
            detail = _CREDENTIALS.sub("://***@", str(exc))
            raise FeatureStoreError(f"feature store: {type(exc).__name__}: {detail}") from None

    def _keys(self, cards: npt.NDArray[np.str_], terminals: npt.NDArray[np.str_]) -> list[str]:
        p = self._prefix
        return [card_key(p, c) for c in cards.tolist()] + [terminal_key(p, t) for t in terminals.tolist()]

    def read(self, tx: TransactionColumns) -> npt.NDArray[np.float32]:
        """The (n, F) feature matrix of the batch, as `compute_features` would give it."""
        if len(tx) == 0:
            return np.empty((0, len(FEATURE_NAMES)), dtype=np.float32)
        cards, card_of = _groups(tx.card_id)
        terminals, terminal_of = _groups(tx.terminal_id)
        values = self._redis(lambda: self._client.mget(self._keys(cards, terminals)))
        card_state, card_group = parse(values[: len(cards)], CARD_ENTRY)
        term_state, term_group = parse(values[len(cards) :], TERMINAL_ENTRY)

        time = tx.event_time.astype(np.int64)
        tags = hash64(tx.event_id)
        # The batch's own events join the state, unless the state holds them already (a retried batch).
        recent = card_state["time"] >= time.min()
        own = _first_of_each(tags) & ~np.isin(tags, card_state["tag"][recent])
        card_part = card_block(
            np.concatenate((card_group, card_of[own])),
            np.concatenate((card_state["time"], time[own])),
            np.concatenate((card_state["amount"], tx.amount[own])),
            card_of,
            time,
        )
        fraud = (term_state["tag"] & FRAUD_BIT).astype(bool)
        recent = ~fraud & (term_state["time"] >= time.min())
        own = _first_of_each(tags) & ~np.isin(tags & ~FRAUD_BIT, term_state["tag"][recent])
        terminal_part = terminal_block(
            np.concatenate((term_group[~fraud], terminal_of[own])),
            np.concatenate((term_state["time"][~fraud], time[own])),
            term_group[fraud],
            term_state["time"][fraud],
            terminal_of,
            time,
            self._delay_ms,
        )
        return assemble(tx, card_part, terminal_part)

    def record_transactions(self, tx: TransactionColumns) -> None:
        """Adds the transactions to their cards' and terminals' state; applying a batch twice is a no-op."""
        if len(tx) == 0:
            return
        tx, tags = _distinct(tx)
        cards, card_of = _groups(tx.card_id)
        terminals, terminal_of = _groups(tx.terminal_id)
        card_entries = np.empty(len(tx), dtype=CARD_ENTRY)
        card_entries["time"], card_entries["amount"], card_entries["tag"] = tx.event_time, tx.amount, tags
        term_entries = np.empty(len(tx), dtype=TERMINAL_ENTRY)
        term_entries["time"], term_entries["tag"] = tx.event_time, tags & ~FRAUD_BIT
        self._run(
            self._keys(cards, terminals),
            [len(cards), self._card_horizon, self._terminal_horizon],
            pack_groups(card_entries, card_of, len(cards))
            + pack_groups(term_entries, terminal_of, len(terminals)),
        )

    def record_labels(self, labels: TransactionColumns) -> None:
        """Marks the labelled transactions as frauds on their terminals (is_fraud 0 rows are ignored)."""
        if not (labels.is_fraud == 1).any():
            return
        frauds, tags = _distinct(labels.take(labels.is_fraud == 1))
        terminals, terminal_of = _groups(frauds.terminal_id)
        entries = np.empty(len(frauds), dtype=TERMINAL_ENTRY)
        entries["time"], entries["tag"] = frauds.event_time, tags | FRAUD_BIT
        empty = np.array([], dtype=np.str_)
        # No trimming here (an infinite horizon): a label's time is its transaction's, days in the past.
        self._run(
            self._keys(empty, terminals),
            [0, 0, NO_TRIM],
            pack_groups(entries, terminal_of, len(terminals)),
        )

    def _run(self, keys: list[str], head: list[int], blobs: list[bytes]) -> None:
        args: list[Any] = [self._ttl_ms, *head, *blobs]
        self._redis(lambda: self._append(keys=keys, args=args))
