"""`fraudscore train` on a small simulated history: artifact, report, pointer, readable errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from features.definition import FEATURE_NAMES
from features.offline import compute_features
from fraudscore.cli import main
from models.artifact import current_version, list_versions, load_artifact
from models.report import PLOTS
from models.scoring import ScoringCore
from producer.simulator import SimulationConfig, simulate
from schemas.history import read_history, write_history

FAST = [
    "--n-estimators",
    "20",
    "--max-depth",
    "3",
    "--threads",
    "2",
    "--train-days",
    "7",
    "--test-folds",
    "2",
]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history") / "history.avro"
    write_history(path, simulate(SimulationConfig(customers=300, terminals=600, days=50, seed=3)))
    return path


def test_train_publishes_a_version_with_report_and_pointer(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "models"
    assert main(["train", "--history", str(history), "--out", str(out), *FAST]) == 0
    version = current_version(out)
    assert version is not None
    assert list_versions(out) == [version]
    vdir = out / version
    for name in ("model.ubj", "metadata.json", "report.md", *PLOTS):
        assert (vdir / name).stat().st_size > 0, name
    assert all((vdir / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in PLOTS)
    meta = json.loads((vdir / "metadata.json").read_text())
    assert meta["version"] == version
    assert meta["feature_names"] == list(FEATURE_NAMES)
    assert set(meta["ablation"]) == {"without_card_features", "without_terminal_features"}
    report = (vdir / "report.md").read_text()
    assert "Card precision@100" in report
    assert "without card features" in report
    captured = capsys.readouterr()
    assert f"model {version} (current)" in captured.out
    assert "computing features" in captured.err  # progress on stderr

    # The artifact scores the history's features through the core, as the scorer will.
    artifact = load_artifact(out)
    tx = read_history(history)
    scores = ScoringCore(artifact).score(compute_features(tx)[-500:])
    assert scores.shape == (500,)
    assert np.all((scores >= 0) & (scores <= 1))


def test_retraining_adds_a_version_and_moves_the_pointer(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "models"
    args = ["train", "--history", str(history), "--out", str(out), "--no-ablation", *FAST]
    assert main(args) == 0
    first = current_version(out)
    assert main([*args, "--no-promote"]) == 0
    assert current_version(out) == first
    assert main(args) == 0
    versions = list_versions(out)
    assert len(versions) == 3
    assert current_version(out) not in {first, None}
    # Same data, same seed: the same booster bytes in every version.
    blobs = {(out / v / "model.ubj").read_bytes() for v in versions}
    assert len(blobs) == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--train-days", "60"], "these windows need at least"),
        (["--test-folds", "0"], "--test-folds must be at least 1"),
        (["--test-days", "0"], "--test-days must be at least 1"),
    ],
)
def test_bad_windows_give_one_line(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["train", "--history", str(history), "--out", str(tmp_path), *FAST, *extra]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1]
    assert err[-1].startswith("fraudscore train: error:")


def test_missing_history_gives_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--history", str(tmp_path / "nope.avro"), "--out", str(tmp_path)]) == 1
    assert "nope.avro" in capsys.readouterr().err
