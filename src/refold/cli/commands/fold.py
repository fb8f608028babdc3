"""refold fold [--strict] [--dry-run]"""

from __future__ import annotations

import argparse

from refold.cli.args import open_from_args
from refold.cli.output import EXIT_HELD_BACK, EXIT_OK, emit, short
from refold.store.compact import FoldOutcome, fold_store


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser("fold", help="publish pending partials in one commit")
    parser.add_argument("--strict", action="store_true", help="all or nothing: publish nothing if any lane is held back")
    parser.add_argument("--dry-run", action="store_true", help="report what would be published; write nothing")
    parser.set_defaults(run=run)
    return parser


def describe(outcome: FoldOutcome) -> str:
    report = outcome.report
    lines = []
    if outcome.commit:
        lines.append(f"published {short(outcome.commit)} (was {short(outcome.previous)})")
    elif outcome.dry_run and report.consumed:
        lines.append("dry run: would publish")
    elif not report.published:
        lines.append("strict: published nothing")
    else:
        lines.append("nothing to fold")
    for lane, o in sorted(report.lanes.items()):
        if o.folded or o.rejected:
            extra = f", {len(o.rejected)} rejected" if o.rejected else ""
            lines.append(f"  {lane}: folded {o.folded}{extra}")
    for lane, held in sorted(report.held_back.items()):
        lines.append(f"  {lane}: held back at {short(held.commit)} ({held.waiting} pending): {held.kind}: {held.reason}")
        if held.location:
            lines.append(f"      where: {held.location}")
    if report.changed:
        lines.append(f"  changed releases: {', '.join(report.changed)}")
    lines += [f"  warning: {w}" for w in report.warnings]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    outcome = fold_store(open_from_args(args), strict=args.strict, dry_run=args.dry_run)
    data = {
        "commit": outcome.commit,
        "previous": outcome.previous,
        "dry_run": outcome.dry_run,
        "published": outcome.report.published and bool(outcome.commit),
        "retries": outcome.retries,
        "folded": {lane: o.folded for lane, o in outcome.report.lanes.items() if o.folded},
        "rejected": {lane: o.rejected for lane, o in outcome.report.lanes.items() if o.rejected},
        "held_back": outcome.report.held_back,
        "changed": outcome.report.changed,
        "warnings": outcome.report.warnings,
    }
    emit(args, data, describe(outcome))
    return EXIT_HELD_BACK if outcome.report.has_errors else EXIT_OK
