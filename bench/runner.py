"""One benchmark run, phase after phase, each from the same warm feature state."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench import compute, latency, report, throughput
from bench.kafka_io import PacedProducer, produce_backlog
from bench.model import BenchModel, resolve
from bench.servers import PARTITIONS, servers, topic_set
from bench.servers import say as _say
from bench.workload import FeatureState, Workload, bench_redis_url, encode, simulate
from features.definition import WINDOW_DAYS
from fraudscore.redis_client import connect_redis
from fraudscore.settings import Settings
from schemas import Codec, open_schema_source

WARM_UP_EVENTS, WARM_UP_RATE = 1000, 500.0  # the live scorer joins its group: the first events wait
# Then the top rate, not counted: the broker's JIT compiles the paths of small, steady requests. On a
# fresh broker, the first minute at 5,000/s had stalls every second or two for ~20 s (p99 173-252 ms in
# four runs), the next minute p99 28-70 ms.
WARM_UP_TOP_S = 15.0
WARM_UP_BACKLOG = 50_000
PAIRS = 5
LOADS: list[float] = []


def say(line: str) -> None:
    """Announce a phase, noting the machine's load then: the figures mean little on a busy machine."""
    LOADS.append(round(os.getloadavg()[0], 1))
    _say(f"{line} (load {LOADS[-1]:.1f})")


@dataclass(frozen=True)
class BenchPlan:
    events: int
    loop_events: int
    rates: list[int]
    duration_s: float
    sweep: list[int]
    out: Path

    def live_phases(self) -> list[tuple[float, int, bool]]:
        """(events/s, events, warm-up) of each latency phase, in order."""
        top = max(self.rates)
        phases = [
            (WARM_UP_RATE, WARM_UP_EVENTS, True),
            (float(top), int(top * min(WARM_UP_TOP_S, self.duration_s)), True),
        ]
        return phases + [(float(r), int(r * self.duration_s), False) for r in self.rates]

    def live_events(self) -> int:
        return sum(n for _, n, _ in self.live_phases())


@dataclass(frozen=True)
class Prepared:
    """What every measurement starts from: the servers' settings (Redis on the bench database), the
    model, the simulated events and the warm feature state they give."""

    settings: Settings
    model: BenchModel
    work: Workload
    state: FeatureState


@contextmanager
def prepared(settings: Settings, events: int, model_cache: Path) -> Iterator[Prepared]:
    """Servers found or started, a model, `events` simulated events after the warm days, and their
    feature state written (dropped at the end)."""
    with servers(settings) as found:
        model = resolve(found.model_dir, model_cache)
        say(f"model {model.describe()}")
        bench_url = bench_redis_url(found.redis_url.get_secret_value())
        s = found.model_copy(update={"redis_url": SecretStr(bench_url)})
        warm_days = max(WINDOW_DAYS) + s.label_delay_days + 1
        work = simulate(events, warm_days, s.label_delay_days)
        state = FeatureState(connect_redis(s.redis_url.get_secret_value(), timeout_s=30), work)
        try:
            yield Prepared(s, model, work, state)
        finally:
            state.drop()


def run_bench(plan: BenchPlan, settings: Settings) -> int:
    command = "fraudscore " + shlex.join(sys.argv[1:])
    with prepared(settings, max(plan.events, plan.live_events()), plan.out / "model") as p:
        results = _measure(plan, p.settings, p.model, p.work, p.state, command)
    for line in [*report.table(results), "", *report.stage_lines(results)]:
        print(line)
    for what, ok in results.verdicts():
        print(f"{'met   ' if ok else 'MISSED'}  {what}")
    paths = report.save(results, plan.out)
    print(f"written: {', '.join(str(p) for p in paths)}")
    return 0


def _measure(
    plan: BenchPlan, s: Settings, model: BenchModel, work: Workload, state: FeatureState, command: str
) -> report.Results:
    codec = Codec("transaction", open_schema_source(s.schema_registry_url))
    with topic_set(s, "backlog") as b:
        keys, values = encode(work.slice(0, plan.events), codec)
        produce_backlog(b.kafka_common(), b.topic_transactions, keys, values)
        # A broker started moments ago (`fraudscore stack up`, or the bench's own stack) serves its
        # first fetches slowly while the JVM compiles: a first measured pass on it gave 20 % of the
        # rate of the next. One pass over part of the backlog, not counted, warms it up.
        warm = min(plan.events, WARM_UP_BACKLOG)
        say(f"warm-up: the scorer over {warm:,} backlog events (not counted)")
        state.restore()
        throughput.run_scorer(
            throughput.scorer_config(b, model.model_dir, model.version, max_events=warm, until_idle_s=30.0),
            warm,
        )

        def scorer_run(size: int) -> throughput.Throughput:
            state.restore()
            cfg = throughput.scorer_config(
                b, model.model_dir, model.version, max_batch=size, max_events=plan.events, until_idle_s=30.0
            )
            return throughput.run_scorer(cfg, plan.events)

        runs: list[throughput.Throughput] = []
        for size in plan.sweep:
            say(f"scorer over the backlog, max-batch {size}")
            runs.append(scorer_run(size))
        say(f"per-event loop over the first {plan.loop_events:,} events")
        state.restore()
        loop = throughput.run_per_event_loop(b, model.model_dir, model.version, plan.loop_events)
        messages = compute.read_messages(b.kafka_common(), b.topic_transactions, plan.events)

        # This machine's speed drifts by up to 2x within minutes (other work on the host): the scorer
        # and the compute alone are measured back to back, PAIRS times, and the pair with the median
        # ratio is the one reported, so that a slow minute cannot pass for a slow scorer or the reverse.
        # The order alternates, so that whatever running second does to a run falls on both sides.
        def compute_run(consumed: list[Any]) -> throughput.Throughput:
            state.restore()
            return compute.run_compute(
                consumed,
                state.values(),
                model.model_dir,
                model.version,
                s.max_batch,
                b.topic_transactions,
                s.label_delay_days,
            )

        pairs: list[report.Pair] = []
        for i in range(PAIRS):
            say(f"pair {i + 1} of {PAIRS}: the scorer at max-batch {s.max_batch} and compute alone")
            if i % 2 == 0:
                ran = scorer_run(s.max_batch)
                alone = compute_run(messages)
            else:
                alone = compute_run(messages)
                ran = scorer_run(s.max_batch)
            pairs.append(report.Pair(ran, alone))
        del messages
    lat = _latencies(plan, s, model, work, state, codec)
    median = report.median_pair(pairs)
    sweep = sorted([*runs, median.scorer], key=lambda t: int(t.label.rsplit(" ", 1)[1]))
    return report.Results(
        command,
        model.describe(),
        plan.events,
        median.scorer,
        sweep,
        loop,
        median.compute,
        lat,
        load=LOADS,
        pairs=pairs,
    )


def _latencies(
    plan: BenchPlan, s: Settings, model: BenchModel, work: Workload, state: FeatureState, codec: Codec
) -> list[latency.Latency]:
    out: list[latency.Latency] = []
    with topic_set(s, "live") as live:
        state.restore()
        extra = ["--max-wait-ms", str(s.max_wait_ms), "--max-batch", str(s.max_batch)]
        proc = latency.scorer_process(live, model.model_dir, model.version, extra)
        reader = latency.PredictionReader(live, PARTITIONS)
        producer = PacedProducer(live.kafka_common(), live.topic_transactions)
        try:
            start = 0
            for rate, n, warm_up in plan.live_phases():
                part = work.slice(start, start + n)
                start += n
                keys, values = encode(part, codec)
                say(f"latency: {n:,} events at {rate:,.0f} events/s" + (" (warm-up)" if warm_up else ""))
                result = latency.measure(producer, reader, part.event_id.tolist(), keys, values, rate)
                if not warm_up:
                    out.append(result)
        finally:
            reader.close()
            latency.stop_scorer(proc)
    return out
