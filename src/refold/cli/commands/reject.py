"""refold reject LANE COMMIT... --reason TEXT"""

from __future__ import annotations

import argparse

from refold.cli.args import open_from_args
from refold.cli.commands.fold import describe
from refold.cli.output import EXIT_HELD_BACK, EXIT_OK, emit, short
from refold.store.reject import reject


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "reject",
        help="reject a pending partial so its lane moves on",
        description="Reject pending partials of a lane (typically the one holding it back) "
        "and fold at once: the fold commit records the rejection (Refold-Rejected trailer, "
        "provenance 'rejected') and the lane's later partials fold again.",
    )
    parser.add_argument("lane", metavar="LANE", help="the lane the partial was submitted to")
    parser.add_argument(
        "commits", metavar="COMMIT", nargs="+", help="pending partial commit (4+ hex digits)"
    )
    parser.add_argument("--reason", required=True, help="why, one line: it is published")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    done = reject(open_from_args(args), args.lane, args.commits, args.reason)
    outcome = done.fold
    lines = [
        f"lane {done.lane}: rejected {', '.join(short(c) for c in done.commits)} ({done.reason})",
        describe(outcome),
    ]
    data = {
        "lane": done.lane,
        "rejected": done.commits,
        "reason": done.reason,
        "commit": outcome.commit,
        "previous": outcome.previous,
        "folded": {lane: o.folded for lane, o in outcome.report.lanes.items() if o.folded},
        "held_back": outcome.report.held_back,
        "changed": outcome.report.changed,
        "warnings": outcome.report.warnings,
    }
    emit(args, data, "\n".join(lines))
    return EXIT_HELD_BACK if outcome.report.has_errors else EXIT_OK
