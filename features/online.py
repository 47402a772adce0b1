"""Online features: state in Redis that the stream keeps current, read for a whole batch at once.

`read` costs one MGET for the batch (a card key and a terminal key per distinct card and terminal),
then runs the same windowed arithmetic as offline (`features.windows`) over the state plus the batch's
own events: a card's second event in a batch sees its first, as offline. `record_transactions` and
`record_labels` write through one Lua script call each (packed by `features.store_write`) and are
idempotent (`features.store_script`).
`send_transactions` and `send_labels` only send that call; `confirm` reads Redis's answer later, so
that Redis runs the script while the caller gets on with its next batch (`features.redis_pipe`).
Likewise `start_read` sends a batch's MGET, and `read` takes the answer: the caller works meanwhile.
A write sent from `read`'s `on_fetched` (the scorer's way) refreshes the TTL of only the keys that
need it, which the read has just seen; any other write refreshes every key it touches.

Labels are `TransactionColumns` too: one row per labelled transaction, with that transaction's
`event_id`, `event_time` and `terminal_id`, and `is_fraud` 1 (rows with 0 are ignored: only frauds
change the features; a label cannot be taken back).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

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
from features.redis_pipe import RedisPipe, command, pack_args, set_last_argument
from features.store_layout import CARD_ENTRY, FRAUD_BIT, TERMINAL_ENTRY, parse
from features.store_script import REFRESH_PERIOD_MS
from features.store_write import BatchKeys, WritePacker
from features.windows import Entries, card_block, terminal_block
from schemas.history import TransactionColumns

T = TypeVar("T")
_CREDENTIALS = re.compile(r"://[^@/\s]*@")
_MGET = pack_args([b"MGET"])


class OnlineFeatureStore:
    def __init__(
        self,
        client: redis.Redis[bytes],
        label_delay_days: int = DEFAULT_LABEL_DELAY_DAYS,
        *,
        prefix: str = "fs",
        trim_slack_ms: int = DAY_MS,
        ttl_slack_ms: int = DAY_MS,
        marker_ttl_ms: int = DAY_MS,
    ) -> None:
        """`trim_slack_ms`: how much older (event time) than the newest event of its card or terminal
        an event may be and still see its whole windows. The TTLs (wall time) are the horizons plus
        `ttl_slack_ms` plus two refresh periods (`features.store_script`); a batch's marker lives
        `marker_ttl_ms`."""
        if client.connection_pool.connection_kwargs.get("decode_responses"):
            raise FeatureInputError("the feature store needs a Redis client with decode_responses=False")
        self._client = client
        self._delay_ms = label_delay_days * DAY_MS
        self._prefix = prefix
        card_horizon = card_horizon_ms() + trim_slack_ms
        terminal_horizon = terminal_horizon_ms(label_delay_days) + trim_slack_ms
        beyond = ttl_slack_ms + 2 * REFRESH_PERIOD_MS
        ttls = [card_horizon + beyond, terminal_horizon + beyond, marker_ttl_ms]
        self._packer = WritePacker(prefix, card_horizon, terminal_horizon, ttls)
        self._pipe = RedisPipe(client.connection_pool)
        self._last: tuple[TransactionColumns, BatchKeys] | None = None
        # A batch's write, packed while its read is answered; until the answer says which keys need a
        # TTL refresh, it refreshes them all.
        self._packed: tuple[TransactionColumns, bytearray] | None = None
        self._reading: tuple[TransactionColumns, bytearray] | None = None  # MGET sent, not yet answered

    def _redis(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except redis.RedisError as exc:
            detail = _CREDENTIALS.sub("://***@", str(exc))
            raise FeatureStoreError(f"feature store: {type(exc).__name__}: {detail}") from None

    def _batch(self, tx: TransactionColumns) -> BatchKeys:
        # The scorer records the very batch it has just read: the second call reuses the first's work.
        if self._last is not None and self._last[0] is tx:
            return self._last[1]
        batch = BatchKeys.of(self._prefix, tx)
        self._last = (tx, batch)
        return batch

    def start_read(self, tx: TransactionColumns) -> None:
        """Send the batch's MGET now (after every write sent before) and pack its write while Redis
        answers; `read(tx, on_fetched)` takes the answer. The caller may do other work in between, but
        send nothing else through this store."""
        if len(tx):
            self._start_read(tx)

    def _start_read(self, tx: TransactionColumns) -> bytearray:
        self.confirm()  # the state read must include every write sent before
        b = self._batch(tx)
        mget = command(len(b.keys) + 1, _MGET, b.packed_keys)
        self._redis(lambda: self._pipe.send_packed(mget))
        write = bytearray(self._packer.transactions(tx, b))
        self._packed = self._reading = (tx, write)
        return write

    def read(
        self, tx: TransactionColumns, on_fetched: Callable[[], None] | None = None
    ) -> npt.NDArray[np.float32]:
        """The (n, F) feature matrix of the batch, as `compute_features` would give it.

        `on_fetched` runs once the state is in hand, before the features are computed from it: the
        moment to send the batch's own write, which Redis then applies meanwhile (the features do not
        depend on it: the batch's events are merged in, and counted once if the state has them)."""
        if len(tx) == 0:
            return np.empty((0, len(FEATURE_NAMES)), dtype=np.float32)
        b = self._batch(tx)
        card_of, terminal_of = b.card_of, b.terminal_of
        if on_fetched is None:
            self.confirm()
            values = self._redis(lambda: self._client.mget(b.keys))
        else:
            # The caller writes this batch next: its script call is packed while Redis answers the
            # MGET (sent on the write connection, which has no reply owed after `confirm`).
            reading = self._reading
            write = reading[1] if reading is not None and reading[0] is tx else self._start_read(tx)
            self._reading = None  # a failure below leaves nothing owed: a retry starts afresh
            values = self._redis(self._pipe.replies)[0]
        cards, terminals = parse(values[: b.n_cards], CARD_ENTRY), parse(values[b.n_cards :], TERMINAL_ENTRY)
        card_state, card_group, _ = cards
        term_state, term_group, _ = terminals
        time = tx.event_time.astype(np.int64)
        if on_fetched is not None:
            set_last_argument(write, b.refreshes(time, cards, terminals))
            on_fetched()

        # The batch's own events join the state; one the state holds already (a retried batch) has
        # the same entity, time and tag as its copy there, and counts once.
        tags = b.tags
        cards_seen = Entries(
            np.concatenate((card_group, card_of)),
            np.concatenate((card_state["time"], time)),
            np.concatenate((card_state["amount"], tx.amount)),
            np.concatenate((card_state["tag"], tags)),
        )
        fraud = (term_state["tag"] & FRAUD_BIT).astype(bool)
        terminal_txs = Entries(
            np.concatenate((term_group[~fraud], terminal_of)),
            np.concatenate((term_state["time"][~fraud], time)),
            tag=np.concatenate((term_state["tag"][~fraud], tags & ~FRAUD_BIT)),
        )
        terminal_frauds = Entries(term_group[fraud], term_state["time"][fraud], tag=term_state["tag"][fraud])
        return assemble(
            tx,
            card_block(cards_seen, card_of, time),
            terminal_block(terminal_txs, terminal_frauds, terminal_of, time, self._delay_ms),
        )

    def record_transactions(self, tx: TransactionColumns) -> None:
        """Adds the transactions to their cards' and terminals' state; applying a batch twice is a no-op."""
        self.send_transactions(tx)
        self.confirm()

    def record_labels(self, labels: TransactionColumns) -> None:
        """Marks the labelled transactions as frauds on their terminals (is_fraud 0 rows are ignored)."""
        self.send_labels(labels)
        self.confirm()

    def confirm(self) -> None:
        """Wait for the writes sent so far; FeatureStoreError when any may not have been applied."""
        self._reading = None  # a read started is answered here too: `read` sends it again
        self._redis(self._pipe.replies)

    def send_transactions(self, tx: TransactionColumns) -> None:
        """`record_transactions` without waiting for Redis's answer (see `confirm`)."""
        if len(tx) == 0:
            return
        packed = self._packed[1] if self._packed is not None and self._packed[0] is tx else None
        self._packed = None
        self._redis(lambda: self._pipe.send_packed(packed or self._packer.transactions(tx, self._batch(tx))))

    def send_labels(self, labels: TransactionColumns) -> None:
        """`record_labels` without waiting for Redis's answer (see `confirm`)."""
        frauds = labels.take(labels.is_fraud == 1)
        if len(frauds) == 0:
            return
        packed = self._packer.labels(frauds)
        self._redis(lambda: self._pipe.send_packed(packed))
