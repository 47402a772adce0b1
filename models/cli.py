"""`fraudscore train`: the Handbook's protocol on a history file, a versioned artifact and its report."""

from __future__ import annotations

import argparse
from typing import Any

from fraudscore.settings import Settings


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Adds this part's subcommands to the `fraudscore` parser."""
    p = sub.add_parser(
        "train",
        help="train a model on a history file and publish it as a new version",
        description="Train XGBoost with the Fraud Detection Handbook's protocol (training window, a gap "
        "equal to the label delay, test window), save a new artifact version with its report, and make "
        "it the current version.",
    )
    p.add_argument(
        "--history",
        required=True,
        metavar="FILE",
        help="labelled history (Avro), e.g. from `fraudscore simulate`",
    )
    # SUPPRESS, not None: a None here would overwrite the global --model-dir in the namespace.
    p.add_argument(
        "--out",
        dest="model_dir",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="model directory [same as --model-dir / FRAUDSCORE_MODEL_DIR]",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    w = p.add_argument_group("windows (days; the test window ends with the history)")
    w.add_argument("--train-days", type=int, default=None, help="training window (default 21)")
    w.add_argument(
        "--delay-days",
        dest="label_delay_days",
        type=int,
        default=None,
        help="label delay, also the gap (default 7) [FRAUDSCORE_LABEL_DELAY_DAYS]",
    )
    w.add_argument("--test-days", type=int, default=None, help="test window (default 7)")
    w.add_argument("--valid-days", type=int, default=None, help="validation window (default 7)")
    w.add_argument(
        "--test-folds",
        type=int,
        default=None,
        help="prequential test folds, each test-days earlier (default 4, as the Handbook)",
    )
    w.add_argument(
        "--known-days",
        type=int,
        default=None,
        help="cards with a fraud in these days before the gap leave the test (default 7, the "
        "Handbook's training set)",
    )
    m = p.add_argument_group("model")
    m.add_argument("--n-estimators", type=int, default=None, help="boosting rounds")
    m.add_argument("--max-depth", type=int, default=None, help="tree depth")
    m.add_argument("--learning-rate", type=float, default=None, help="shrinkage (eta)")
    m.add_argument("--threads", type=int, default=None, help="training threads (default: all cores)")
    p.add_argument(
        "--alerts-per-day",
        type=int,
        default=100,
        help="alert budget that sets the threshold on validation data (default 100)",
    )
    p.add_argument("--no-ablation", action="store_true", help="skip the ablation models")
    p.add_argument("--no-promote", action="store_true", help="save the version but leave CURRENT alone")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from models.train_command import train

    return train(args, settings)
