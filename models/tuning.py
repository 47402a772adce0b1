"""The hyper-parameter search behind `HyperParams`' defaults, on the Handbook's validation folds.

Run as `python -m models.tuning HISTORY.avro`. Each (depth, learning rate) is trained once per fold with
the most trees in the grid; fewer trees are scored from a slice of the same booster. The validation folds
are the test folds moved back as in the Handbook's model selection (`validation_shift`), so no test day
is looked at. Slow on purpose (many full trainings): minutes to tens of minutes.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from models.pipeline import assess, candidate
from models.scoring import ScoringCore
from models.training import HyperParams, fit
from models.windows import Protocol, assessment_rows, days_of, train_rows
from schemas.history import TransactionColumns

DEPTHS = (3, 4, 6)
RATES = (0.05, 0.1, 0.3)
TREES = (100, 200, 400)


def validation_shift(protocol: Protocol) -> int:
    """Days between test fold 0 and validation fold 0, as the Handbook's model selection: the validation
    folds' assessment days all fall before the earliest test fold's, so no test day guides the choice."""
    return (protocol.test_folds - 1) * protocol.test_days + protocol.delay_days + protocol.valid_days


def search(
    tx: TransactionColumns, matrix: np.ndarray, names: tuple[str, ...], protocol: Protocol, seed: int = 0
) -> list[tuple[HyperParams, dict[str, float]]]:
    """Mean validation metrics for each point of the grid, best average precision first."""
    days = days_of(tx)
    _, folds = protocol.folds(int(days.min()), int(days.max()) - validation_shift(protocol))
    results = []
    for depth, rate in itertools.product(DEPTHS, RATES):
        params = HyperParams(n_estimators=max(TREES), max_depth=depth, learning_rate=rate)
        per_trees: dict[int, list[dict[str, float]]] = {n: [] for n in TREES}
        for fold in folds:
            rows = train_rows(tx, fold)
            booster = fit(matrix[rows], tx.is_fraud[rows], names, params, seed=seed, desc=f"{depth}/{rate}")
            assessed = assessment_rows(tx, fold, protocol.delay_days)
            for n in TREES:
                core = ScoringCore(candidate(booster[:n], names), names)
                per_trees[n].append(assess(core, tx, matrix, assessed).evaluation.metrics())
        for n, metrics in per_trees.items():
            mean = {k: float(np.mean([m[k] for m in metrics])) for k in metrics[0]}
            results.append((replace(params, n_estimators=n), mean))
            print(f"depth {depth} eta {rate} trees {n}: {mean}", file=sys.stderr, flush=True)
    return sorted(results, key=lambda r: -r[1]["average_precision"])


def main(argv: list[str]) -> int:
    from features.definition import FEATURE_NAMES
    from features.offline import compute_features
    from schemas.history import read_history

    tx = read_history(Path(argv[0]))
    ranked = search(tx, compute_features(tx), FEATURE_NAMES, Protocol())
    for params, metrics in ranked[:5]:
        print(params, {k: round(v, 4) for k, v in metrics.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
