"""Profile the scorer over a backlog, as `fraudscore bench` measures it, with a stage breakdown.

    python scripts/profile_scorer.py --events 100000 --max-batch 1000
    python scripts/profile_scorer.py --events 200000 --repeat 4 --accounting --pairs
    py-spy record -r 200 -f raw -o var/profile.txt -- python scripts/profile_scorer.py

Uses the servers the settings name (or starts the local stack), Redis database 15 and throw-away topics.
`--accounting` adds, per run, the CPU each process spent per event (this process, Redis, the broker:
found by name, so on this machine only) and how the scorer's thread spent its wall time (on a CPU,
waiting for one, or blocked on I/O; Linux schedstat). `--pairs` runs compute alone after each scorer
run, as the bench's pairs do, and prints the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import threading
import time
from pathlib import Path

from bench import compute, throughput
from bench.kafka_io import produce_backlog
from bench.runner import prepared
from bench.servers import topic_set
from bench.workload import encode
from fraudscore.redis_client import connect_redis
from fraudscore.settings import load_settings
from schemas import Codec, open_schema_source

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime, all threads


def thread_sched_s() -> tuple[float, float]:
    """This thread's time on a CPU and waiting in a run queue, in seconds."""
    on_cpu, waiting, _ = Path(f"/proc/self/task/{threading.get_native_id()}/schedstat").read_text().split()
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def server_pids() -> dict[str, int]:
    found = {}
    for name, pattern in (("redis", "redis-server"), ("broker", "kafka.Kafka")):
        pgrep = subprocess.run(["pgrep", "-f", pattern], check=False, capture_output=True, text=True)
        out = pgrep.stdout.split()
        if out:
            found[name] = int(out[0])
    return found


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--max-batch", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--accounting", action="store_true")
    p.add_argument("--pairs", action="store_true")
    args = p.parse_args()
    n = args.events
    pids = {"scorer": os.getpid(), **server_pids()} if args.accounting else {}
    shares: list[float] = []
    with prepared(load_settings(), n, Path("var/bench/model")) as env:
        s, model, work, state = env.settings, env.model, env.work, env.state
        codec = Codec("transaction", open_schema_source(s.schema_registry_url))
        with topic_set(s, "profile") as b:
            keys, values = encode(work.slice(0, n), codec)
            produce_backlog(b.kafka_common(), b.topic_transactions, keys, values)
            messages = compute.read_messages(b.kafka_common(), b.topic_transactions, n) if args.pairs else []
            for _ in range(args.repeat):
                state.restore()
                redis_stats = connect_redis(s.redis_url.get_secret_value())
                redis_stats.config_resetstat()
                cfg = throughput.scorer_config(
                    b,
                    model.model_dir,
                    model.version,
                    max_batch=args.max_batch,
                    max_events=n,
                    until_idle_s=30.0,
                )
                cpu0 = {k: process_cpu_s(v) for k, v in pids.items()}
                sched0, wall0 = thread_sched_s(), time.perf_counter()
                r = throughput.run_scorer(cfg, n)
                sched1, wall1 = thread_sched_s(), time.perf_counter()
                cpu1 = {k: process_cpu_s(v) for k, v in pids.items()}
                stages = ", ".join(f"{k} {v:.1f}" for k, v in r.stage_us.items())
                calls = redis_stats.info("commandstats")
                per_call = {k[8:]: v["usec_per_call"] for k, v in calls.items() if k[8:] in ("eval", "mget")}
                print(f"redis usec per call: {per_call}")
                print(f"{r.rate:,.0f} ev/s  load {os.getloadavg()[0]:.1f}  us/ev: {stages}", flush=True)
                if pids:
                    # The whole run, group join included: the join shows as blocked time.
                    us = {k: (cpu1[k] - cpu0[k]) / n * 1e6 for k in pids}
                    print("  CPU us/ev: " + ", ".join(f"{k} {v:.1f}" for k, v in us.items()), end="")
                    print(f", total {sum(us.values()):.1f}")
                    on_cpu, queued = ((sched1[i] - sched0[i]) / n * 1e6 for i in (0, 1))
                    wall = (wall1 - wall0) / n * 1e6
                    print(
                        f"  scorer thread us/ev: on a CPU {on_cpu:.1f}, run queue {queued:.1f}, "
                        f"blocked {wall - on_cpu - queued:.1f} (wall {wall:.1f})"
                    )
                if messages:
                    state.restore()
                    alone = compute.run_compute(
                        messages,
                        state.values(),
                        model.model_dir,
                        model.version,
                        args.max_batch,
                        b.topic_transactions,
                        s.label_delay_days,
                    )
                    shares.append(r.rate / alone.rate)
                    detail = ", ".join(f"{k} {v:.1f}" for k, v in alone.stage_us.items())
                    share = f"scorer / compute {shares[-1]:.0%}"
                    print(f"  compute alone {alone.rate:,.0f} ev/s ({detail}): {share}")
    if shares:
        listed = ", ".join(f"{x:.0%}" for x in shares)
        print(f"scorer / compute: median {statistics.median(shares):.1%} ({listed})")


if __name__ == "__main__":
    main()
