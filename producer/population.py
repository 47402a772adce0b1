"""Who transacts where: the customer and terminal profiles of the Handbook's simulator.

Le Borgne et al., "Reproducible Machine Learning for Credit Card Fraud Detection - Practical Handbook",
chapter "Transaction data simulator": customers and terminals sit uniformly on a 100 x 100 grid; a
customer's mean amount is uniform in [5, 100) with a standard deviation of half of it, their mean number
of transactions per day uniform in [0, 4); a customer uses the terminals closer than a radius r (5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

GRID = 100.0
# Distances for this many customers at once: 500 x 10,000 float64 is 40 MB, small next to 24 GiB and
# large enough that the Python loop around it costs nothing.
_CHUNK = 500


@dataclass(frozen=True)
class Population:
    """Customer and terminal profiles; the terminals of customer c are `terminals_of(c)`."""

    customer_xy: npt.NDArray[np.float64]
    mean_amount: npt.NDArray[np.float64]
    std_amount: npt.NDArray[np.float64]
    mean_nb_tx_per_day: npt.NDArray[np.float64]
    terminal_xy: npt.NDArray[np.float64]
    # CSR adjacency: the terminals of customer c are available[available_ptr[c]:available_ptr[c + 1]].
    available_ptr: npt.NDArray[np.int64]
    available: npt.NDArray[np.int64]

    @property
    def n_customers(self) -> int:
        return len(self.mean_amount)

    @property
    def n_terminals(self) -> int:
        return len(self.terminal_xy)

    @property
    def n_available(self) -> npt.NDArray[np.int64]:
        return np.diff(self.available_ptr)

    def terminals_of(self, customer: int) -> npt.NDArray[np.int64]:
        return self.available[self.available_ptr[customer] : self.available_ptr[customer + 1]]


def make_population(customers: int, terminals: int, seed: int, radius: float = 5.0) -> Population:
    rng = np.random.default_rng([seed, 0])
    customer_xy = rng.uniform(0.0, GRID, size=(customers, 2))
    mean_amount = rng.uniform(5.0, 100.0, size=customers)
    mean_nb_tx = rng.uniform(0.0, 4.0, size=customers)
    terminal_xy = rng.uniform(0.0, GRID, size=(terminals, 2))
    ptr, available = _terminals_within(customer_xy, terminal_xy, radius)
    return Population(
        customer_xy=customer_xy,
        mean_amount=mean_amount,
        std_amount=mean_amount / 2.0,
        mean_nb_tx_per_day=mean_nb_tx,
        terminal_xy=terminal_xy,
        available_ptr=ptr,
        available=available,
    )


def _terminals_within(
    customer_xy: npt.NDArray[np.float64], terminal_xy: npt.NDArray[np.float64], radius: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    counts: list[npt.NDArray[np.int64]] = []
    columns: list[npt.NDArray[np.int64]] = []
    tx, ty = terminal_xy[:, 0], terminal_xy[:, 1]
    for lo in range(0, len(customer_xy), _CHUNK):
        block = customer_xy[lo : lo + _CHUNK]
        d2 = np.square(block[:, :1] - tx) + np.square(block[:, 1:] - ty)
        rows, cols = np.nonzero(d2 < radius * radius)  # row-major: each customer's terminals ascending
        counts.append(np.bincount(rows, minlength=len(block)).astype(np.int64))
        columns.append(cols.astype(np.int64))
    ptr = np.zeros(len(customer_xy) + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=ptr[1:])
    flat = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64)
    return ptr, flat
