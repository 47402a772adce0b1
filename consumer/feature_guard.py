"""Redis trouble handling around the online feature store.

Reads are retried within a time budget; past it the batch is scored with the card and terminal
features missing (and says so), or, when configured, the scorer waits for Redis. Writes that fail are
kept and replayed in order once Redis answers again: the store's updates are idempotent, so a replay
that partly happened before is harmless. Nothing here ever drops an event.

A batch's write is sent and its answer read only by `wait`, which the next batch calls once it is
collected and decoded: Redis executes the script meanwhile, on its own core. Every read waits for the
writes before it, so a read always sees the previous batches' events. (A worker thread did this before;
its steps waited for the GIL behind the decoding loop and the write took twice Redis's own time.)
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from features.definition import transaction_only
from features.exceptions import FeatureStoreError
from schemas.history import TransactionColumns

log = logging.getLogger(__name__)

MISSING_GROUPS = ("card", "terminal")
Matrix = npt.NDArray[np.float32]


class FeatureStore(Protocol):
    def start_read(self, tx: TransactionColumns) -> None: ...

    def read(self, tx: TransactionColumns, on_fetched: Callable[[], None] | None = None) -> Matrix: ...

    def send_transactions(self, tx: TransactionColumns) -> None: ...

    def send_labels(self, labels: TransactionColumns) -> None: ...

    def confirm(self) -> None: ...


class FeatureGuard:
    def __init__(
        self,
        store: FeatureStore,
        budget_s: float,
        on_down: Literal["score-missing", "pause"],
        should_stop: Callable[[], bool],
        on_error: Callable[[], None] = lambda: None,
        max_pending_events: int = 500_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._budget = budget_s
        self._on_down = on_down
        self._should_stop = should_stop
        self._on_error = on_error
        self._max_pending = max_pending_events
        self._clock = clock
        self._sleep = sleep
        self._pending: deque[tuple[str, TransactionColumns]] = deque()
        self._pending_events = 0
        self.degraded = False  # the last read fell back or updates are queued
        self._in_flight = 0  # leading updates of `_pending` sent, their answers not yet read
        self._backlogged = False

    def _retry(self, op: Callable[[], Matrix | None], forever: bool) -> tuple[bool, Matrix | None]:
        deadline = self._clock() + self._budget
        delay = 0.05
        while True:
            try:
                return True, op()
            except FeatureStoreError as exc:
                self._on_error()
                if self._should_stop() or (not forever and self._clock() + delay > deadline):
                    log.warning("feature store unavailable: %s", exc)
                    return False, None
            self._sleep(delay)
            delay = min(delay * 2, 1.0)

    def start_read(self, tx: TransactionColumns) -> None:
        """Send the batch's read now, so that Redis answers while the caller does other work;
        `read_then_record` takes the answer. A failure here only costs the head start: the read is
        retried there, as any other."""
        self.wait()
        if self._pending or not len(tx):
            return  # queued updates go first (`_replay_then_read`)
        try:
            self._store.start_read(tx)
        except FeatureStoreError as exc:  # counted when the read itself fails too
            log.debug("early read not sent: %s", exc)

    def read_then_record(
        self, tx: TransactionColumns, labels: TransactionColumns | None
    ) -> tuple[Matrix, tuple[str, ...]]:
        """The batch's features, and the groups that are missing (empty when all were read); the
        batch's updates are sent as soon as its state is fetched, so that Redis applies them while the
        features are computed and the batch is scored, not while the next batch waits for them."""
        self.wait()
        sent = False

        def send() -> None:
            nonlocal sent
            if not sent:
                sent = True
                self.record(tx, labels)

        must_wait = self._on_down == "pause" or self._pending_events > self._max_pending
        ok, matrix = self._retry(lambda: self._replay_then_read(tx, send), forever=must_wait)
        send()  # when the state could not be fetched: the updates are queued all the same
        if ok and matrix is not None:
            self.degraded = self._backlogged
            return matrix, ()
        if must_wait:
            raise FeatureStoreError("stopped while waiting for the feature store")
        self.degraded = True
        return transaction_only(tx), MISSING_GROUPS

    def _replay_then_read(self, tx: TransactionColumns, on_fetched: Callable[[], None]) -> Matrix:
        # Queued updates first, so that a read once Redis is back sees every earlier event.
        while self._pending:
            self._apply_oldest()
        self._backlogged = False
        return self._store.read(tx, on_fetched)

    def record(self, tx: TransactionColumns, labels: TransactionColumns | None, wait: bool = False) -> None:
        """Send the batch's updates; `wait` (or the next batch) reads Redis's answer."""
        self.wait()
        fresh = [
            (kind, cols) for kind, cols in (("tx", tx), ("labels", labels)) if cols is not None and len(cols)
        ]
        older = bool(self._pending)
        for kind, cols in fresh:
            self._pending.append((kind, cols))
            self._pending_events += len(cols)
        if older:  # queued updates go first, in order
            self._flush(self._failure_budget())
            return
        try:
            for kind, cols in fresh:
                self._send(kind, cols)
        except FeatureStoreError:
            self._on_error()
            self._flush(self._failure_budget())
            return
        self._in_flight = len(fresh)
        if wait:
            self.wait()

    def _send(self, kind: str, cols: TransactionColumns) -> None:
        if kind == "tx":
            self._store.send_transactions(cols)
        else:
            self._store.send_labels(cols)

    def wait(self) -> None:
        """Block until the updates sent are applied; those that fail are queued, never raised."""
        if not self._in_flight:
            return
        sent, self._in_flight = self._in_flight, 0
        try:
            self._store.confirm()
        except FeatureStoreError:
            self._on_error()
            self._flush(self._failure_budget())
            return
        for _ in range(sent):
            _, cols = self._pending.popleft()
            self._pending_events -= len(cols)

    def close(self) -> None:
        self.wait()
        if self._pending:
            self._flush(self._budget)
        if self._pending:
            log.warning(
                "stopping with %d events' feature updates not applied (at-least-once leaves their "
                "offsets uncommitted, so that they are redone)",
                self._pending_events,
            )

    def _failure_budget(self) -> float:
        # Scoring without features cannot wait for Redis; pausing waits up to the budget per batch.
        return self._budget if self._on_down == "pause" else 0.0

    def flush_pending(self, budget_s: float = 0.0) -> bool:
        """Apply queued updates in order; False when Redis is still down (they stay queued)."""
        self.wait()
        return self._flush(budget_s)

    def _flush(self, budget_s: float) -> bool:
        deadline = self._clock() + budget_s
        while self._pending:
            try:
                self._apply_oldest()
            except FeatureStoreError as exc:
                self._on_error()
                if self._clock() >= deadline:
                    if not self._backlogged:
                        log.warning("feature updates queued (%d events): %s", self._pending_events, exc)
                    self._backlogged = True
                    return False
                self._sleep(0.05)
        self._backlogged = False
        return True

    def _apply_oldest(self) -> None:
        """Apply the oldest queued update; FeatureStoreError (and it stays queued) when Redis fails."""
        kind, cols = self._pending[0]
        self._send(kind, cols)
        self._store.confirm()
        self._pending.popleft()
        self._pending_events -= len(cols)

    @property
    def pending_events(self) -> int:
        """Events whose feature updates are queued for a replay (not those merely in flight)."""
        in_flight = sum(len(cols) for _, cols in list(self._pending)[: self._in_flight])
        return self._pending_events - in_flight

    @property
    def backlogged(self) -> bool:
        """Updates are queued because a write failed (not merely in flight)."""
        return self._backlogged
