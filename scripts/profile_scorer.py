"""Profile the scorer over a backlog, as `fraudscore bench` measures it, with a stage breakdown.

    python scripts/profile_scorer.py --events 100000 --max-batch 1000
    py-spy record -r 200 -f raw -o var/profile.txt -- python scripts/profile_scorer.py

Uses the servers the settings name (or starts the local stack), Redis database 15 and throw-away topics.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench import throughput
from bench.kafka_io import produce_backlog
from bench.runner import prepared
from bench.servers import topic_set
from bench.workload import encode
from fraudscore.redis_client import connect_redis
from fraudscore.settings import load_settings
from schemas import Codec, open_schema_source


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--max-batch", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    with prepared(load_settings(), args.events, Path("var/bench/model")) as env:
        s, model, work, state = env.settings, env.model, env.work, env.state
        codec = Codec("transaction", open_schema_source(s.schema_registry_url))
        with topic_set(s, "profile") as b:
            keys, values = encode(work.slice(0, args.events), codec)
            produce_backlog(b.kafka_common(), b.topic_transactions, keys, values)
            for _ in range(args.repeat):
                state.restore()
                redis_stats = connect_redis(s.redis_url.get_secret_value())
                redis_stats.config_resetstat()
                cfg = throughput.scorer_config(
                    b,
                    model.model_dir,
                    model.version,
                    max_batch=args.max_batch,
                    max_events=args.events,
                    until_idle_s=30.0,
                )
                r = throughput.run_scorer(cfg, args.events)
                stages = ", ".join(f"{k} {v:.1f}" for k, v in r.stage_us.items())
                calls = redis_stats.info("commandstats")
                per_call = {k[8:]: v["usec_per_call"] for k, v in calls.items() if k[8:] in ("eval", "mget")}
                print(f"redis usec per call: {per_call}")
                print(f"{r.rate:,.0f} ev/s  load {os.getloadavg()[0]:.1f}  us/ev: {stages}", flush=True)


if __name__ == "__main__":
    main()
