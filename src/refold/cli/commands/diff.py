"""refold diff [REV1] REV2"""

from __future__ import annotations

import argparse

import msgspec
from msgspec import UnsetType

from refold.cli.args import open_from_args
from refold.cli.output import EXIT_OK, emit, short
from refold.manifests.diff import ADDED, REMOVED, ManifestDiff
from refold.manifests.errors import UsageError
from refold.store.history import diff_revisions


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "diff",
        help="releases and files added, removed and changed between two publications",
        description="Compare two publications field by field. With no revision: the last "
        "publication against the one before it; with one: that publication against its first "
        "parent; with two: REV1 against REV2.",
    )
    parser.add_argument("revs", metavar="REV", nargs="*", help="[REV1] REV2 (commit ids, main~3 ...)")
    parser.set_defaults(run=run)
    return parser


def shown(value: object) -> str:
    """A field value as JSON, or ``(absent)``: absent and null are different things."""
    return "(absent)" if isinstance(value, UnsetType) else msgspec.json.encode(value).decode()


def describe_diff(diff: ManifestDiff) -> list[str]:
    """``+``/``-``/``~`` per release and file, with each changed field's old and new value."""
    marks = {ADDED: "+", REMOVED: "-"}
    lines = []
    for release in diff.releases:
        mark = marks.get(release.change, "~")
        if release.change in marks:
            lines.append(f"{mark} {release.version} (release {release.change}, {len(release.files)} files)")
        else:
            lines.append(f"~ {release.version}")
        for field in release.fields:
            lines.append(f"    {field.field}: {shown(field.old)} -> {shown(field.new)}")
        for file in release.files:
            lines.append(f"    {marks.get(file.change, '~')} {file.filename}")
            for field in file.fields:
                lines.append(f"        {field.field}: {shown(field.old)} -> {shown(field.new)}")
    return lines


def run(args: argparse.Namespace) -> int:
    revs: list[str] = args.revs
    if len(revs) > 2:
        raise UsageError("give at most two revisions", location="REV", hint="refold diff [REV1] REV2")
    old, new = (revs[0], revs[1]) if len(revs) == 2 else (None, revs[0] if revs else None)
    result = diff_revisions(open_from_args(args), old, new)
    head = f"diff {short(result.old) if result.old else '(empty)'}..{short(result.new)}"
    lines = [head + (" (config changed)" if result.config_changed else "")]
    lines += describe_diff(result.diff) or ["no changes to the manifest"]
    emit(args, result, "\n".join(lines))
    return EXIT_OK
