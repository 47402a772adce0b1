"""What a run did (the summary), and the one-line live status shown on a terminal."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class RunSummary:
    started: float
    events: int = 0  # transaction-topic messages, good and bad
    predictions: int = 0
    alerts: int = 0
    dead_letters: int = 0
    labels: int = 0
    batches: int = 0
    model_versions: list[str] = field(default_factory=list)
    first_batch_at: float | None = None
    last_batch_at: float | None = None

    def add_batch(
        self, events: int, predictions: int, alerts: int, dead: int, labels: int, model_version: str
    ) -> None:
        now = time.monotonic()
        self.first_batch_at = self.first_batch_at if self.first_batch_at is not None else now
        self.last_batch_at = now
        self.events += events
        self.predictions += predictions
        self.alerts += alerts
        self.dead_letters += dead
        self.labels += labels
        self.batches += 1
        if not self.model_versions or self.model_versions[-1] != model_version:
            self.model_versions.append(model_version)

    def lines(self, now: float) -> list[str]:
        # The rate counts from the first batch to the last: start-up and idle waits are not scoring.
        first, last = self.first_batch_at or self.started, self.last_batch_at or now
        took = max(last - first, 1e-9)
        return [
            f"events       {self.events:>12,}",
            f"predictions  {self.predictions:>12,}",
            f"alerts       {self.alerts:>12,}",
            f"dead letters {self.dead_letters:>12,}",
            f"labels       {self.labels:>12,}",
            f"batches      {self.batches:>12,}",
            f"rate         {self.predictions / took:>12,.0f} predictions/s, first to last batch "
            f"({took:.1f} s of {now - self.started:.1f} s)",
            f"models       {', '.join(self.model_versions) or '-'}",
        ]


class LiveLine:
    """Rewrites one terminal line at most every `every_s` seconds; silent when not a TTY."""

    def __init__(self, out: TextIO = sys.stderr, every_s: float = 0.5) -> None:
        self._out = out
        self._every = every_s
        self._last = 0.0
        self._last_predictions = 0
        self.enabled = out.isatty()

    def update(self, s: RunSummary, extra: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < self._every):
            return
        rate = (s.predictions - self._last_predictions) / max(now - self._last, 1e-9) if self._last else 0
        self._last, self._last_predictions = now, s.predictions
        model = s.model_versions[-1] if s.model_versions else "-"
        line = (
            f"scored {s.predictions:,}  {rate:,.0f}/s  alerts {s.alerts:,}  dlq {s.dead_letters:,}  "
            f"labels {s.labels:,}  model {model}  {extra}"
        )
        self._out.write("\r\x1b[2K" + line[:160])
        self._out.flush()

    def close(self) -> None:
        if self.enabled and self._last:
            self._out.write("\n")
