"""The `bot` command line: one sub-command group per module.

Each module exposes `register(subparsers)` that adds its sub-commands and sets `func`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# Modules that contribute sub-commands.
COMMAND_MODULES = (
    "bot.places.store",
    "bot.contacts.cards",
    "bot.conversations.privacy",
    "bot.staff.faq_sheet",
    "bot.staff.report",
    "bot.staff.review",
    "bot.staff.nlu_gate",
    "bot.demo.webserver",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description="Outils de l'assistant SPIE.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
