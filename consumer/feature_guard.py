"""Redis trouble handling around the online feature store.

Reads are retried within a time budget; past it the batch is scored with the card and terminal
features missing (and says so), or, when configured, the scorer waits for Redis. Writes that fail are
kept and replayed in order once Redis answers again: the store's updates are idempotent, so a replay
that partly happened before is harmless. Nothing here ever drops an event.

Writes run on one worker thread, one batch at a time and in order, so a batch's write (Redis executing
the script) overlaps the collection and decoding of the next batch; `wait` joins it, and every read
waits for the write before it, so a read always sees the previous batches' events.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
    def read(self, tx: TransactionColumns) -> Matrix: ...

    def record_transactions(self, tx: TransactionColumns) -> None: ...

    def record_labels(self, labels: TransactionColumns) -> None: ...


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
        self.degraded = False  # the last read fell back or a write is pending
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feature-writes")
        self._in_flight: Future[bool] | None = None
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

    def read(self, tx: TransactionColumns) -> tuple[Matrix, tuple[str, ...]]:
        """The batch's features, and the groups that are missing (empty when all were read)."""
        self.wait()
        must_wait = self._on_down == "pause" or self._pending_events > self._max_pending
        ok, matrix = self._retry(lambda: self._store.read(tx), forever=must_wait)
        if ok and matrix is not None:
            self.degraded = bool(self._pending)
            return matrix, ()
        if must_wait:
            raise FeatureStoreError("stopped while waiting for the feature store")
        self.degraded = True
        return transaction_only(tx), MISSING_GROUPS

    def record(self, tx: TransactionColumns, labels: TransactionColumns | None, wait: bool = False) -> None:
        """Queue the batch's updates and apply them on the writer thread; `wait` joins it at once."""
        self.wait()
        self._in_flight = self._writer.submit(self._record_now, tx, labels)
        if wait:
            self.wait()

    def wait(self) -> None:
        """Block until the write in flight is done (its failures are queued, never raised, but a bug
        in it is re-raised here)."""
        if self._in_flight is not None:
            done, self._in_flight = self._in_flight, None
            done.result()

    def close(self) -> None:
        self.wait()
        self._writer.shutdown()

    def _record_now(self, tx: TransactionColumns, labels: TransactionColumns | None) -> bool:
        if len(tx):
            self._pending.append(("tx", tx))
            self._pending_events += len(tx)
        if labels is not None and len(labels):
            self._pending.append(("labels", labels))
            self._pending_events += len(labels)
        return self._flush(self._budget if self._on_down == "pause" else 0.0)

    def flush_pending(self, budget_s: float = 0.0) -> bool:
        """Apply queued updates in order; False when Redis is still down (they stay queued)."""
        self.wait()
        return self._flush(budget_s)

    def _flush(self, budget_s: float) -> bool:
        deadline = self._clock() + budget_s
        while self._pending:
            kind, cols = self._pending[0]
            try:
                if kind == "tx":
                    self._store.record_transactions(cols)
                else:
                    self._store.record_labels(cols)
            except FeatureStoreError as exc:
                self._on_error()
                if self._clock() >= deadline:
                    log.warning("feature updates queued (%d events): %s", self._pending_events, exc)
                    self._backlogged = True
                    return False
                self._sleep(0.05)
                continue
            self._pending.popleft()
            self._pending_events -= len(cols)
        self._backlogged = False
        return True

    @property
    def pending_events(self) -> int:
        return self._pending_events

    @property
    def backlogged(self) -> bool:
        """Updates are queued because a write failed (not merely in flight)."""
        return self._backlogged
