"""Training end to end on synthetic features: metrics, threshold, ablation, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from model_support import GROUPS, NAMES, features, transactions

from models.exceptions import ModelError
from models.pipeline import Trainer, TrainingConfig
from models.training import HyperParams
from models.windows import Protocol
from schemas.history import TransactionColumns

Data = tuple[TransactionColumns, np.ndarray]

PROTOCOL = Protocol(train_days=14, delay_days=7, test_days=7, valid_days=7, test_folds=2, known_days=7)
PARAMS = HyperParams(n_estimators=30, max_depth=3, learning_rate=0.3)


def config(**overrides: object) -> TrainingConfig:
    base: dict[str, object] = {
        "protocol": PROTOCOL,
        "params": PARAMS,
        "seed": 7,
        "alerts_per_day": 10,
        "nthread": 2,
        "progress": False,
        "ablation_groups": GROUPS,
    }
    return TrainingConfig(**{**base, **overrides})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def data() -> Data:
    tx = transactions(days=60)
    return tx, features(tx)


def test_training_learns_and_records_what_it_did(data: Data) -> None:
    tx, matrix = data
    result = Trainer(tx, matrix, NAMES, config()).run()
    meta = result.metadata
    assert meta["feature_names"] == list(NAMES)
    assert result.booster.num_features() == len(NAMES)
    test = meta["metrics"]
    assert set(test) == {"auc_roc", "average_precision", "card_precision_at_100"}
    assert test["auc_roc"] > 0.75  # the signals are strong; chance would be 0.5
    base_rate = meta["training_data"]["test_frauds"] / meta["training_data"]["test_rows"]
    assert test["average_precision"] > 3 * base_rate
    assert 0.0 <= test["card_precision_at_100"] <= 1.0
    # Without the strongest signal the model must do worse: the ablation really drops the columns.
    assert meta["ablation"]["without_terminal_features"]["auc_roc"] < test["auc_roc"] - 0.02
    assert set(meta["ablation"]) == {"without_card_features", "without_terminal_features"}
    # The threshold comes from the validation budget; on the test window it lands near the budget.
    assert meta["threshold_policy"]["alerts_per_day"] == 10
    assert 0.0 < result.threshold < 1.0
    assert 3 <= meta["test_alerting"]["alerts_per_day"] <= 20
    assert meta["training_data"]["fingerprint"].startswith("sha256:")
    assert meta["training_params"]["seed"] == 7
    assert meta["library_versions"]["xgboost"]
    # Fold 0 tests the last 7 days, trained on 14 days ending 7 days before them; fold 1 a week earlier.
    folds = meta["test_folds"]
    assert [(f["train"], f["assess"]) for f in folds] == [
        ("2024-02-02..2024-02-15", "2024-02-23..2024-02-29"),
        ("2024-01-26..2024-02-08", "2024-02-16..2024-02-22"),
    ]
    assert test["auc_roc"] == pytest.approx((folds[0]["auc_roc"] + folds[1]["auc_roc"]) / 2)


def test_same_data_and_seed_give_the_same_model_bytes(data: Data) -> None:
    tx, matrix = data
    a = Trainer(tx, matrix, NAMES, config(ablation_groups={})).run()
    b = Trainer(tx, matrix, NAMES, config(ablation_groups={})).run()
    assert bytes(a.booster.save_raw("ubj")) == bytes(b.booster.save_raw("ubj"))
    assert a.metadata["metrics"] == b.metadata["metrics"]
    assert a.threshold == b.threshold


def test_a_history_without_fraud_in_the_window_is_refused(data: Data) -> None:
    tx, matrix = data
    clean = tx.take(slice(None))
    clean.is_fraud[:] = 0
    with pytest.raises(ModelError, match="no fraud in the training window"):
        Trainer(clean, matrix, NAMES, config()).run()


def test_matrix_must_match_the_history(data: Data) -> None:
    tx, matrix = data
    with pytest.raises(ModelError, match="feature matrix is"):
        Trainer(tx, matrix[:, :2], NAMES, config())
