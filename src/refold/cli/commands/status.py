"""refold status: pending partials per lane, held back and why, the last fold."""

from __future__ import annotations

import argparse
import time

from refold.cli.args import open_from_args
from refold.cli.output import EXIT_OK, emit, plural, short
from refold.store.status import status


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "status",
        help="show pending and held-back partials per lane",
        description="Show the public tip and, per lane, how many partials are pending and "
        "which are held back and why. Writes nothing.",
    )
    parser.set_defaults(run=run)
    return parser


def _when(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def run(args: argparse.Namespace) -> int:
    report = status(open_from_args(args))
    lines = [
        (
            f"{report.public_ref} at {short(report.public_commit)} "
            f"({_when(report.last_fold_time)}): {plural(report.releases, 'release')}, "
            f"{plural(report.files, 'file')}"
        ),
        f"  last: {report.last_fold_summary}",
    ]
    if not report.lanes:
        lines.append("no lanes yet")
    for lane in report.lanes:
        state = f"{lane.pending} pending" if lane.pending else "up to date"
        lines.append(f"  {lane.lane}: {state} (tip {short(lane.tip)}, {_when(lane.last_submit)})")
        if lane.held_back:
            held = lane.held_back
            lines.append(f"      held back at {short(held.commit)}: {held.kind}: {held.reason}")
            if held.location:
                lines.append(f"      where: {held.location}")
            if held.hint:
                lines.append(f"      hint:  {held.hint}")
        lines += [f"      rejected {short(c)}: {why}" for c, why in lane.rejected.items()]
    lines += [f"  warning: {w}" for w in report.warnings]
    emit(args, report, "\n".join(lines))
    return EXIT_OK
