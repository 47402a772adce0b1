"""`fraudscore simulate` and `fraudscore produce`: the arguments; the work is in `producer.commands`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fraudscore.kafka_client import add_connect_timeout
from fraudscore.settings import Settings


def _population(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("simulated population (the Handbook's generative process)")
    g.add_argument("--customers", type=int, default=5_000, metavar="N", help="customers [5000]")
    g.add_argument("--terminals", type=int, default=10_000, metavar="N", help="terminals [10000]")
    g.add_argument("--seed", type=int, default=0, metavar="S", help="random seed; same seed, same bytes [0]")
    g.add_argument(
        "--start", default="2018-04-01", metavar="DATE", help="first simulated day, UTC [2018-04-01]"
    )
    g.add_argument(
        "--radius", type=float, default=5.0, metavar="R", help="a customer uses terminals within R [5]"
    )


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Adds this part's subcommands to the `fraudscore` parser."""
    sim = sub.add_parser(
        "simulate",
        help="simulate a labelled transaction history into an Avro file",
        description="Simulate transactions with the Fraud Detection Handbook's generative process and "
        "its three fraud scenarios, and write them, labelled, as an Avro container file.",
    )
    _population(sim)
    sim.add_argument("--days", type=int, default=180, metavar="D", help="simulated days [180]")
    sim.add_argument("--out", type=Path, required=True, metavar="FILE.avro", help="history file to write")
    sim.set_defaults(handler=run_simulate)

    prod = sub.add_parser(
        "produce",
        help="stream simulated transactions (and, later, their labels) to Kafka",
        description="Stream simulated transactions to the transactions topic, keyed by card id, and "
        "each one's fraud label to the labels topic once the label delay has passed in simulated time. "
        "Runs until --count, --duration or Ctrl-C; prints a summary; exits 1 if any message failed.",
    )
    _population(prod)
    stop = prod.add_mutually_exclusive_group()
    stop.add_argument("--count", type=int, metavar="N", help="send N transaction messages, then stop")
    stop.add_argument("--duration", type=float, metavar="S", help="run for S wall-clock seconds")
    pace = prod.add_mutually_exclusive_group()
    pace.add_argument(
        "--rate", type=float, metavar="R", help="events per second, 0 = as fast as possible [1000]"
    )
    pace.add_argument(
        "--speedup",
        type=float,
        metavar="X",
        help="instead of a fixed rate: simulated time runs X times faster than the wall clock",
    )
    prod.add_argument(
        "--label-delay-days",
        dest="label_delay_days",
        type=int,
        default=None,
        metavar="D",
        help="simulated days between a transaction and its label [FRAUDSCORE_LABEL_DELAY_DAYS, 7]",
    )
    prod.add_argument(
        "--bad-fraction",
        type=float,
        default=0.0,
        metavar="F",
        help="replace this fraction of events by malformed messages of every kind [0]",
    )
    prod.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    add_connect_timeout(prod)
    prod.add_argument(
        "--flush-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="at the end, wait this long for delivery reports; unconfirmed messages count as failed [30]",
    )
    prod.set_defaults(handler=run_produce)


def run_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from producer.commands import simulate_command

    return simulate_command(args)


def run_produce(args: argparse.Namespace, settings: Settings) -> int:
    from producer.commands import produce_command

    return produce_command(args, settings)
