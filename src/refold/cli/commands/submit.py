"""refold submit --lane LANE FILE|-"""

from __future__ import annotations

import argparse

from refold.cli.args import open_from_args, read_input
from refold.cli.output import EXIT_OK, emit, short
from refold.store.submit import submit


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser("submit", help="append a partial to a lane")
    parser.add_argument("--lane", required=True, help="the lane (an arch, or arch/qualifier)")
    parser.add_argument("file", metavar="FILE", help="the partial (JSON), or - for stdin")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    data, location = read_input(args.file)
    result = submit(store, args.lane, data, location=location)
    text = (
        f"lane {result.lane}: already holds this partial at {short(result.commit)} (nothing to do)"
        if result.noop
        else f"lane {result.lane}: submitted {short(result.commit)}"
    )
    emit(args, result, text)
    return EXIT_OK
