"""refold show [--rev REV]: the manifest bytes exactly as published."""

from __future__ import annotations

import argparse
import sys

from refold.cli.args import open_from_args
from refold.cli.output import EXIT_OK, emit
from refold.store.repo import read_published


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "show",
        help="print the published manifest",
        description="Print the manifest exactly as published, byte for byte (with --json: "
        "decoded, with the commit it was read from).",
    )
    parser.add_argument(
        "--rev",
        metavar="REV",
        help="an older publication: a commit id, or main~N for N folds back (default: the tip)",
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    published = read_published(open_from_args(args), args.rev)
    if args.json:
        emit(
            args,
            {
                "commit": published.commit,
                "path": published.config.manifest_path,
                "manifest": published.manifest,
            },
            "",
        )
    else:
        sys.stdout.buffer.write(published.manifest_bytes)
        sys.stdout.flush()
    return EXIT_OK
