"""Versioned artifacts: round trip, no overwrite, the current-version pointer, readable failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from models.artifact import (
    current_version,
    list_versions,
    load_artifact,
    save_artifact,
    set_current,
)
from models.exceptions import ModelError

NAMES = ["f0", "f1", "f2"]


def tiny_booster(seed: int = 0) -> xgb.Booster:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(300, 3)).astype(np.float32)
    y = (x[:, 0] + rng.normal(0, 0.5, 300) > 1).astype(np.float32)
    data = xgb.DMatrix(x, label=y, feature_names=NAMES)
    return xgb.train({"objective": "binary:logistic", "max_depth": 2, "seed": seed, "nthread": 1}, data, 5)


def metadata(threshold: float = 0.7) -> dict[str, Any]:
    return {
        "feature_names": NAMES,
        "threshold": threshold,
        "metrics": {"auc_roc": 0.9, "average_precision": 0.7, "card_precision_at_100": 0.3},
    }


NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def test_round_trip_keeps_predictions_and_metadata(tmp_path: Path) -> None:
    booster = tiny_booster()
    saved = save_artifact(tmp_path, booster, metadata(), now=NOW)
    assert saved.path == tmp_path / saved.version
    assert saved.version.startswith("20240501T120000Z-")
    assert sorted(p.name for p in saved.path.iterdir()) == ["metadata.json", "model.ubj"]
    loaded = load_artifact(tmp_path, saved.version)
    x = np.random.default_rng(1).normal(size=(20, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.booster.inplace_predict(x), booster.inplace_predict(x))
    assert loaded.feature_names == tuple(NAMES)
    assert loaded.threshold == 0.7
    assert loaded.metadata["version"] == saved.version
    assert loaded.metadata["created_at"] == NOW.isoformat()


def test_a_version_is_never_overwritten(tmp_path: Path) -> None:
    first = save_artifact(tmp_path, tiny_booster(), metadata(0.5), now=NOW)
    second = save_artifact(tmp_path, tiny_booster(), metadata(0.9), now=NOW)  # same bytes, same second
    assert first.version != second.version
    assert load_artifact(tmp_path, first.version).threshold == 0.5
    assert load_artifact(tmp_path, second.version).threshold == 0.9
    assert list_versions(tmp_path) == sorted([first.version, second.version])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_current_pointer(tmp_path: Path) -> None:
    assert current_version(tmp_path) is None
    with pytest.raises(ModelError, match="no current model"):
        load_artifact(tmp_path)
    a = save_artifact(tmp_path, tiny_booster(0), metadata(), now=NOW)
    b = save_artifact(tmp_path, tiny_booster(1), metadata(), now=NOW)
    set_current(tmp_path, a.version)
    assert current_version(tmp_path) == a.version
    assert load_artifact(tmp_path).version == a.version
    set_current(tmp_path, b.version)
    assert (tmp_path / "CURRENT").read_text() == b.version + "\n"
    assert load_artifact(tmp_path).version == b.version
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(ModelError, match="no model version 'nope'"):
        set_current(tmp_path, "nope")
    assert current_version(tmp_path) == b.version


def test_metadata_is_checked_before_saving(tmp_path: Path) -> None:
    bad = metadata()
    del bad["metrics"]["card_precision_at_100"]
    with pytest.raises(ModelError, match="card_precision_at_100"):
        save_artifact(tmp_path, tiny_booster(), bad)
    with pytest.raises(ModelError, match="takes 3 features"):
        save_artifact(tmp_path, tiny_booster(), {**metadata(), "feature_names": ["a", "b"]})
    with pytest.raises(ModelError, match="the booster's features are f0, f1, f2"):
        save_artifact(tmp_path, tiny_booster(), {**metadata(), "feature_names": NAMES[::-1]})
    assert list_versions(tmp_path) == []


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / "model.ubj").write_bytes(b"not a model"), "corrupt booster file"),
        (lambda p: (p / "model.ubj").unlink(), "has no model.ubj"),
        (lambda p: (p / "metadata.json").write_text("{"), "unreadable"),
        (lambda p: (p / "metadata.json").write_text(json.dumps({"threshold": 2})), "feature_names"),
        (
            lambda p: (p / "metadata.json").write_text(
                json.dumps({**metadata(), "feature_names": NAMES[::-1]})
            ),
            "the booster's features are f0, f1, f2; the metadata's are f2, f1, f0",
        ),
    ],
)
def test_damaged_artifacts_give_one_readable_line(tmp_path: Path, damage: Any, message: str) -> None:
    saved = save_artifact(tmp_path, tiny_booster(), metadata(), now=NOW)
    damage(saved.path)
    with pytest.raises(ModelError, match=message) as info:
        load_artifact(tmp_path, saved.version)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("version", ["missing", "../etc", ".staging-x"])
def test_unknown_or_unsafe_versions(tmp_path: Path, version: str) -> None:
    with pytest.raises(ModelError):
        load_artifact(tmp_path, version)
