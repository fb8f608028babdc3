"""refold rebuild [--from REV] [--dry-run]"""

from __future__ import annotations

import argparse

from refold.cli.args import open_from_args
from refold.cli.commands.diff import describe_diff
from refold.cli.output import EXIT_OK, emit, short
from refold.store.rebuild import RebuildOutcome, rebuild_store


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "rebuild",
        help="republish what the history says, after a bad manual commit",
        description="Recompute the publication from the last good one (as refold verify finds "
        "it, or --from REV) plus everything folded since, skipping changes made around "
        "refold, and publish it as one new commit on top of the tip by compare-and-swap. "
        "Folds nothing new.",
    )
    parser.add_argument("--from", dest="from_rev", metavar="REV", help="replay from this publication")
    parser.add_argument("--dry-run", action="store_true", help="show the diff; write nothing")
    parser.set_defaults(run=run)
    return parser


def describe(outcome: RebuildOutcome) -> str:
    changes = describe_diff(outcome.diff)
    extra = []
    if outcome.provenance:
        extra.append(f"provenance: {len(outcome.provenance)} entries corrected")
    if outcome.config_changed:
        extra.append("config: restored")
    if outcome.removed_files:
        extra.append(f"tree: removes {', '.join(outcome.removed_files)}")
    if not changes and not extra and outcome.commit is None:
        head = f"nothing to rebuild: {short(outcome.previous)} is what the history publishes"
        return "\n".join([head] + [f"  note: {n}" for n in outcome.notes])
    if outcome.commit:
        head = f"published {short(outcome.commit)} (was {short(outcome.previous)})"
    else:
        head = f"dry run: would publish on top of {short(outcome.previous)}"
    head += f", replayed from {short(outcome.base)}"
    lines = [head, *changes, *extra]
    lines += [f"  note: {n}" for n in outcome.notes]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    outcome = rebuild_store(open_from_args(args), from_rev=args.from_rev, dry_run=args.dry_run)
    emit(args, outcome, describe(outcome))
    return EXIT_OK
