"""`fraudscore score` (the real-time scorer) and `fraudscore tail` (a downstream subscriber)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType
from typing import Any

from fraudscore.kafka_client import add_connect_timeout
from fraudscore.settings import Settings


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("score", help="score the transactions topic in real time (one group member)")
    p.add_argument(
        "--max-batch",
        dest="max_batch",
        type=int,
        metavar="N",
        help="events per batch at most [FRAUDSCORE_MAX_BATCH, default 1000]",
    )
    p.add_argument(
        "--max-wait-ms",
        dest="max_wait_ms",
        type=int,
        metavar="T",
        help="close a batch when its oldest event waited T ms [FRAUDSCORE_MAX_WAIT_MS, default 5]",
    )
    p.add_argument(
        "--guarantee",
        dest="guarantee",
        choices=("at-least-once", "exactly-once"),
        help="[FRAUDSCORE_GUARANTEE, default at-least-once]",
    )
    p.add_argument("--group-id", dest="group_id", metavar="G", help="[FRAUDSCORE_GROUP_ID]")
    p.add_argument(
        "--metrics-port",
        dest="metrics_port",
        type=int,
        metavar="P",
        help="serve /metrics, /healthz, /readyz on port P, 0 = any free port "
        "[FRAUDSCORE_METRICS_PORT, default 9108]",
    )
    p.add_argument(
        "--on-redis-down",
        dest="on_redis_down",
        choices=("score-missing", "pause"),
        help="[FRAUDSCORE_ON_REDIS_DOWN, default score-missing]",
    )
    p.add_argument(
        "--redis-retry-budget-ms",
        dest="redis_retry_budget_ms",
        type=int,
        metavar="MS",
        help="[FRAUDSCORE_REDIS_RETRY_BUDGET_MS, default 2000]",
    )
    p.add_argument(
        "--label-delay-days",
        dest="label_delay_days",
        type=int,
        metavar="D",
        help="[FRAUDSCORE_LABEL_DELAY_DAYS, default 7]",
    )
    p.add_argument("--model-version", metavar="V", help="pin a model version (default: follow CURRENT)")
    p.add_argument("--until-idle", type=float, metavar="S", help="exit after S seconds with nothing to read")
    p.add_argument("--max-events", type=int, metavar="N", help="exit after N transaction messages")
    p.add_argument(
        "--transactional-id",
        metavar="ID",
        help="exactly-once: this member's stable transactional id, one per replica: a restart then "
        "aborts the dead run's transaction at once and fences a paused old run (default: a fresh "
        "id per run, group id + random)",
    )
    add_connect_timeout(p)
    p.set_defaults(handler=run_score)

    t = sub.add_parser(
        "tail", help="decode and print predictions, alerts or dead letters (downstream example)"
    )
    t.add_argument("what", choices=("predictions", "alerts", "dlq"))
    t.add_argument("--from-beginning", action="store_true", help="start at the oldest record")
    t.add_argument("--max", type=int, metavar="N", help="stop after N records")
    t.add_argument("--until-idle", type=float, metavar="S", help="stop after S seconds with nothing new")
    t.add_argument("--json", action="store_true", help="one JSON object per line")
    add_connect_timeout(t)
    t.set_defaults(handler=run_tail)


def run_score(args: argparse.Namespace, settings: Settings) -> int:
    from consumer.config import ScorerConfig
    from consumer.scorer import Scorer
    from consumer.service import serve_scorer

    run = {
        "until_idle_s": args.until_idle,
        "max_events": args.max_events,
        "model_version": args.model_version,
        "transactional_id": args.transactional_id,
        "connect_timeout_s": args.connect_timeout,
    }
    cfg = ScorerConfig.from_settings(
        settings, status_line=sys.stderr.isatty(), **{k: v for k, v in run.items() if v is not None}
    )
    scorer = Scorer(cfg)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        scorer.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    summary = serve_scorer(scorer)
    print("\n".join(summary.lines(time.monotonic())))
    return 0


def run_tail(args: argparse.Namespace, settings: Settings) -> int:
    from consumer.tail import tail

    return tail(
        settings,
        args.what,
        from_beginning=args.from_beginning,
        max_records=args.max,
        until_idle_s=args.until_idle,
        as_json=args.json,
        connect_timeout_s=args.connect_timeout,
    )
