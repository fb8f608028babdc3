"""refold verify: replay the whole history and report every discrepancy.

Exit codes: 0 the store is what refold would have written (repaired discrepancies are
listed but do not fail), 3 discrepancies found, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
import time

import msgspec
from msgspec import UnsetType

from refold.cli.args import open_from_args
from refold.cli.commands.diff import shown
from refold.cli.output import EXIT_OK, emit, plural, short
from refold.store.verify import Discrepancy, VerifyReport, verify_store

EXIT_DISCREPANCIES = 3
PROGRESS_AFTER = 200
"""Histories shorter than this verify in a blink: no progress line."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "verify",
        help="replay the whole history and check every publication and lane",
        description="Replay the publication history from the first commit: every fold's "
        "manifest and provenance must equal folding its parents, config changes must be "
        "well-formed, lanes linear, every lane commit one valid partial. Reports each "
        "discrepancy with the commit and field. Exit 0: clean (discrepancies a later "
        "publication repaired are listed, not counted); exit 3: discrepancies found.",
    )
    parser.set_defaults(run=run)
    return parser


class _Progress:
    """``verify: 120/2000 publications`` on one stderr line, redrawn a few times a second."""

    def __init__(self) -> None:
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if total < PROGRESS_AFTER or now - self.last < 0.2:
            return
        self.last, self.shown = now, True
        sys.stderr.write(f"\rverify: {done}/{total} publications")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _json(value: object) -> str:
    text = shown(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _line(d: Discrepancy) -> list[str]:
    where = d.ref or short(d.commit)
    if d.ref and d.commit:
        where += f"@{short(d.commit)}"
    path = f" {d.path}" if d.path else ""
    lines = [f"  {where} {d.field}{path}: {d.message}"]
    if not isinstance(d.expected, UnsetType):
        lines.append(f"      expected: {_json(d.expected)}")
    if not isinstance(d.got, UnsetType):
        lines.append(f"      got:      {_json(d.got)}")
    return lines


def describe(report: VerifyReport) -> str:
    head = (
        f"replayed {plural(report.commits, 'publication')} ({plural(report.folds, 'fold')}) "
        f"and {plural(report.partials, 'lane commit')} on {plural(report.lanes, 'lane')}"
    )
    unrepaired = report.unrepaired
    repaired = [d for d in report.discrepancies if d.repaired_by is not None]
    lines = [head]
    if unrepaired:
        count = len(unrepaired)
        lines.append(f"{count} discrepanc{'y' if count == 1 else 'ies'} found:")
        for d in unrepaired:
            lines += _line(d)
        lines.append(f"last good publication: {short(report.last_good)} (refold rebuild restores it)")
    else:
        lines.append("no discrepancies: every publication is what refold would have written")
    if repaired:
        lines.append(f"repaired since ({len(repaired)}):")
        for d in repaired:
            lines += _line(d)
            lines.append(f"      repaired by {short(d.repaired_by)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    progress = _Progress() if sys.stderr.isatty() else None
    try:
        report = verify_store(store, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    data = {**msgspec.structs.asdict(report), "ok": report.ok}
    emit(args, data, describe(report))
    return EXIT_OK if report.ok else EXIT_DISCREPANCIES
