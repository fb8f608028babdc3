"""refold fold [--strict] [--dry-run] [--max-retries N]"""

from __future__ import annotations

import argparse

from refold.cli import github
from refold.cli.args import open_from_args
from refold.cli.output import EXIT_HELD_BACK, EXIT_OK, emit, short
from refold.manifests.errors import UsageError
from refold.store.compact import MAX_FOLD_RETRIES, FoldOutcome, fold_store


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "fold",
        help="publish every pending partial in one commit",
        description="Fold every pending partial into one new commit on the public branch, "
        "moved by compare-and-swap. A lane whose partial is invalid or conflicts is held "
        "back from that partial on; the other lanes still publish (exit 3).",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="all or nothing: publish nothing if any lane is held back",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="report what would be published; write nothing"
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        default=MAX_FOLD_RETRIES,
        metavar="N",
        help="how often to retry after losing the race for the public branch before giving "
        f"up with exit 4 (default: {MAX_FOLD_RETRIES})",
    )
    parser.set_defaults(run=run)
    return parser


def describe(outcome: FoldOutcome) -> str:
    report = outcome.report
    lines = []
    if outcome.commit:
        lines.append(f"published {short(outcome.commit)} (was {short(outcome.previous)})")
    elif outcome.dry_run and report.consumed:
        lines.append(f"dry run: would publish on top of {short(outcome.previous)}")
    elif not report.published and report.refused:
        lines.append("strict: published nothing because the fold would lower what a spec resolves to")
        lines += [f"  refused: {reason}" for reason in report.refused]
    elif not report.published:
        lines.append("strict: published nothing because a lane is held back")
    elif report.held_back:
        lines.append("nothing to publish: every pending partial is held back")
    else:
        lines.append("nothing to fold")
    for lane, o in sorted(report.lanes.items()):
        if o.folded or o.rejected:
            extra = f", {len(o.rejected)} rejected" if o.rejected else ""
            lines.append(f"  {lane}: folded {o.folded}{extra}")
    for lane, held in sorted(report.held_back.items()):
        lines.append(
            f"  {lane}: held back at {short(held.commit)} ({held.waiting} pending): "
            f"{held.kind}: {held.reason}"
        )
        if held.location:
            lines.append(f"      where: {held.location}")
        if held.hint:
            lines.append(f"      hint:  {held.hint}")
    if report.changed:
        lines.append(f"  changed releases: {', '.join(report.changed)}")
    lines += [f"  warning: {w}" for w in report.warnings]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.max_retries < 0:
        raise UsageError("--max-retries must be 0 or more", location="--max-retries")
    github.mask_secrets(getattr(args, "store", None))
    outcome = fold_store(
        open_from_args(args),
        strict=args.strict,
        dry_run=args.dry_run,
        max_retries=args.max_retries,
    )
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
    github.report_fold(outcome)
    return EXIT_HELD_BACK if outcome.report.has_errors else EXIT_OK
