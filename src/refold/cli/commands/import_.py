"""refold import FILE|DIR [--as-lanes]"""

from __future__ import annotations

import argparse
import os

from refold.cli.args import open_from_args, read_input
from refold.cli.commands.fold import describe
from refold.cli.output import EXIT_HELD_BACK, EXIT_OK, emit, plural, short
from refold.store.compact import FoldOutcome
from refold.store.imports import ImportOutcome, import_as_lanes, import_directory, import_manifest


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "import",
        help="backfill from an existing manifest or a directory of partial files",
        description="Import what a pipeline already has, all or nothing: a versions-manifest "
        "becomes the base of a store that publishes nothing yet (or, with --as-lanes, one "
        "partial per arch lane, folded); a directory of per-version-per-arch files "
        "(versions-manifests/3.13.1-ppc64le.json) becomes one partial per file on the lane "
        "of its arch, folded. Every invalid file is reported and nothing is written.",
    )
    parser.add_argument(
        "path", metavar="FILE|DIR", help="a manifest file (- for stdin) or a directory"
    )
    parser.add_argument(
        "--as-lanes",
        action="store_true",
        help="submit the manifest as partials per arch lane and fold (a store that already publishes)",
    )
    parser.set_defaults(run=run)
    return parser


def _text(outcome: ImportOutcome) -> str:
    what = f"{plural(outcome.releases, 'release')} ({plural(outcome.files, 'file')}) from {outcome.source}"
    if outcome.mode == "base":
        return f"imported {what} as the base: published {short(outcome.commit)} (was {short(outcome.previous)})"
    lanes = ", ".join(f"{lane} {count}" for lane, count in outcome.lanes.items())
    head = f"imported {what}: {plural(sum(outcome.lanes.values()), 'partial')} on {plural(len(outcome.lanes), 'lane')} ({lanes})"
    assert outcome.report is not None
    fold = FoldOutcome(commit=outcome.commit, previous=outcome.previous, report=outcome.report)
    return head + "\n" + describe(fold)


def run(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    if args.path != "-" and os.path.isdir(args.path):
        outcome = import_directory(store, args.path)
    else:
        data, location = read_input(args.path)
        if args.as_lanes:
            outcome = import_as_lanes(store, data, location=location)
        else:
            outcome = import_manifest(store, data, location=location)
    emit(args, outcome, _text(outcome))
    return EXIT_HELD_BACK if outcome.report is not None and outcome.report.has_errors else EXIT_OK
