"""refold log [--lane LANE] [--since DATE] [--version V] [-n N]"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import msgspec
from msgspec import UnsetType

from refold.cli.args import open_from_args, positive_int
from refold.cli.output import EXIT_OK, emit, short
from refold.store.history import (
    PUBLISHED,
    EntryRef,
    LaneEntry,
    PublicationEntry,
    lane_log,
    publication_log,
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "log",
        help="publication history, or one lane's partials and where each went",
        description="Without --lane: the publication history, newest first (each fold: "
        "when, which lanes, what changed). With --lane: that lane's partial commits, newest "
        "first, each with its build identity, what it added, replaced and retracted, and "
        "the fold that published it (or pending, held back, rejected). Reads only as much "
        "history as it shows.",
    )
    parser.add_argument("--lane", help="show this lane's partials instead of the publications")
    parser.add_argument(
        "--since",
        metavar="DATE",
        type=parse_date,
        help="stop at commits older than DATE (YYYY-MM-DD, an ISO time, or @UNIX-SECONDS; UTC)",
    )
    parser.add_argument(
        "--version", dest="release", metavar="V", help="only commits touching release V"
    )
    parser.add_argument(
        "-n", dest="limit", metavar="N", type=positive_int, help="show at most N entries"
    )
    parser.set_defaults(run=run)
    return parser


def parse_date(text: str) -> int:
    """Unix seconds from ``@SECONDS``, ``YYYY-MM-DD`` or an ISO 8601 time (UTC if no zone)."""
    value = text.strip()
    if value.startswith("@") and value[1:].isdigit():
        return int(value[1:])
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: give YYYY-MM-DD, 2025-01-31T12:00:00Z or @1738324800"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return int(parsed.timestamp())


def when(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def _refs(items: list[EntryRef]) -> str:
    return ", ".join(f"{r.version} {r.filename}" for r in items)


def build_text(build: msgspec.Struct) -> str:
    fields = msgspec.structs.asdict(build)
    shown = [
        f"{k.replace('_', ' ')} {v}" for k, v in fields.items() if not isinstance(v, UnsetType)
    ]
    return ", ".join(shown) or "none recorded"


def _lane_text(entries: list[LaneEntry]) -> str:
    lines = []
    for e in entries:
        lines.append(f"{short(e.commit)}  {when(e.time)}  {e.author}")
        lines.append(f"    {e.summary}")
        lines.append(f"    build: {build_text(e.build)}")
        if e.error:
            lines.append(f"    invalid: {e.error}")
        if e.added:
            lines.append(f"    added: {_refs(e.added)}")
        if e.replaced:
            lines.append(f"    replaced: {_refs(e.replaced)}")
        if e.retracted:
            gone = ", ".join(
                f"{t.version} {'(all of this lane)' if isinstance(t.filename, UnsetType) else t.filename}"
                for t in e.retracted
            )
            lines.append(f"    retracted: {gone}")
        if e.status == PUBLISHED:
            lines.append(f"    published by {short(e.fold)} ({when(e.fold_time)})")
        else:
            reason = f": {e.reason}" if e.reason else ""
            folded = f" in {short(e.fold)} ({when(e.fold_time)})" if e.fold else ""
            lines.append(f"    {e.status}{folded}{reason}")
    return "\n".join(lines) or "no partials"


def _publication_text(entries: list[PublicationEntry]) -> str:
    lines = []
    for e in entries:
        lines.append(f"{short(e.commit)}  {when(e.time)}  {e.kind}  {e.author}")
        lines.append(f"    {e.summary}")
        if e.folded or e.rejected:
            lanes = ", ".join(f"{lane} {count}" for lane, count in sorted(e.folded.items()))
            lines.append(f"    lanes: {lanes}")
        for lane, commits in sorted(e.rejected.items()):
            lines.append(f"    rejected on {lane}: {', '.join(short(c) for c in commits)}")
        for lane, why in sorted(e.held_back.items()):
            lines.append(f"    held back {lane}: {why}")
        if e.rebuild_from:
            lines.append(f"    replayed from {short(e.rebuild_from)}")
        if e.error:
            lines.append(f"    unreadable: {e.error}")
        for label, versions in (("added", e.added), ("removed", e.removed), ("changed", e.changed)):
            if versions:
                more = f" (+{len(versions) - 10} more)" if len(versions) > 10 else ""
                lines.append(f"    {label}: {', '.join(versions[:10])}{more}")
        lines.append(
            f"    files: {e.files_added} added, {e.files_removed} removed, {e.files_changed} changed"
            + (", config changed" if e.config_changed else "")
        )
    return "\n".join(lines) or "no publications"


def run(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    if args.lane:
        entries = lane_log(
            store, args.lane, since=args.since, version=args.release, limit=args.limit
        )
        emit(args, {"lane": args.lane, "entries": entries}, _lane_text(entries))
        return EXIT_OK
    publications = publication_log(store, since=args.since, version=args.release, limit=args.limit)
    emit(
        args,
        {"public_ref": store.public_ref, "publications": publications},
        _publication_text(publications),
    )
    return EXIT_OK
