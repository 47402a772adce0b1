"""The produce loop: paced events to the transactions topic, labels once due, every delivery counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from producer.events import OutgoingEvent
from producer.labels import LabelFeed
from producer.pacing import Clock, Pacer
from producer.publisher import DeliveryStats

POLL_EVERY = 1_000  # serve delivery reports at least this often when never waiting (rate 0)
PROGRESS_EVERY_S = 0.5
MAX_SLEEP_S = 0.05  # waits are cut into slices so that Ctrl-C and --duration are seen promptly


class Sink(Protocol):
    """What the loop needs of `producer.publisher.Publisher` (a fake in unit tests)."""

    stats: DeliveryStats

    def send(self, topic: str, key: bytes | None, value: bytes | None) -> None: ...

    def poll(self, timeout_s: float = 0.0) -> None: ...

    def flush(self, timeout_s: float = 30.0) -> int: ...


@dataclass(frozen=True)
class Limits:
    count: int | None = None
    duration_s: float | None = None


@dataclass
class ProduceSummary:
    sent: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    labels_sent: int = 0
    labels_pending: int = 0
    delivered: int = 0
    failed: int = 0
    labels_delivered: int = 0
    labels_failed: int = 0
    elapsed_s: float = 0.0
    first_event_time: int | None = None
    last_event_time: int | None = None
    interrupted: bool = False
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.labels_failed == 0 and self.first_error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "bad_injected": sum(self.bad.values()),
            "bad_by_kind": dict(sorted(self.bad.items())),
            "labels_sent": self.labels_sent,
            "labels_delivered": self.labels_delivered,
            "labels_failed": self.labels_failed,
            "labels_pending": self.labels_pending,
            "elapsed_s": round(self.elapsed_s, 3),
            "rate_achieved": round(self.rate, 1),
            "first_event_time": self.first_event_time,
            "last_event_time": self.last_event_time,
            "interrupted": self.interrupted,
            "first_error": self.first_error,
        }


class ProduceLoop:
    def __init__(
        self,
        publisher: Sink,
        pacer: Pacer,
        labels: LabelFeed,
        topic: str,
        labels_topic: str,
        clock: Clock,
        stop: Callable[[], bool] = lambda: False,
        progress: Callable[[ProduceSummary], None] | None = None,
    ) -> None:
        self._pub, self._pacer, self._labels = publisher, pacer, labels
        self._topic, self._labels_topic = topic, labels_topic
        self._clock, self._stop, self._progress = clock, stop, progress
        self.summary = ProduceSummary()

    def run(self, events: Iterable[OutgoingEvent], limits: Limits, flush_timeout_s: float) -> ProduceSummary:
        s = self.summary
        t0 = self._clock()
        deadline = t0 + limits.duration_s if limits.duration_s is not None else None
        next_progress = t0 + PROGRESS_EVERY_S
        for event in events:
            if limits.count is not None and s.sent >= limits.count:
                break
            if not self._wait_for(event, deadline):
                break
            self._pub.send(self._topic, event.key, event.value)
            s.sent += 1
            if event.bad_kind is not None:
                s.bad[event.bad_kind] += 1
            if s.first_event_time is None:
                s.first_event_time = event.event_time
            s.last_event_time = event.event_time
            self._labels.push(event)
            self._release_labels()
            if s.sent % POLL_EVERY == 0:
                self._pub.poll(0)
            if self._progress is not None and self._clock() >= next_progress:
                next_progress += PROGRESS_EVERY_S
                self._account(t0)
                self._progress(s)
        self._account(t0)
        self._pub.flush(flush_timeout_s)
        self._account(None)
        return s

    def _wait_for(self, event: OutgoingEvent, deadline: float | None) -> bool:
        """Wait until `event` may go; False when the run must end first (Ctrl-C or --duration)."""
        while True:
            if self._stop():
                self.summary.interrupted = True
                return False
            now = self._clock()
            if deadline is not None and now >= deadline:
                return False
            wait = self._pacer.wait_s(self.summary.sent, event.event_time)
            if wait <= 0:
                return True
            if deadline is not None:
                wait = min(wait, deadline - now)
            # Waiting is serving delivery reports, and (at a speedup) releasing labels that fall due.
            self._pub.poll(min(wait, MAX_SLEEP_S))
            self._release_labels()

    def _release_labels(self) -> None:
        last, due = self.summary.last_event_time, self._labels.next_due_ms
        if last is None or due is None:
            return
        now = self._pacer.sim_clock(last)
        if due > now:
            return
        for key, value in self._labels.due(now):
            self._pub.send(self._labels_topic, key, value)
            self.summary.labels_sent += 1

    def _account(self, t0: float | None) -> None:
        s, stats = self.summary, self._pub.stats
        if t0 is not None:
            s.elapsed_s = self._clock() - t0
        s.labels_pending = self._labels.pending
        s.delivered = stats.delivered[self._topic]
        s.labels_delivered = stats.delivered[self._labels_topic]
        s.failed = stats.total_failed - stats.failed[self._labels_topic]
        s.labels_failed = stats.failed[self._labels_topic]
        s.first_error = stats.first_error
