"""refold blame VERSION [FILENAME] [--rev REV]"""

from __future__ import annotations

import argparse

from refold.cli.args import open_from_args
from refold.cli.commands.diff import shown
from refold.cli.commands.log import build_text, when
from refold.cli.output import EXIT_OK, emit, short
from refold.store.blame import BlameReport, blame


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "blame",
        help="who published each file of a release, when, and what it replaced",
        description="For each file of a release (or one file): the lane and partial commit "
        "that wrote the published entry, its build identity, the fold that published it and "
        "the value it replaced.",
    )
    parser.add_argument("version", metavar="VERSION", help="the release, e.g. 3.13.1")
    parser.add_argument("filename", metavar="FILENAME", nargs="?", help="only this file")
    parser.add_argument("--rev", help="a publication to blame (default: the public tip)")
    parser.set_defaults(run=run)
    return parser


def describe(report: BlameReport) -> str:
    head = (
        f"release {report.version} at {short(report.commit)}: stable {shown(report.stable)}, "
        f"release_url {report.release_url or '(none)'}"
    )
    lines = [head]
    for e in report.files:
        lines.append(e.filename)
        if e.commit is None:
            lines.append(f"    lane {e.lane or '?'}: {e.note or 'no partial recorded'}")
            continue
        lines.append(f"    lane {e.lane}, partial {short(e.commit)} by {e.author} ({when(e.time)})")
        lines.append(f"    build: {build_text(e.build)}")
        if e.fold:
            lines.append(f"    published by {short(e.fold)} ({when(e.fold_time)})")
        if e.previous is not None:
            owner = f" (lane {e.previous_lane}, partial {short(e.previous_commit)})" if e.previous_lane else ""
            lines.append(f"    replaced{owner}:")
            for change in e.changes:
                lines.append(f"        {change.field}: {shown(change.old)} -> {shown(change.new)}")
        if e.note:
            lines.append(f"    note: {e.note}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    report = blame(open_from_args(args), args.version, args.filename, rev=args.rev)
    emit(args, report, describe(report))
    return EXIT_OK
