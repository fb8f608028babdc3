"""Blame: for each file of a release, who wrote the published entry and what it replaced.

The provenance index names the lane and partial commit behind every entry; the fold that
published it is found by walking the public branch back only until that partial's
publication (see ``refold.store.history.find_publishers``), and the replaced value is
the entry in the manifest that fold started from.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
import pygit2

from refold.manifests.diff import FieldChange, file_changes
from refold.manifests.errors import UsageError
from refold.manifests.lanes import IMPORT_LANE
from refold.manifests.model import File, Release
from refold.manifests.ordering import sort_descending
from refold.manifests.partial import Provenance
from refold.manifests.provenance import Claim, Origin
from refold.store.history import (
    Publisher,
    author_of,
    build_identity,
    find_publishers,
    read_trailers,
)
from refold.store.pending import load_partial
from refold.store.repo import Published, Store, read_published, resolve_commit


class BlameEntry(msgspec.Struct, kw_only=True):
    """One file of the release and the history of its current value."""

    filename: str
    file: File
    lane: str | None
    """The lane that owns the entry; None if the provenance index does not name one."""
    commit: str | None
    """The partial commit that wrote the entry; None for imported entries."""
    imported: bool = False
    author: str = ""
    time: int | None = None
    build: Provenance = Provenance()
    fold: str | None = None
    """The fold that published the entry: the oldest public commit whose history holds it."""
    fold_time: int | None = None
    previous: File | None = None
    """The entry this one replaced (in the manifest the fold started from), if different."""
    changes: tuple[FieldChange, ...] = ()
    """Field by field, how the current value differs from ``previous``."""
    previous_lane: str | None = None
    previous_commit: str | None = None
    note: str = ""


class BlameReport(msgspec.Struct, kw_only=True):
    commit: str
    """The publication blamed (the public tip unless a revision was given)."""
    version: str
    stable: bool
    release_url: str
    claims: dict[str, Claim]
    files: list[BlameEntry]


def _release(published: Published, version: str) -> Release:
    for release in published.manifest:
        if release.version == version:
            return release
    versions = sort_descending(r.version for r in published.manifest)
    near = [v for v in versions if v.split(".")[:2] == version.split(".")[:2]][:5] or versions[:5]
    raise UsageError(
        f"release {version} is not in the manifest at {published.commit[:12]}",
        location="VERSION",
        hint=f"published versions include: {', '.join(near) or 'none'}",
    )


def blame(
    store: Store, version: str, filename: str | None = None, *, rev: str | None = None
) -> BlameReport:
    repo = store.repo
    start = resolve_commit(store, rev)
    published = read_published(store, str(start.id))
    release = _release(published, version)
    files = [f for f in release.files if filename is None or f.filename == filename]
    if not files:
        raise UsageError(
            f"release {version} has no file {filename!r}",
            location="FILENAME",
            hint=f"its files: {', '.join(f.filename for f in release.files)}",
        )
    origins = published.provenance.files.get(version, {})
    targets = {
        origin.commit: origin.lane
        for f in files
        if (origin := origins.get(f.filename)) is not None and origin.commit
    }
    found, _ = find_publishers(repo, start.id, targets)
    before: dict[str, Published] = {}
    entries = []
    for file in files:
        origin = origins.get(file.filename)
        entries.append(_entry(store, file, version, origin, found.publishers, before))
    return BlameReport(
        commit=published.commit,
        version=version,
        stable=release.stable,
        release_url=release.release_url,
        claims=dict(published.provenance.claims.get(version, {})),
        files=entries,
    )


def _entry(
    store: Store,
    file: File,
    version: str,
    origin: Origin | None,
    publishers: Mapping[str, Publisher | None],
    before: dict[str, Published],
) -> BlameEntry:
    repo = store.repo
    if origin is None:
        return BlameEntry(
            filename=file.filename,
            file=file,
            lane=None,
            commit=None,
            note="the provenance index has no entry for this file (run refold verify)",
        )
    if origin.commit is None:
        imported = origin.lane == IMPORT_LANE
        return BlameEntry(
            filename=file.filename,
            file=file,
            lane=origin.lane,
            commit=None,
            imported=imported,
            note="imported with the store's base manifest" if imported else "",
        )
    entry = BlameEntry(filename=file.filename, file=file, lane=origin.lane, commit=origin.commit)
    try:
        partial_commit = repo[origin.commit].peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        entry.note = "the partial commit named by the provenance index is not in the store"
        return entry
    item = load_partial(repo, origin.lane, partial_commit)
    entry.author = author_of(partial_commit)
    entry.time = partial_commit.commit_time
    entry.build = build_identity(item.partial, read_trailers(partial_commit.message))
    publisher = publishers.get(origin.commit)
    if publisher is None:
        entry.note = "no fold on the public branch consumed this partial (run refold verify)"
        return entry
    fold_commit = repo[publisher.fold].peel(pygit2.Commit)
    entry.fold = publisher.fold
    entry.fold_time = fold_commit.commit_time
    parent = str(fold_commit.parent_ids[0])
    if parent not in before:
        before[parent] = read_published(store, parent)
    previous = before[parent]
    old = next(
        (
            f
            for r in previous.manifest
            if r.version == version
            for f in r.files
            if f.filename == file.filename
        ),
        None,
    )
    if old is not None and old != file:
        entry.previous, entry.changes = old, file_changes(old, file)
        was = previous.provenance.files.get(version, {}).get(file.filename)
        if was is not None:
            entry.previous_lane, entry.previous_commit = was.lane, was.commit
    return entry


__all__ = ["BlameEntry", "BlameReport", "blame"]
