"""Subcommands of this part (filled in by its issue)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Adds this part's subcommands to the `fraudscore` parser."""
