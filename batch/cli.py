"""`fraudscore batch` (score a file or a topic range into a file) and `fraudscore replay`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fraudscore.settings import Settings


def register(sub: argparse._SubParsersAction[Any]) -> None:
    b = sub.add_parser("batch", help="score a history file or a topic's time range into Parquet or Avro")
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", type=Path, metavar="FILE.avro", help="a history file (Avro container)")
    src.add_argument("--topic", metavar="NAME", help="a transactions topic; needs --from and --to")
    b.add_argument("--from", dest="t_from", metavar="T", help="event time from (ISO 8601 or epoch ms)")
    b.add_argument("--to", dest="t_to", metavar="T", help="event time to, exclusive")
    b.add_argument("--output", type=Path, required=True, metavar="FILE", help=".parquet or .avro")
    b.add_argument("--model", metavar="VERSION", help="model version (default: the current one)")
    b.add_argument(
        "--label-delay-days",
        dest="label_delay_days",
        type=int,
        metavar="D",
        help="[FRAUDSCORE_LABEL_DELAY_DAYS, default 7]",
    )
    b.set_defaults(handler=run_batch)

    r = sub.add_parser("replay", help="re-score an event-time range of the transactions topic")
    r.add_argument("--from", dest="t_from", required=True, metavar="T", help="ISO 8601 or epoch ms")
    r.add_argument("--to", dest="t_to", required=True, metavar="T", help="exclusive")
    r.add_argument("--model", metavar="VERSION", help="model version (default: the current one)")
    r.add_argument(
        "--output-topic",
        default="predictions-replay",
        metavar="NAME",
        help="where the replayed predictions go (default predictions-replay)",
    )
    r.add_argument(
        "--label-delay-days",
        dest="label_delay_days",
        type=int,
        metavar="D",
        help="[FRAUDSCORE_LABEL_DELAY_DAYS, default 7]",
    )
    r.set_defaults(handler=run_replay)


def _plan(settings: Settings, args: argparse.Namespace, transactions: str, output: str) -> Any:
    from batch.replay import ReplayPlan
    from fraudscore.errors import ConfigError
    from fraudscore.times import parse_time_ms

    if args.t_from is None or args.t_to is None:
        raise ConfigError("a topic range needs both --from and --to")
    return ReplayPlan(
        kafka=settings.kafka_common(),
        transactions_topic=transactions,
        labels_topic=settings.topic_labels,
        live_predictions_topic=settings.topic_predictions,
        live_topics=tuple(settings.topics().values()),
        output_topic=output,
        model_dir=settings.model_dir,
        model_version=args.model,
        label_delay_days=settings.label_delay_days,
        t_from=parse_time_ms(args.t_from),
        t_to=parse_time_ms(args.t_to),
    )


def run_batch(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from batch.replay import rescore
    from batch.scoring import labelled_metrics, score_history
    from batch.sources import read_file
    from batch.writers import write_predictions
    from models.artifact import load_artifact
    from models.scoring import ScoringCore
    from schemas import open_schema_source

    with tqdm(desc="batch", unit=" rec", file=sys.stderr, dynamic_ncols=True) as bar:
        if args.input is not None:
            tx = read_file(args.input)
            bar.update(len(tx))
            core = ScoringCore(load_artifact(settings.model_dir, args.model))
            scored = score_history(core, tx, settings.label_delay_days, progress=bar.update)
        else:
            plan = _plan(settings, args, args.topic, output="")
            scored, _skipped = rescore(plan, open_schema_source(settings.schema_registry_url), bar.update)
        write_predictions(args.output, scored)
    print(
        f"scored {len(scored.tx):,} events with model {scored.model_version}: "
        f"{int(scored.alert.sum()):,} alerts -> {args.output}"
    )
    metrics = labelled_metrics(scored)
    if metrics is not None:
        for name, value in metrics.items():
            print(f"  {name:<24} {value:.4f}")
        args.output.with_suffix(".metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return 0


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from batch.replay import replay
    from schemas import open_schema_source

    plan = _plan(settings, args, settings.topic_transactions, args.output_topic)
    from fraudscore.stack.topics import create_topics

    create_topics(settings.kafka_common(), [plan.output_topic], partitions=3)
    with tqdm(desc="replay", unit=" rec", file=sys.stderr, dynamic_ncols=True) as bar:
        summary = replay(plan, open_schema_source(settings.schema_registry_url), bar.update)
    print("\n".join(summary.lines()))
    return 0
