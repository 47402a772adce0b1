"""Exactly-once against at-least-once: the scorer's throughput over the same backlog, in one run.

`python -m bench.delivery [--events N] [--sizes B,B] [--repeats R]`. Every run is the real `Scorer`
(`bench.throughput.run_scorer`: events per second from the end of the first batch to the end of the
last, group join and warm-up left out) over the same pre-produced events under a fresh group, from the
same warm feature state. The two modes alternate (at-least-once, exactly-once, at-least-once, ...) so
that a change in the machine's load hits both alike; per batch size the median of the repeats is kept.
Servers: those of the settings (`KAFKA_BOOTSTRAP_SERVERS`, `REDIS_URL`), else a local stack started for
the run (`bench.servers`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from bench import throughput
from bench.cli import _ints
from bench.kafka_io import produce_backlog
from bench.model import resolve
from bench.servers import say, servers, topic_set
from bench.workload import FeatureState, bench_redis_url, encode, simulate
from features.definition import WINDOW_DAYS
from fraudscore.errors import FraudscoreError
from fraudscore.redis_client import connect_redis
from fraudscore.settings import Settings, load_settings
from schemas import Codec, open_schema_source

GUARANTEES = ("at-least-once", "exactly-once")


@dataclass(frozen=True)
class Row:
    max_batch: int
    rates: dict[str, list[float]]  # guarantee -> events/s of each repeat

    def median(self, guarantee: str) -> float:
        return statistics.median(self.rates[guarantee])

    @property
    def ratio(self) -> float:
        return self.median("exactly-once") / self.median("at-least-once")


def measure(settings: Settings, events: int, sizes: list[int], repeats: int, out: Path) -> list[Row]:
    rows: list[Row] = []
    with servers(settings) as found:
        model = resolve(found.model_dir, out / "model")
        url = bench_redis_url(found.redis_url.get_secret_value())
        s = found.model_copy(update={"redis_url": SecretStr(url)})
        work = simulate(events, max(WINDOW_DAYS) + s.label_delay_days + 1, s.label_delay_days)
        state = FeatureState(connect_redis(url, timeout_s=30), work)
        codec = Codec("transaction", open_schema_source(s.schema_registry_url))
        try:
            with topic_set(s, "delivery") as b:
                keys, values = encode(work.slice(0, events), codec)
                produce_backlog(b.kafka_common(), b.topic_transactions, keys, values)
                for size in sizes:
                    rates: dict[str, list[float]] = {g: [] for g in GUARANTEES}
                    for i in range(repeats):
                        for guarantee in GUARANTEES:
                            load = os.getloadavg()[0]
                            say(f"{guarantee}, max-batch {size}, run {i + 1}/{repeats} (load {load:.1f})")
                            state.restore()
                            cfg = throughput.scorer_config(
                                b,
                                model.model_dir,
                                model.version,
                                guarantee=guarantee,
                                max_batch=size,
                                max_events=events,
                                until_idle_s=30.0,
                            )
                            rates[guarantee].append(throughput.run_scorer(cfg, events).rate)
                    rows.append(Row(size, rates))
        finally:
            state.drop()
    return rows


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| max-batch | at-least-once, events/s: median (runs) | exactly-once, events/s: median (runs) "
        "| exactly-once / at-least-once |",
        "| ---: | ---: | ---: | ---: |",
    ]

    def cell(r: Row, g: str) -> str:
        return f"{r.median(g):,.0f} ({', '.join(f'{v:,.0f}' for v in r.rates[g])})"

    for r in rows:
        lines.append(
            f"| {r.max_batch} | {cell(r, GUARANTEES[0])} | {cell(r, GUARANTEES[1])} | {r.ratio:.2f} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=50_000, metavar="N", help="backlog events (default 50000)")
    p.add_argument("--sizes", type=_ints, default=[200, 1000], metavar="B,B", help="--max-batch values")
    p.add_argument("--repeats", type=int, default=3, metavar="R", help="runs per mode and size (default 3)")
    p.add_argument("--out", type=Path, default=Path("var/bench"), metavar="DIR", help="default var/bench")
    args = p.parse_args(argv)
    try:
        rows = measure(load_settings(), args.events, args.sizes, max(1, args.repeats), args.out)
    except FraudscoreError as exc:
        print(f"bench.delivery: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print("\n".join(table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
