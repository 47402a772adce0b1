"""The simulator: the Handbook's generative process, its fraud scenarios, and byte-for-byte determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from producer.exceptions import SimulationError
from producer.scenarios import (
    COMPROMISED_CARD,
    COMPROMISED_TERMINAL,
    GENUINE,
    HIGH_AMOUNT,
    TERMINAL_DAYS,
    compromised_terminals,
)
from producer.simulator import DAY_MS, SimulationConfig, Simulator, simulate, start_ms
from schemas.history import TransactionColumns, read_history, write_history

SMALL = SimulationConfig(customers=300, terminals=600, days=40, seed=11)


def _equal(a: TransactionColumns, b: TransactionColumns) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in TransactionColumns.__dataclass_fields__)


@pytest.fixture(scope="module")
def handbook() -> TransactionColumns:
    """The Handbook's own sizes: 5,000 customers, 10,000 terminals, 180 days (about 1.75 M rows)."""
    return simulate(SimulationConfig(customers=5_000, terminals=10_000, days=180, seed=0))


def test_same_seed_same_history_file_bytes(tmp_path: Path) -> None:
    write_history(tmp_path / "a.avro", simulate(SMALL))
    write_history(tmp_path / "b.avro", simulate(SMALL))
    assert (tmp_path / "a.avro").read_bytes() == (tmp_path / "b.avro").read_bytes()
    other = SimulationConfig(customers=300, terminals=600, days=40, seed=12)
    write_history(tmp_path / "c.avro", simulate(other))
    assert (tmp_path / "c.avro").read_bytes() != (tmp_path / "a.avro").read_bytes()


def test_history_file_round_trips(tmp_path: Path) -> None:
    cols = simulate(SMALL)
    write_history(tmp_path / "h.avro", cols)
    assert _equal(read_history(tmp_path / "h.avro"), cols)


def test_a_longer_run_starts_with_the_same_days() -> None:
    # Scenario 3 looks 13 days ahead, so the first (days - 13) days are final in both runs.
    short = simulate(SimulationConfig(customers=300, terminals=600, days=30, seed=5))
    long = simulate(SimulationConfig(customers=300, terminals=600, days=45, seed=5))
    cut = short.event_time < start_ms("2018-04-01") + 17 * DAY_MS
    assert cut.sum() > 1000
    assert _equal(short.take(cut), long.take(np.arange(int(cut.sum()))))


def test_ids_times_and_order() -> None:
    cols = simulate(SMALL)
    assert np.all(np.diff(cols.event_time) >= 0)
    assert len(set(cols.event_id.tolist())) == len(cols)
    assert cols.event_id[0] == "b-000000000"  # f"{seed:x}-{index:09d}"
    assert all(c.startswith("C") and len(c) == 7 for c in cols.card_id[:100].tolist())
    assert all(t.startswith("T") and len(t) == 7 for t in cols.terminal_id[:100].tolist())
    seconds = (cols.event_time - SMALL.start_ms) % DAY_MS // 1000
    assert seconds.min() > 0
    assert seconds.max() < 86_400
    assert cols.event_time.max() < SMALL.start_ms + 40 * DAY_MS


def test_customers_use_only_terminals_within_the_radius() -> None:
    sim = Simulator(SMALL)
    day = next(iter(sim.days()))
    pop = sim.population
    cust = np.array([int(c[1:]) for c in day.card_id.tolist()])
    term = np.array([int(t[1:]) for t in day.terminal_id.tolist()])
    distance = np.linalg.norm(pop.customer_xy[cust] - pop.terminal_xy[term], axis=1)
    assert distance.max() < SMALL.radius


def test_amounts_are_cents_and_not_negative(handbook: TransactionColumns) -> None:
    assert handbook.amount.min() >= 0
    assert np.allclose(handbook.amount * 100, np.round(handbook.amount * 100), atol=1e-6)
    genuine = handbook.fraud_scenario == GENUINE
    assert handbook.amount[genuine].max() <= 220
    # Customers' mean amounts are uniform in [5, 100): the overall mean sits near 52.5.
    assert 45 < handbook.amount[genuine].mean() < 60


def test_handbook_sizes_give_the_handbooks_volume_and_fraud_rates(handbook: TransactionColumns) -> None:
    n = len(handbook)
    # The Handbook reports 1,754,155 transactions and 0.84 % fraud for 183 days; we simulate 180.
    assert 1_650_000 < n < 1_850_000
    assert 0.0075 < handbook.is_fraud.mean() < 0.0095
    share = {s: float((handbook.fraud_scenario == s).mean()) for s in range(4)}
    assert 0.0003 < share[HIGH_AMOUNT] < 0.0015
    # About 2 terminals a day compromised for 28 days of 10,000: about 0.5 % of transactions.
    assert 0.0035 < share[COMPROMISED_TERMINAL] < 0.0070
    # About 3 customers a day for 14 days of 5,000, a third of their transactions: about 0.3 %.
    assert 0.0015 < share[COMPROMISED_CARD] < 0.0040
    assert np.array_equal(handbook.is_fraud == 1, handbook.fraud_scenario != GENUINE)


def test_scenario_rules_hold_row_by_row() -> None:
    cols = simulate(SMALL)
    day = (cols.event_time - SMALL.start_ms) // DAY_MS
    terminal = np.array([int(t[1:]) for t in cols.terminal_id.tolist()])
    for d in range(SMALL.days or 0):
        hit = set()
        for first in range(max(0, d - TERMINAL_DAYS + 1), d + 1):
            hit.update(compromised_terminals(SMALL.seed, first, SMALL.terminals).tolist())
        rows = (day == d) & np.isin(terminal, list(hit))
        # Every transaction at a compromised terminal is fraud: scenario 2, or 3 if a card took over.
        assert np.all(np.isin(cols.fraud_scenario[rows], [COMPROMISED_TERMINAL, COMPROMISED_CARD]))
        other = (day == d) & ~np.isin(terminal, list(hit))
        assert not np.any(cols.fraud_scenario[other] == COMPROMISED_TERMINAL)
    high = cols.fraud_scenario == HIGH_AMOUNT
    assert np.all(cols.amount[high] > 220)
    assert high.any()
    assert (cols.fraud_scenario == COMPROMISED_CARD).any()


def test_unbounded_simulation_keeps_going() -> None:
    days = Simulator(SimulationConfig(customers=50, terminals=100, days=None, seed=1)).days()
    blocks = [next(days) for _ in range(20)]
    assert len({int(b.event_time[0]) // DAY_MS for b in blocks if len(b)}) == sum(1 for b in blocks if len(b))


@pytest.mark.parametrize(
    "config",
    [
        SimulationConfig(customers=0),
        SimulationConfig(terminals=0),
        SimulationConfig(days=0),
        SimulationConfig(seed=-1),
        SimulationConfig(radius=0),
    ],
)
def test_bad_parameters_are_one_line_errors(config: SimulationConfig) -> None:
    with pytest.raises(SimulationError):
        Simulator(config)


def test_bad_start_date() -> None:
    with pytest.raises(SimulationError, match="ISO date"):
        start_ms("April 1st")
