"""The hyper-parameter search: every grid point scored on validation folds, best first."""

from __future__ import annotations

import pytest
from model_support import NAMES, features, transactions

from models import tuning
from models.windows import Protocol


def test_search_ranks_the_grid_by_validation_average_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tuning, "DEPTHS", (2, 3))
    monkeypatch.setattr(tuning, "RATES", (0.3,))
    monkeypatch.setattr(tuning, "TREES", (5, 20))
    tx = transactions(days=70)
    protocol = Protocol(train_days=14, test_folds=2)
    ranked = tuning.search(tx, features(tx), NAMES, protocol)
    assert sorted((p.max_depth, p.n_estimators) for p, _ in ranked) == [(2, 5), (2, 20), (3, 5), (3, 20)]
    aps = [m["average_precision"] for _, m in ranked]
    assert aps == sorted(aps, reverse=True)
    # Slices of one booster really are different models.
    assert len({round(m["auc_roc"], 9) for _, m in ranked}) > 1
