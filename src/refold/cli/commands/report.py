"""refold report --html FILE [--rev REV] [--folds N]"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from refold import __version__
from refold.cli.args import open_from_args, positive_int
from refold.cli.output import EXIT_OK, emit, plural, short
from refold.cli.report_html import render_report
from refold.manifests.errors import UsageError
from refold.store.report_data import DEFAULT_FOLDS, gather_report


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "report",
        help="write a self-contained HTML audit report",
        description="Write one self-contained HTML page (no network access, opens from "
        "file://): which release is available for which platform and arch and who published "
        "each file, each lane's last partial, pending and held-back partials and rejections "
        "with a timeline, and the recent publications with what each changed. Writes "
        "nothing to the store.",
    )
    parser.add_argument(
        "--html", metavar="FILE", required=True, help="the page to write ('-': standard output)"
    )
    parser.add_argument(
        "--rev",
        metavar="REV",
        help="report on an older publication (default: the public tip); pending and held "
        "back are then relative to it",
    )
    parser.add_argument(
        "--folds",
        metavar="N",
        type=positive_int,
        default=DEFAULT_FOLDS,
        help=f"how many recent publications to read (default {DEFAULT_FOLDS}); files "
        "published before them are marked as published earlier",
    )
    parser.set_defaults(run=run)
    return parser


def write_atomically(path: str, data: bytes) -> None:
    """Readers of FILE (a web server, a CI artifact step) see the old page or the new one."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(
            f"directory {directory!r} does not exist", location="--html", hint="create it first"
        )
    if os.path.isdir(path):
        raise UsageError(f"{path!r} is a directory", location="--html", hint="name a file")
    handle, temp = tempfile.mkstemp(prefix=".refold-report-", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def run(args: argparse.Namespace) -> int:
    data = gather_report(open_from_args(args), rev=args.rev, folds=args.folds)
    page = render_report(data, version=__version__).encode()
    if args.html == "-":
        sys.stdout.buffer.write(page)
        sys.stdout.flush()
        return EXIT_OK
    write_atomically(args.html, page)
    files = sum(len(r.files) for r in data.releases)
    summary = {
        "path": args.html,
        "bytes": len(page),
        "commit": data.commit,
        "releases": len(data.releases),
        "files": files,
        "lanes": len(data.lanes),
    }
    text = (
        f"wrote {args.html} ({len(page) // 1024 or 1} KiB): {plural(len(data.releases), 'release')}, "
        f"{plural(files, 'file')}, {plural(len(data.lanes), 'lane')} at {short(data.commit)}"
    )
    emit(args, summary, text)
    return EXIT_OK
