"""`fraudscore features load` and `fraudscore features bench`: arguments here, work in `load`/`bench`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fraudscore.settings import Settings, redact_url


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Adds this part's subcommands to the `fraudscore` parser."""
    features = sub.add_parser(
        "features",
        help="the online feature store in Redis: warm it from history, measure it",
        description="Features follow one definition (features/definition.py), computed offline from "
        "history and kept online in Redis by the scorer. See docs/features.md.",
    )
    commands = features.add_subparsers(dest="features_command", metavar="ACTION", required=True)
    load = commands.add_parser(
        "load",
        help="warm the store from a history file",
        description="Record the last 30 days plus the label delay of a history file (an Avro container "
        "of LabelledTransaction, as `fraudscore simulate` writes) into Redis, with the fraud labels "
        "known at the file's end. Loading the same file twice changes nothing.",
    )
    load.add_argument("--history", type=Path, required=True, metavar="FILE", help="history file (.avro)")
    _delay(load)
    load.set_defaults(handler=run_load)
    bench = commands.add_parser(
        "bench",
        help="measure read and write cost per event and memory per card and terminal",
        description="Fill the store under the key prefix 'fsbench' with a Handbook-sized population "
        "(5,000 cards, 10,000 terminals, about 10,000 transactions a day, 40 days), time reads and "
        "writes on batches of the steady state, then delete its keys.",
    )
    bench.add_argument("--batch", type=int, default=1000, metavar="N", help="events per batch [1000]")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    _delay(bench)
    bench.set_defaults(handler=run_bench)


def _delay(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--label-delay-days",
        dest="label_delay_days",
        type=int,
        default=None,
        metavar="D",
        help="days before a label is known [FRAUDSCORE_LABEL_DELAY_DAYS, 7]",
    )


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def run_load(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from features.exceptions import FeatureInputError
    from features.load import select_for_warming, warm_store
    from features.online import OnlineFeatureStore
    from fraudscore.redis_client import connect_redis
    from schemas.history import read_history

    try:
        tx = read_history(args.history)
    except FileNotFoundError:
        raise FeatureInputError(f"no history file at {args.history}") from None
    except (ValueError, TypeError, KeyError, EOFError) as exc:
        raise FeatureInputError(f"{args.history} is not a history file ({type(exc).__name__})") from None
    url = settings.redis_url.get_secret_value()
    store = OnlineFeatureStore(connect_redis(url), label_delay_days=settings.label_delay_days)
    recent, known = select_for_warming(tx, settings.label_delay_days)
    with tqdm(total=len(recent) + len(known), desc="loading", unit="row") as bar:
        s = warm_store(store, recent, known, progress=bar.update)
    print(
        f"loaded {s.transactions} transactions ({_day(s.first_ms)} to {_day(s.last_ms)} UTC; "
        f"{s.cards} cards, {s.terminals} terminals) and {s.frauds} fraud labels "
        f"into Redis at {redact_url(url)}"
    )
    return 0


def run_bench(args: argparse.Namespace, settings: Settings) -> int:
    from features.bench import measure
    from fraudscore.redis_client import connect_redis

    client = connect_redis(settings.redis_url.get_secret_value())
    m = measure(client, label_delay_days=settings.label_delay_days, batch=args.batch)
    if args.json:
        print(json.dumps(asdict(m)))
        return 0
    print(f"batch of {m.batch} events, Redis at {redact_url(settings.redis_url.get_secret_value())}")
    print("            wall    client CPU   Redis   (us per event)")
    print(
        f"  read   {m.read_us_per_event:8.1f} {m.read_cpu_us_per_event:8.1f} "
        f"{m.redis_read_us_per_event:8.1f}   one MGET, parse, windows"
    )
    print(
        f"  write  {m.write_us_per_event:8.1f} {m.write_cpu_us_per_event:8.1f} "
        f"{m.redis_write_us_per_event:8.1f}   one EVAL"
    )
    print(f"  labels {m.label_us_per_label:8.1f} us/label (wall)")
    print(f"  memory {m.card_bytes:8.0f} B/card, {m.terminal_bytes:.0f} B/terminal (median MEMORY USAGE)")
    return 0
