"""Measures how long the local stack takes from `start` to ready (Kafka serving a transaction, Redis PING).

Usage: python scripts/measure_stack_startup.py [--brokers 1 3] [--runs 5]
Each run starts a fresh stack on free ports in a temporary directory and stops it again.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fraudscore.stack import local, procs


def one_run(brokers: int, heap: str) -> float:
    ports = procs.free_ports(2 * brokers + 1)
    with tempfile.TemporaryDirectory(prefix="stack-measure-") as tmp:
        spec = local.StackSpec(
            Path(tmp) / "stack",
            ports[:brokers],
            ports[brokers:-1],
            ports[-1],
            heap=heap,
            die_with_parent=True,
        )
        started = time.monotonic()
        try:
            local.start(spec, timeout_s=300)
            return time.monotonic() - started
        finally:
            local.stop(spec.root)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--heap", default="512m")
    args = parser.parse_args()
    for brokers in args.brokers:
        times = []
        for i in range(args.runs):
            times.append(one_run(brokers, args.heap))
            print(
                f"{brokers} broker(s) run {i + 1}/{args.runs}: {times[-1]:.1f} s", file=sys.stderr, flush=True
            )
        spread = f"min {min(times):.1f}, max {max(times):.1f}"
        print(
            f"{brokers} broker(s): median {statistics.median(times):.1f} s over {args.runs} runs ({spread})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
