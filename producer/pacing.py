"""When the next event may go, and what time it is in the simulation.

Two ways to pace a stream: a fixed number of events per wall-clock second (`RatePacer`; 0 means as fast
as possible), or simulated time running `speedup` times faster than the wall clock (`SpeedupPacer`).
Both schedule against the start time rather than the previous event, so small delays do not add up and
the average rate holds over any long run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Clock = Callable[[], float]


class Pacer(Protocol):
    def wait_s(self, sent: int, next_event_time: int) -> float:
        """Seconds until event number `sent` (with that event time) may go; <= 0 means now."""
        ...

    def sim_clock(self, last_event_time: int) -> int:
        """The simulated time now, epoch ms."""
        ...


class RatePacer:
    def __init__(self, rate: float, clock: Clock) -> None:
        self.rate = rate
        self._clock = clock
        self._t0 = clock()

    def wait_s(self, sent: int, next_event_time: int) -> float:
        if self.rate <= 0:
            return 0.0
        return self._t0 + sent / self.rate - self._clock()

    def sim_clock(self, last_event_time: int) -> int:
        # At a fixed rate the simulation advances with the events themselves.
        return last_event_time


class SpeedupPacer:
    def __init__(self, speedup: float, sim_start_ms: int, clock: Clock) -> None:
        self.speedup = speedup
        self._sim_start = sim_start_ms
        self._clock = clock
        self._t0 = clock()

    def wait_s(self, sent: int, next_event_time: int) -> float:
        return self._t0 + (next_event_time - self._sim_start) / 1000 / self.speedup - self._clock()

    def sim_clock(self, last_event_time: int) -> int:
        return self._sim_start + int((self._clock() - self._t0) * 1000 * self.speedup)
