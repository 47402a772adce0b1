"""The `fraudscore` console script: one parser, one subcommand per job.

Each part of the system registers its own subcommands (`register(subparsers)` in its `cli` module), so
this file only wires them together, reads the settings once, and turns expected failures into one line.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from fraudscore import __version__
from fraudscore.errors import FraudscoreError
from fraudscore.logs import configure_logging
from fraudscore.settings import Settings, load_settings, setting_names

# In data-flow order: infrastructure, upstream, features, model, scorer, batch, demo and bench.
COMMAND_MODULES = (
    "fraudscore.stack.cli",
    "producer.cli",
    "features.cli",
    "models.cli",
    "consumer.cli",
    "batch.cli",
    "fraudscore.demo_cli",
    "bench.cli",
)

Handler = Callable[[argparse.Namespace, Settings], int]


def _add_global_flags(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("connection and topics (each also an environment variable)")
    g.add_argument(
        "--bootstrap-servers",
        dest="kafka_bootstrap_servers",
        metavar="HOSTS",
        help="Kafka bootstrap servers [KAFKA_BOOTSTRAP_SERVERS, default 127.0.0.1:9092]",
    )
    g.add_argument(
        "--redis-url",
        dest="redis_url",
        metavar="URL",
        help="Redis URL [REDIS_URL, default redis://127.0.0.1:6379/0]",
    )
    g.add_argument(
        "--schema-registry-url",
        dest="schema_registry_url",
        metavar="URL",
        help="Confluent Schema Registry; unset uses the built-in catalog [FRAUDSCORE_SCHEMA_REGISTRY_URL]",
    )
    for name, default in (
        ("transactions", "transactions"),
        ("predictions", "predictions"),
        ("alerts", "fraud-alerts"),
        ("labels", "fraud-labels"),
        ("dlq", "transactions-dlq"),
    ):
        g.add_argument(
            f"--topic-{name}",
            dest=f"topic_{name}",
            metavar="NAME",
            help=f"[FRAUDSCORE_TOPIC_{name.upper()}, default {default}]",
        )
    g.add_argument(
        "--run-dir",
        dest="run_dir",
        metavar="DIR",
        help="where the local stack keeps its state [FRAUDSCORE_RUN_DIR, default var/run]",
    )
    g.add_argument(
        "--model-dir",
        dest="model_dir",
        metavar="DIR",
        help="model artifacts [FRAUDSCORE_MODEL_DIR, default artifacts/models]",
    )
    g.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    g.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per log line, for log shippers [text]",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fraudscore",
        # Subcommands own short options such as --to; prefixes of the global --topic-* must not swallow them.
        allow_abbrev=False,
        description="Streaming fraud scorer: Kafka + Redis + XGBoost, in real time and in batch.",
    )
    parser.add_argument("--version", action="version", version=f"fraudscore {__version__}")
    _add_global_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    names = setting_names()
    overrides: dict[str, Any] = {k: v for k, v in vars(args).items() if k in names}
    return load_settings(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.log_format)
    handler: Handler = args.handler
    try:
        settings = settings_from_args(args)
        return handler(args, settings)
    except FraudscoreError as exc:
        print(f"fraudscore {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"fraudscore {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
