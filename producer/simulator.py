"""The transaction simulator: the Handbook's generative process, vectorised one day at a time.

Each day, every customer makes Poisson(mean_nb_tx_per_day) transactions at times drawn from a normal
around noon (standard deviation 20,000 s; draws outside the day are dropped, as in the Handbook), with
an amount drawn from normal(mean, std) (a negative draw is redrawn uniform in [0, 2 * mean)), rounded to
cents, at a terminal drawn uniformly among those within the radius. Then `scenarios` labels fraud.

Days are produced lazily and each is seeded by [seed, stream, day], so a stream can run for as long as
it is read, and the first N days are the same whether 10 or 180 days are simulated (scenario 3 looks 13
days ahead, so those days are generated before the day they change is handed out).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from producer.exceptions import SimulationError
from producer.population import Population, make_population
from producer.scenarios import (
    CUSTOMER_DAYS,
    STREAM_TRANSACTIONS,
    RawDay,
    compromise_customers,
    label_at_generation,
)
from schemas.history import TransactionColumns

DAY_MS = 86_400_000
DAY_S = 86_400
TIME_STD_S = 20_000.0
DEFAULT_START = "2018-04-01"  # the Handbook's first day, so figures compare with its own


def start_ms(date: str) -> int:
    """Epoch milliseconds of midnight UTC on an ISO date (or of an ISO date-time, taken as UTC)."""
    try:
        parsed = datetime.fromisoformat(date)
    except ValueError:
        raise SimulationError(f"--start {date!r} is not an ISO date such as 2018-04-01") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


@dataclass(frozen=True)
class SimulationConfig:
    customers: int = 5_000
    terminals: int = 10_000
    days: int | None = 180  # None: as many days as the reader asks for
    seed: int = 0
    start_ms: int = 1_522_540_800_000  # 2018-04-01T00:00:00Z
    radius: float = 5.0

    def check(self) -> None:
        if self.customers < 1 or self.terminals < 1:
            raise SimulationError("the simulation needs at least one customer and one terminal")
        if self.days is not None and self.days < 1:
            raise SimulationError("the simulation needs at least one day")
        if self.seed < 0:
            raise SimulationError("the seed must be a non-negative integer")
        if self.radius <= 0:
            raise SimulationError("the radius must be positive")


class Simulator:
    """Simulated transactions, one `TransactionColumns` per day, in event-time order."""

    def __init__(self, config: SimulationConfig) -> None:
        config.check()
        self.config = config
        self.population: Population = make_population(
            config.customers, config.terminals, config.seed, config.radius
        )
        self._card_names = _names("C", config.customers)
        self._terminal_names = _names("T", config.terminals)

    def days(self) -> Iterator[TransactionColumns]:
        cfg = self.config
        last = cfg.days  # None: unbounded
        window: deque[RawDay] = deque()
        produced = 0
        generated = 0
        for day in range(last) if last is not None else itertools.count():
            horizon = day + CUSTOMER_DAYS if last is None else min(day + CUSTOMER_DAYS, last)
            while generated < horizon:
                window.append(self._raw_day(generated))
                generated += 1
            compromise_customers(cfg.seed, list(window), cfg.customers)
            columns = self._finish(window.popleft(), produced)
            produced += len(columns)
            yield columns

    def _raw_day(self, day: int) -> RawDay:
        pop = self.population
        rng = np.random.default_rng([self.config.seed, STREAM_TRANSACTIONS, day])
        counts = rng.poisson(pop.mean_nb_tx_per_day)
        customer = np.repeat(np.arange(pop.n_customers, dtype=np.int64), counts)
        # astype truncates toward zero, as the Handbook's int() does.
        seconds = rng.normal(DAY_S / 2, TIME_STD_S, size=len(customer)).astype(np.int64)
        keep = (seconds > 0) & (seconds < DAY_S) & (pop.n_available[customer] > 0)
        customer, seconds = customer[keep], seconds[keep]
        mean = pop.mean_amount[customer]
        amount = rng.normal(mean, pop.std_amount[customer])
        negative = amount < 0
        amount[negative] = rng.uniform(0.0, 2.0 * mean[negative])
        amount = np.round(amount, 2)
        pick = (rng.random(len(customer)) * pop.n_available[customer]).astype(np.int64)
        terminal = pop.available[pop.available_ptr[customer] + pick]
        order = np.argsort(seconds, kind="stable")
        raw = RawDay(
            day=day,
            seconds=seconds[order],
            customer=customer[order],
            terminal=terminal[order],
            amount=amount[order],
            is_fraud=np.zeros(len(order), dtype=np.int8),
            scenario=np.zeros(len(order), dtype=np.int8),
        )
        label_at_generation(raw, self.config.seed, pop.n_terminals)
        return raw

    def _finish(self, raw: RawDay, first_index: int) -> TransactionColumns:
        n = len(raw.seconds)
        index = np.arange(first_index, first_index + n, dtype=np.int64)
        return TransactionColumns(
            event_id=event_ids(self.config.seed, index),
            event_time=self.config.start_ms + raw.day * DAY_MS + raw.seconds * 1000,
            card_id=self._card_names[raw.customer],
            terminal_id=self._terminal_names[raw.terminal],
            amount=raw.amount,
            is_fraud=raw.is_fraud,
            fraud_scenario=raw.scenario,
        )


def event_ids(seed: int, index: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    """`f"{seed:x}-{index:09d}"` for each index, without a Python loop."""
    return np.char.add(f"{seed:x}-", np.char.zfill(index.astype(np.str_), 9))


def _names(prefix: str, n: int) -> npt.NDArray[np.str_]:
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(np.str_), 6))


def simulate(
    config: SimulationConfig, on_day: Callable[[TransactionColumns], None] | None = None
) -> TransactionColumns:
    """The whole simulation as one column set; `on_day` sees each day as it is made (for progress)."""
    if config.days is None:
        raise SimulationError("simulate() needs a number of days")
    parts: list[TransactionColumns] = []
    for day in Simulator(config).days():
        parts.append(day)
        if on_day is not None:
            on_day(day)
    return concat(parts)


def concat(parts: list[TransactionColumns]) -> TransactionColumns:
    fields = TransactionColumns.__dataclass_fields__
    return TransactionColumns(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in fields})
