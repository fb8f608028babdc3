"""Everything ``refold report`` shows, gathered from the store in one bounded pass.

The report answers an auditor's questions (which file is published for which platform,
who built it, which fold published it, what is waiting and why) without a server, so
all of it is collected here as plain data and rendered elsewhere. Every answer comes
from git, the same way ``log``, ``blame`` and ``status`` get it, and the cost follows
what is shown: the last ``folds`` publications, the last ``lane_depth`` partials of
each lane, the pending partials, and the partial commits the manifest names.

Which fold published a partial is the fold that made it reachable from the public
branch. Walking the recent publications and, for each fold, the lane commits its other
parents newly reach answers that for every cell at once; a partial published before the
window is marked ``earlier`` rather than walked to.
"""

from __future__ import annotations

import re

import msgspec
import pygit2
from msgspec import UnsetType

from refold.manifests.errors import RefoldError
from refold.manifests.fold import HeldBack, LaneOutcome, Pending, fold
from refold.manifests.lanes import IMPORT_LANE
from refold.manifests.ordering import is_valid_version, parse_version
from refold.manifests.partial import Provenance
from refold.store.history import (
    PublicationEntry,
    author_of,
    build_identity,
    first_line,
    first_parent_chain,
    publication_log,
    read_trailers,
)
from refold.store.pending import load_partial, pending_partials
from refold.store.repo import Published, Store, lane_refs, read_published, resolve_commit

DEFAULT_FOLDS = 50
DEFAULT_LANE_DEPTH = 30

PUBLISHED = "published"
EARLIER = "earlier"
PENDING = "pending"
HELD_BACK = "held back"
REJECTED = "rejected"
UNPUBLISHED = "not published"
"""Statuses of a partial. ``earlier``: published before the publications the report
walks; ``not published``: the whole history was walked and no fold reached it."""


class PartialInfo(msgspec.Struct, kw_only=True):
    """One partial commit as the report shows it, wherever it is referred to."""

    commit: str
    lane: str
    time: int
    author: str
    summary: str
    build: dict[str, str]
    status: str
    fold: str | None = None
    reason: str = ""
    error: str = ""


class FileInfo(msgspec.Struct, kw_only=True, frozen=True):
    filename: str
    arch: str
    platform: str
    platform_version: str | None
    download_url: str
    sha256: str | None = None
    size: int | None = None
    lane: str | None = None
    """The lane that owns the entry (None when the provenance index has none)."""
    commit: str | None = None
    """The partial commit that wrote it; None for an imported entry."""
    imported: bool = False


class ReleaseInfo(msgspec.Struct, kw_only=True, frozen=True):
    version: str
    stable: bool
    prerelease: bool
    lts: str | None
    release_url: str
    files: tuple[FileInfo, ...]


class Column(msgspec.Struct, frozen=True, order=True):
    platform: str
    platform_version: str | None
    arch: str


class HeldInfo(msgspec.Struct, kw_only=True, frozen=True):
    commit: str
    kind: str
    reason: str
    location: str = ""
    hint: str = ""
    waiting: int = 1


class RejectionInfo(msgspec.Struct, kw_only=True, frozen=True):
    commit: str
    lane: str
    reason: str
    fold: str | None


class LaneInfo(msgspec.Struct, kw_only=True):
    lane: str
    tip: str
    partials: list[PartialInfo]
    """Newest first, at most the report's lane depth."""
    more: bool
    """Whether the lane has older partials than those listed."""
    pending: list[PartialInfo]
    """Not reachable from the reported publication, oldest first (all of them)."""
    held_back: HeldInfo | None = None
    rejections: list[RejectionInfo] = []
    error: str = ""


class ReportData(msgspec.Struct, kw_only=True):
    store: str
    public_ref: str
    commit: str
    """The publication reported on."""
    time: int
    summary: str
    at_tip: bool
    """False with --rev: pending and held back are then relative to that publication."""
    manifest_path: str
    columns: list[Column]
    releases: list[ReleaseInfo]
    partials: dict[str, PartialInfo]
    """Every partial commit a cell or a lane refers to, by commit id."""
    folds: list[PublicationEntry]
    """The publications walked, newest first."""
    window: int
    complete: bool
    """Whether the walk reached the first commit (no partial can be ``earlier``)."""
    lanes: list[LaneInfo]
    warnings: list[str]


def _is_prerelease(version: str) -> bool:
    if is_valid_version(version):
        return bool(parse_version(version).prerelease)
    return "-" in version.split("+", 1)[0]


def _build(provenance: Provenance) -> dict[str, str]:
    return {
        name: str(value)
        for name, value in msgspec.structs.asdict(provenance).items()
        if not isinstance(value, UnsetType)
    }


def _version_parts(text: str | None) -> tuple[tuple[int, int | str], ...]:
    if text is None:
        return ()
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-_]", text))


def column_key(column: Column) -> tuple[object, ...]:
    """Platform, then its version numerically (16.04 before 22.04, 9 before 10), then arch."""
    return (column.platform, _version_parts(column.platform_version), column.arch)


def _fold_map(
    repo: pygit2.Repository, start: pygit2.Commit, window: int
) -> tuple[dict[str, str], bool]:
    """Lane commit -> the fold that made it reachable, for the last ``window`` publications.

    Each lane commit becomes reachable from the public branch in exactly one fold (the
    one whose other parents reach it and whose first parent does not), so the walk
    attributes every recent partial once and never looks at older history.
    """
    out: dict[str, str] = {}
    seen = 0
    for commit in first_parent_chain(repo, start.id):
        if seen >= window:
            return out, False
        seen += 1
        if len(commit.parents) < 2:
            continue
        walker = repo.walk(commit.parent_ids[1], pygit2.enums.SortMode.NONE)
        for parent in commit.parent_ids[2:]:
            walker.push(parent)
        walker.hide(commit.parent_ids[0])
        fold_id = str(commit.id)
        for reached in walker:
            out.setdefault(str(reached.id), fold_id)
    return out, True


class _Partials:
    """Partial commits read once each, with their status settled from what is known."""

    def __init__(
        self,
        repo: pygit2.Repository,
        fold_of: dict[str, str],
        complete: bool,
        rejected: dict[str, tuple[str, str]],
    ) -> None:
        self.repo = repo
        self.fold_of = fold_of
        self.complete = complete
        self.rejected = rejected
        self.known: dict[str, PartialInfo] = {}

    def get(self, lane: str, commit_id: str) -> PartialInfo | None:
        info = self.known.get(commit_id)
        if info is not None:
            return info
        try:
            commit = self.repo[commit_id].peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError):
            return None
        item = load_partial(self.repo, lane, commit)
        fold_id = self.fold_of.get(commit_id)
        status = PUBLISHED if fold_id else (UNPUBLISHED if self.complete else EARLIER)
        reason = ""
        if commit_id in self.rejected:
            status, reason = REJECTED, self.rejected[commit_id][1]
        info = PartialInfo(
            commit=commit_id,
            lane=lane,
            time=commit.commit_time,
            author=author_of(commit),
            summary=first_line(commit),
            build=_build(build_identity(item.partial, read_trailers(commit.message))),
            status=status,
            fold=fold_id,
            reason=reason,
            error=str(item.error) if item.error else "",
        )
        self.known[commit_id] = info
        return info


def _lane_chain(repo: pygit2.Repository, tip: pygit2.Oid, depth: int) -> tuple[list[str], bool]:
    """The lane's newest ``depth`` commits (lanes are linear) and whether older ones exist."""
    out: list[str] = []
    commit: pygit2.Commit | None = repo[tip].peel(pygit2.Commit)
    while commit is not None:
        if len(out) >= depth:
            return out, True
        out.append(str(commit.id))
        commit = commit.parents[0] if commit.parents else None
    return out, False


def _releases(published: Published, partials: _Partials) -> tuple[list[ReleaseInfo], set[Column]]:
    """The manifest as rows, each file with the lane and partial the provenance names."""
    provenance = published.provenance
    releases: list[ReleaseInfo] = []
    columns: set[Column] = set()
    for release in published.manifest:
        origins = provenance.files.get(release.version, {})
        files = []
        for file in release.files:
            origin = origins.get(file.filename)
            pv = file.platform_version if isinstance(file.platform_version, str) else None
            columns.add(Column(file.platform, pv, file.arch))
            if origin is not None and origin.commit is not None:
                partials.get(origin.lane, origin.commit)
            files.append(
                FileInfo(
                    filename=file.filename,
                    arch=file.arch,
                    platform=file.platform,
                    platform_version=pv,
                    download_url=file.download_url,
                    sha256=None if isinstance(file.sha256, UnsetType) else file.sha256,
                    size=None if isinstance(file.size, UnsetType) else file.size,
                    lane=origin.lane if origin is not None else None,
                    commit=origin.commit if origin is not None else None,
                    imported=origin is not None
                    and origin.commit is None
                    and origin.lane == IMPORT_LANE,
                )
            )
        releases.append(
            ReleaseInfo(
                version=release.version,
                stable=release.stable,
                prerelease=_is_prerelease(release.version),
                lts=release.lts if isinstance(release.lts, str) else None,
                release_url=release.release_url,
                files=tuple(files),
            )
        )
    return releases, columns


def _dry_run(
    published: Published, pending: dict[str, list[Pending]]
) -> tuple[dict[str, LaneOutcome], list[str]]:
    """What the next fold would do with the pending partials: who is held back and why."""
    try:
        dry = fold(published.manifest, published.provenance, published.config, pending)
    except RefoldError as exc:
        # A manifest made by hand can break the fold's own rules (a version that is not
        # semver); the report is how an auditor finds that out, so it still renders.
        return {}, [f"a dry-run fold failed, so held-back lanes are not shown: {exc}"]
    return dry.report.lanes, list(dry.report.warnings)


def _lane(
    repo: pygit2.Repository,
    lane: str,
    lane_tip: pygit2.Oid,
    queue: list[str],
    held: HeldBack | None,
    partials: _Partials,
    lane_depth: int,
) -> LaneInfo:
    """One lane's panel: its newest partials and every pending one, each with its status."""
    held_at = queue.index(held.commit) if held is not None and held.commit in queue else None
    try:
        chain, more = _lane_chain(repo, lane_tip, lane_depth)
    except (KeyError, ValueError, pygit2.GitError):
        chain, more = [], False
    shown: dict[str, PartialInfo] = {}
    for commit_id in dict.fromkeys(queue + chain):
        info = partials.get(lane, commit_id)
        if info is None:
            continue
        if commit_id in queue:
            position = queue.index(commit_id)
            info.status, info.fold, info.reason = PENDING, None, ""
            if held is not None and held_at is not None and position >= held_at:
                info.status = HELD_BACK
                info.reason = (
                    f"{held.kind}: {held.reason}"
                    if position == held_at
                    else f"behind {held.commit[:12]} ({held.kind}: {held.reason})"
                )
        shown[commit_id] = info
    rejections = [
        RejectionInfo(commit=c, lane=lane, reason=why, fold=partials.fold_of.get(c))
        for c, (owner, why) in sorted(partials.rejected.items())
        if owner == lane
    ]
    return LaneInfo(
        lane=lane,
        tip=str(lane_tip),
        partials=[shown[c] for c in chain if c in shown],
        more=more,
        pending=[shown[c] for c in queue if c in shown],
        held_back=None
        if held is None
        else HeldInfo(
            commit=held.commit,
            kind=held.kind,
            reason=held.reason,
            location=held.location,
            hint=held.hint,
            waiting=held.waiting,
        ),
        rejections=rejections,
        error="" if chain else "the lane ref does not point at a commit",
    )


def gather_report(
    store: Store,
    *,
    rev: str | None = None,
    folds: int = DEFAULT_FOLDS,
    lane_depth: int = DEFAULT_LANE_DEPTH,
) -> ReportData:
    """Read what the report shows at ``rev`` (default: the public tip)."""
    repo = store.repo
    start = resolve_commit(store, rev)
    tip = resolve_commit(store, None)
    published = read_published(store, str(start.id))
    fold_of, complete = _fold_map(repo, start, folds)
    rejected = {c: (r.lane, r.reason) for c, r in published.provenance.rejected.items()}
    partials = _Partials(repo, fold_of, complete, rejected)
    releases, columns = _releases(published, partials)
    pending = pending_partials(repo, start.id)
    outcomes, warnings = _dry_run(published, pending)
    lanes = []
    for lane, lane_tip in lane_refs(repo).items():
        outcome = outcomes.get(lane)
        queue = [p.commit for p in pending.get(lane, [])]
        held = outcome.held_back if outcome is not None else None
        lanes.append(_lane(repo, lane, lane_tip, queue, held, partials, lane_depth))
    return ReportData(
        store=store.path,
        public_ref=store.public_ref,
        commit=str(start.id),
        time=start.commit_time,
        summary=first_line(start),
        at_tip=start.id == tip.id,
        manifest_path=published.config.manifest_path,
        columns=sorted(columns, key=column_key),
        releases=releases,
        partials=partials.known,
        folds=publication_log(store, limit=folds, rev=str(start.id)),
        window=folds,
        complete=complete,
        lanes=lanes,
        warnings=warnings,
    )


__all__ = [
    "DEFAULT_FOLDS",
    "DEFAULT_LANE_DEPTH",
    "EARLIER",
    "HELD_BACK",
    "PENDING",
    "PUBLISHED",
    "REJECTED",
    "UNPUBLISHED",
    "Column",
    "FileInfo",
    "HeldInfo",
    "LaneInfo",
    "PartialInfo",
    "RejectionInfo",
    "ReleaseInfo",
    "ReportData",
    "column_key",
    "gather_report",
]
