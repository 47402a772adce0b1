"""The `fraudscore train` flow: read, compute features, train and assess, save, report, promote."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from fraudscore.settings import Settings
from models.artifact import save_artifact, set_current
from models.exceptions import ModelError
from models.pipeline import Trainer, TrainingConfig
from models.report import write_report
from models.training import HyperParams
from models.windows import Protocol


def _stage(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)


def _given(args: argparse.Namespace, cls: Any) -> dict[str, Any]:
    return {f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name, None) is not None}


def config_from_args(args: argparse.Namespace, settings: Settings) -> TrainingConfig:
    from features.definition import CARD_FEATURES, TERMINAL_FEATURES

    protocol = replace(Protocol(delay_days=settings.label_delay_days), **_given(args, Protocol))
    params = replace(HyperParams(), **_given(args, HyperParams))
    protocol.check()
    if params.n_estimators < 1 or params.max_depth < 1:
        raise ModelError("--n-estimators and --max-depth must be at least 1")
    return TrainingConfig(
        protocol=protocol,
        params=params,
        seed=args.seed,
        alerts_per_day=args.alerts_per_day,
        nthread=args.threads,
        ablation_groups={} if args.no_ablation else {"card": CARD_FEATURES, "terminal": TERMINAL_FEATURES},
    )


def train(args: argparse.Namespace, settings: Settings) -> int:
    from batch.sources import read_file  # the one checked reader of history files
    from features.definition import FEATURE_NAMES
    from features.offline import compute_features

    config = config_from_args(args, settings)
    started = time.monotonic()
    _stage(f"reading {args.history}", started)
    tx = read_file(Path(args.history))
    _stage(f"{len(tx):,} transactions; computing features", started)
    matrix = compute_features(tx, label_delay_days=config.protocol.delay_days)
    _stage("training and assessing", started)
    result = Trainer(tx, matrix, FEATURE_NAMES, config).run()
    artifact = save_artifact(settings.model_dir, result.booster, result.metadata)
    command = shlex.join(["fraudscore", *sys.argv[1:]]) if sys.argv[0].endswith("fraudscore") else "train"
    report = write_report(result, artifact.metadata, artifact.path or settings.model_dir, command)
    if not args.no_promote:
        set_current(settings.model_dir, artifact.version)
    _stage(f"saved {artifact.path}", started)
    m = artifact.metadata["metrics"]
    print(
        f"model {artifact.version}{'' if args.no_promote else ' (current)'}: "
        f"test AUC ROC {m['auc_roc']:.4f}, average precision {m['average_precision']:.4f}, "
        f"card precision@100 {m['card_precision_at_100']:.4f}; threshold {artifact.threshold:.4f}; "
        f"report {report}"
    )
    return 0
