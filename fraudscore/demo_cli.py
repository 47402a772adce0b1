"""`fraudscore demo`: the main job end to end, for a first look."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fraudscore.settings import Settings


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("demo", help="run everything end to end: stack, model, events, scores, alerts")
    p.add_argument("--events", type=int, default=20_000, metavar="N", help="events to stream [20000]")
    p.add_argument("--rate", type=float, default=2_000, metavar="R", help="events per second [2000]")
    p.add_argument("--bad-fraction", type=float, default=0.01, metavar="F", help="malformed share [0.01]")
    p.add_argument("--customers", type=int, default=2_000, metavar="N", help="simulated customers [2000]")
    p.add_argument("--terminals", type=int, default=4_000, metavar="N", help="simulated terminals [4000]")
    p.add_argument("--history-days", type=int, default=90, metavar="D", help="days of training history [90]")
    p.add_argument("--seed", type=int, default=7, metavar="S", help="simulation seed [7]")
    p.add_argument("--keep-stack", action="store_true", help="leave a stack the demo started running")
    p.add_argument(
        "--work-dir",
        type=Path,
        default=Path("var/demo"),
        metavar="DIR",
        help="history file and logs [var/demo]",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from fraudscore.demo import DemoPlan, run_demo

    plan = DemoPlan(
        events=args.events,
        rate=args.rate,
        bad_fraction=args.bad_fraction,
        customers=args.customers,
        terminals=args.terminals,
        history_days=args.history_days,
        seed=args.seed,
        keep_stack=args.keep_stack,
        work_dir=args.work_dir,
    )
    return run_demo(settings, plan)
