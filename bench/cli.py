"""`fraudscore bench`: the scorer against the real broker and Redis, with its baselines, in one run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fraudscore.settings import Settings


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive integers")
    return values


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "bench",
        help="measure the scorer's throughput and latency against a per-event loop and compute alone",
        description="Pre-produces N simulated events to fresh topics and, in one run, measures the "
        "scorer's sustained throughput over that backlog, a per-event loop's, and the compute alone, "
        "then the event-to-prediction latency at fixed input rates. Writes bench.json, bench.png "
        "and bench.md to --out.",
    )
    p.add_argument("--events", type=int, default=200_000, metavar="N", help="backlog events (default 200000)")
    p.add_argument(
        "--rates",
        type=_ints,
        default=[1000, 5000],
        metavar="R,R",
        help="input rates for latency (default 1000,5000)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds of input at each rate (default 60: a p99 over 300,000 events at 5,000/s)",
    )
    p.add_argument(
        "--sweep",
        type=_ints,
        default=[100, 500, 1000, 2000],
        metavar="B,B",
        help="--max-batch values to measure besides the default one (default 100,500,1000,2000)",
    )
    p.add_argument(
        "--loop-events",
        type=int,
        default=5000,
        metavar="N",
        help="events for the per-event loop (default 5000)",
    )
    p.add_argument(
        "--max-batch",
        dest="max_batch",
        type=int,
        metavar="N",
        help="the scorer's batch size [FRAUDSCORE_MAX_BATCH]",
    )
    p.add_argument(
        "--max-wait-ms",
        dest="max_wait_ms",
        type=int,
        metavar="T",
        help="the scorer's batch wait [FRAUDSCORE_MAX_WAIT_MS]",
    )
    p.add_argument("--out", type=Path, default=Path("var/bench"), metavar="DIR", help="default var/bench")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bench.exceptions import BenchError
    from bench.runner import BenchPlan, run_bench

    if args.events < 1000 or args.loop_events < 10 or args.duration <= 0:
        raise BenchError("give --events >= 1000, --loop-events >= 10 and a positive --duration")
    plan = BenchPlan(
        events=args.events,
        loop_events=min(args.loop_events, args.events),
        rates=args.rates,
        duration_s=args.duration,
        sweep=sorted(set(args.sweep) - {settings.max_batch}),
        out=args.out,
    )
    return run_bench(plan, settings)
