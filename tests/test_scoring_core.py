"""The scoring core: one predict per batch, column mapping, alerts and SHAP reasons."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xgboost as xgb

from models.artifact import ModelArtifact
from models.exceptions import ModelError
from models.scoring import ScoringCore

SERVED = ("amount", "card_x", "terminal_y", "noise")


def artifact(names: tuple[str, ...] = SERVED, threshold: float = 0.5) -> ModelArtifact:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, len(names))).astype(np.float32)
    y = ((x[:, 0] + x[:, 1] + rng.normal(0, 0.3, 2000)) > 1.5).astype(np.float32)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "seed": 0, "nthread": 2},
        xgb.DMatrix(x, label=y, feature_names=list(names)),
        20,
    )
    return ModelArtifact("v1", booster, names, threshold, {}, None)


def matrix(n: int = 50) -> np.ndarray:
    m = np.random.default_rng(1).normal(size=(n, len(SERVED))).astype(np.float32)
    m[::7, 1] = np.nan  # missing values score as missing
    return m


def test_scores_equal_the_booster_on_the_same_rows() -> None:
    art = artifact()
    core = ScoringCore(art, SERVED)
    m = matrix()
    scores = core.score(m)
    expected = art.booster.predict(xgb.DMatrix(m, missing=np.nan, feature_names=list(SERVED)))
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert core.score(m[:0]).shape == (0,)


def test_predicts_on_one_thread_and_leaves_the_callers_booster_alone() -> None:
    art = artifact()
    core = ScoringCore(art, SERVED)
    threads = json.loads(core._booster.save_config())["learner"]["generic_param"]["nthread"]
    assert threads == "1"
    original = json.loads(art.booster.save_config())["learner"]["generic_param"]["nthread"]
    assert original == "2"


def test_model_columns_are_picked_from_the_served_matrix() -> None:
    # A model trained on a reordered subset of what we serve.
    subset = ("terminal_y", "amount", "card_x")
    core = ScoringCore(artifact(subset), SERVED)
    m = matrix()
    own = np.ascontiguousarray(m[:, [2, 0, 1]])
    expected = core.artifact.booster.inplace_predict(own, missing=np.nan)
    np.testing.assert_allclose(core.score(m), expected, rtol=1e-6)


def test_a_model_needing_features_we_cannot_serve_is_refused() -> None:
    with pytest.raises(ModelError, match="cannot serve: card_x"):
        ScoringCore(artifact(), ("amount", "terminal_y", "noise"))


def test_wrong_matrix_shape_is_a_readable_error() -> None:
    core = ScoringCore(artifact(), SERVED)
    with pytest.raises(ModelError, match=r"expected \(n, 4\)"):
        core.score(np.zeros((3, 3), dtype=np.float32))


def test_alerts_at_or_above_threshold() -> None:
    core = ScoringCore(artifact(threshold=0.5), SERVED)
    assert core.is_alert(np.array([0.2, 0.5, 0.9])).tolist() == [False, True, True]


def test_reasons_are_the_largest_shap_contributions_of_the_given_rows() -> None:
    core = ScoringCore(artifact(), SERVED)
    m = matrix()
    rows = np.array([3, 10, 7])
    reasons = core.reasons(m, rows, k=2)
    assert len(reasons) == 3
    full = core.artifact.booster.predict(
        xgb.DMatrix(m[rows], missing=np.nan, feature_names=list(SERVED)), pred_contribs=True
    )
    margins = core.artifact.booster.predict(
        xgb.DMatrix(m[rows], missing=np.nan, feature_names=list(SERVED)), output_margin=True
    )
    np.testing.assert_allclose(full.sum(axis=1), margins, rtol=1e-4, atol=1e-4)  # SHAP adds up
    for i, row in enumerate(rows):
        assert len(reasons[i]) == 2
        (name0, value0, c0), (_, _, c1) = reasons[i]
        assert c0 >= c1
        assert c0 == pytest.approx(full[i, :-1].max(), abs=1e-6)
        j = SERVED.index(name0)
        assert np.isnan(value0) if np.isnan(m[row, j]) else value0 == pytest.approx(m[row, j])
    assert core.reasons(m, np.array([], dtype=np.intp)) == []
