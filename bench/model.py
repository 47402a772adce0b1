"""The model the benchmark scores with: the one in service, or a small one trained here.

The current model under `settings.model_dir` is what `fraudscore score` would serve, so it is used when
there is one. Otherwise the bench trains a small model once (the producer's simulator, the offline
features and `models.training.fit`, 100 trees of depth 5) and keeps it under its output directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from features.definition import DAY_MS, FEATURE_NAMES
from features.offline import compute_features
from models.artifact import current_version, load_artifact, save_artifact, set_current
from models.metrics import auc_roc, average_precision, card_precision_at_k
from models.pipeline import budget_threshold, candidate
from models.scoring import ScoringCore
from models.training import HyperParams, fit
from producer.simulator import SimulationConfig, simulate

TRAIN_DAYS, TEST_DAYS = 40, 10
SMALL = HyperParams(n_estimators=100, max_depth=5)


@dataclass(frozen=True)
class BenchModel:
    model_dir: Path
    version: str
    origin: str  # "current" (the model in service) or "trained by bench"
    trees: int
    max_depth: str

    def describe(self) -> str:
        return f"{self.version} ({self.origin}, {self.trees} trees)"


def _describe(model_dir: Path, version: str, origin: str) -> BenchModel:
    artifact = load_artifact(model_dir, version)
    params = artifact.metadata.get("training_params", {})
    depth = str(params.get("max_depth", "?"))
    return BenchModel(model_dir, version, origin, artifact.booster.num_boosted_rounds(), depth)


def resolve(model_dir: Path, cache_dir: Path) -> BenchModel:
    served = current_version(model_dir)
    if served is not None:
        return _describe(model_dir, served, "current")
    cached = current_version(cache_dir)
    if cached is not None:
        return _describe(cache_dir, cached, "trained by bench")
    return _describe(cache_dir, train_small(cache_dir), "trained by bench")


def train_small(model_dir: Path, seed: int = 5) -> str:
    """A small real model on simulated history; the threshold raises about 100 alerts a day."""
    tx = simulate(SimulationConfig(days=TRAIN_DAYS + TEST_DAYS, seed=seed))
    x = compute_features(tx)
    day = (tx.event_time - tx.event_time[0]) // DAY_MS
    train, test = day < TRAIN_DAYS, day >= TRAIN_DAYS
    booster = fit(
        x[train], tx.is_fraud[train], FEATURE_NAMES, SMALL, seed=seed, desc="training a bench model"
    )
    scores = ScoringCore(candidate(booster, FEATURE_NAMES)).score(x[test])
    labels = tx.is_fraud[test]
    cp = card_precision_at_k(tx.event_time[test], tx.card_id[test], labels, scores)
    metadata = {
        "feature_names": list(FEATURE_NAMES),
        "threshold": budget_threshold(scores, TEST_DAYS, 100),
        "metrics": {
            "auc_roc": auc_roc(labels, scores),
            "average_precision": average_precision(labels, scores),
            "card_precision_at_100": cp.mean,
        },
        "training_params": {"seed": seed, **SMALL.as_dict()},
        "training": {"by": "fraudscore bench", "days": TRAIN_DAYS, "rows": int(train.sum())},
    }
    artifact = save_artifact(model_dir, booster, metadata)
    set_current(model_dir, artifact.version)
    return artifact.version
