"""Reading the publication history: what each public commit did, which fold published a
partial, and the lane and publication logs built on those two answers.

No index outside git is kept, so an auditor can check every answer with ``git log`` and
``git show``. Everything walks only as far as the answer needs: the public branch newest
first along first parents, each lane newest first along its own chain, and a fold's
batch is read off the lane chain between two consecutive fold parents of that lane, so
the cost follows what is shown rather than the length of the store's history.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import msgspec
import pygit2
from msgspec import UnsetType

from refold.manifests.config import StoreConfig, decode_config
from refold.manifests.diff import ADDED, CHANGED, REMOVED, ManifestDiff, diff_manifests
from refold.manifests.errors import RefoldError, UsageError
from refold.manifests.fold import Pending, fold
from refold.manifests.lanes import check_lane
from refold.manifests.model import Manifest, decode_manifest
from refold.manifests.partial import Partial, Provenance, Retraction
from refold.manifests.provenance import ProvenanceIndex, decode_provenance
from refold.store.pending import load_partial, pending_partials
from refold.store.repo import (
    CONFIG_PATH,
    PROVENANCE_PATH,
    Store,
    blob_at,
    lane_refs,
    public_tip,
    read_published,
    resolve_commit,
)

INIT = "init"
FOLD = "fold"
CONFIG = "config"
IMPORT = "import"
REBUILD = "rebuild"
OTHER = "other"
"""Kinds of public commit: refold writes the first five; anything else was made by hand."""

PUBLISHED = "published"
REJECTED = "rejected"
HELD_BACK = "held back"
PENDING = "pending"
UNPUBLISHED = "not published"
"""Reachable from the public branch but no fold names it: the history was made by hand."""

REBUILD_TRAILER = "Refold-Rebuild-From"

_TRAILER_RE = re.compile(r"^(Refold-[A-Za-z-]+): ?(.*)$")


class Trailers(msgspec.Struct, kw_only=True, frozen=True):
    """The ``Refold-*`` trailers of a commit message, as refold writes them."""

    folded: dict[str, tuple[int, str]] = {}
    """lane -> (partials applied, last lane commit consumed), from ``Refold-Folded``."""
    rejected: tuple[tuple[str, str], ...] = ()
    """(lane, commit) pairs from ``Refold-Rejected``."""
    held_back: dict[str, str] = {}
    rebuild_from: str | None = None
    lane: str | None = None
    """``Refold-Lane`` of a partial commit."""
    versions: tuple[str, ...] = ()
    other: dict[str, str] = {}
    """Any other trailer by its name lowercased (``run-id``, ``source-commit`` ...)."""

    def lane_of_upto(self, upto: str) -> str | None:
        for lane, (_, last) in self.folded.items():
            if last == upto:
                return lane
        return None


def read_trailers(message: str) -> Trailers:
    folded: dict[str, tuple[int, str]] = {}
    rejected: list[tuple[str, str]] = []
    held: dict[str, str] = {}
    versions: list[str] = []
    other: dict[str, str] = {}
    rebuild_from = lane = None
    for line in message.splitlines():
        match = _TRAILER_RE.match(line)
        if match is None:
            continue
        key, value = match.group(1), match.group(2).strip()
        words = value.split()
        if key == "Refold-Folded" and len(words) == 3 and words[1].isdigit():
            folded[words[0]] = (int(words[1]), words[2])
        elif key == "Refold-Rejected" and len(words) == 2:
            rejected.append((words[0], words[1]))
        elif key == "Refold-Held-Back" and words:
            held[words[0]] = value[len(words[0]) :].strip()
        elif key == REBUILD_TRAILER and words:
            rebuild_from = words[0]
        elif key == "Refold-Lane" and words:
            lane = words[0]
        elif key == "Refold-Version" and words:
            versions.append(words[0])
        else:
            other[key.removeprefix("Refold-").lower()] = value
    return Trailers(
        folded=folded,
        rejected=tuple(rejected),
        held_back=held,
        rebuild_from=rebuild_from,
        lane=lane,
        versions=tuple(versions),
        other=other,
    )


def build_identity(partial: Partial | None, trailers: Trailers) -> Provenance:
    """Who built a partial: its own provenance, else (a document that did not decode)
    whatever its commit's trailers say."""
    if partial is not None:
        return partial.provenance
    fields = {
        name: trailers.other[name.replace("_", "-")]
        for name in Provenance.__struct_fields__
        if name.replace("_", "-") in trailers.other
    }
    return Provenance(**fields)


def author_of(commit: pygit2.Commit) -> str:
    return f"{commit.author.name} <{commit.author.email}>"


def first_line(commit: pygit2.Commit) -> str:
    return commit.message.splitlines()[0] if commit.message else ""


def _entry_id(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    try:
        return tree[path].id
    except KeyError:
        return None


def commit_kind(commit: pygit2.Commit, trailers: Trailers | None = None) -> str:
    """What a public commit is, from its shape: refold's own kinds, else OTHER."""
    trailers = trailers or read_trailers(commit.message)
    if not commit.parents:
        return INIT
    if len(commit.parents) > 1:
        return FOLD
    if trailers.rebuild_from:
        return REBUILD
    if "import" in trailers.other:
        return IMPORT
    parent = commit.parents[0]
    if _entry_id(commit.tree, CONFIG_PATH) != _entry_id(parent.tree, CONFIG_PATH):
        return CONFIG
    return OTHER


def first_parent_chain(repo: pygit2.Repository, start: pygit2.Oid) -> Iterator[pygit2.Commit]:
    """The public branch newest first, following first parents: the publication history."""
    commit: pygit2.Commit | None = repo[start].peel(pygit2.Commit)
    while commit is not None:
        yield commit
        commit = commit.parents[0] if commit.parents else None


class _LaneChain:
    """One lane's chain, walked newest first only as far as a question needs.

    Lanes are linear, so a commit's position in the chain orders it against every fold
    parent of the lane, and "is X in this fold's batch" becomes a comparison of positions.
    """

    def __init__(self, repo: pygit2.Repository, start: pygit2.Oid) -> None:
        self.order: list[str] = []
        self.pos: dict[str, int] = {}
        self._next: pygit2.Commit | None = repo[start].peel(pygit2.Commit)

    def _step(self) -> bool:
        commit = self._next
        if commit is None:
            return False
        key = str(commit.id)
        self.pos[key] = len(self.order)
        self.order.append(key)
        self._next = commit.parents[0] if commit.parents else None
        return True

    def reach(self, commit: str) -> int | None:
        """Walk on until ``commit`` is seen; its position, or None if the chain lacks it."""
        while commit not in self.pos:
            if not self._step():
                return None
        return self.pos[commit]

    def at(self, index: int) -> str | None:
        while index >= len(self.order):
            if not self._step():
                return None
        return self.order[index]

    def rest(self) -> list[str]:
        while self._step():
            pass
        return self.order


class Publisher(msgspec.Struct, frozen=True):
    fold: str
    upto: str
    """The fold's parent on this lane: the newest lane commit the fold consumed."""


class _LaneSearch:
    def __init__(self, chain: _LaneChain | None, targets: set[str]) -> None:
        self.chain = chain
        self.unresolved = set(targets)
        self.candidate: dict[str, Publisher] = {}
        self.uptos: list[Publisher] = []
        """Folds of this lane seen so far, newest first, with the one just past the targets."""


class Publishers(msgspec.Struct, frozen=True):
    """Which fold published each lane commit asked about, and how far each fold went."""

    publishers: dict[str, Publisher | None]
    folds: dict[str, list[Publisher]]
    """Per lane, the folds seen newest first: consecutive uptos bound each fold's batch."""


def find_publishers(
    repo: pygit2.Repository,
    start: pygit2.Oid,
    targets: Mapping[str, str],
    chains: Mapping[str, _LaneChain] | None = None,
) -> tuple[Publishers, dict[str, _LaneChain]]:
    """For each lane commit in ``targets`` (commit -> lane), the oldest fold on the
    first-parent chain from ``start`` whose history contains it.

    Walks the public branch newest first and stops as soon as every target has met a fold
    parent older than itself on its lane, so the walk ends at the publication of the
    oldest target, not at the root.
    """
    known = dict(chains or {})
    searches: dict[str, _LaneSearch] = {}
    for commit, lane in targets.items():
        searches.setdefault(lane, _LaneSearch(known.get(lane), set())).unresolved.add(commit)
    for fold_commit in first_parent_chain(repo, start):
        if not any(s.unresolved for s in searches.values()):
            break
        if len(fold_commit.parents) < 2:
            continue
        trailers = read_trailers(fold_commit.message)
        for parent in fold_commit.parent_ids[1:]:
            upto = str(parent)
            named = trailers.lane_of_upto(upto)
            search = searches.get(named) if named is not None else None
            if search is None or not search.unresolved:
                continue
            if search.chain is None:
                search.chain = _LaneChain(repo, parent)
            at = search.chain.reach(upto)
            if at is None:
                continue
            found = Publisher(fold=str(fold_commit.id), upto=upto)
            search.uptos.append(found)
            for target in list(search.unresolved):
                where = search.chain.reach(target)
                if where is not None and at <= where:
                    search.candidate[target] = found
                else:
                    search.unresolved.discard(target)
    publishers = {target: searches[lane].candidate.get(target) for target, lane in targets.items()}
    folds = {lane: s.uptos for lane, s in searches.items()}
    out_chains = {lane: s.chain for lane, s in searches.items() if s.chain is not None}
    return Publishers(publishers=publishers, folds=folds), out_chains


def batch_of(chain: _LaneChain, folds: list[Publisher], index: int) -> list[str]:
    """The lane commits fold ``folds[index]`` consumed, oldest first: from its upto down
    to the next older fold's upto on the same lane (or the lane's first commit)."""
    start = chain.reach(folds[index].upto)
    if start is None:
        return []
    end: int | None = None
    if index + 1 < len(folds):
        end = chain.reach(folds[index + 1].upto)
    if end is None:
        end = len(chain.rest())
    return list(reversed(chain.order[start:end]))


# --- log --lane ------------------------------------------------------------------------


class EntryRef(msgspec.Struct, frozen=True):
    version: str
    filename: str


class LaneEntry(msgspec.Struct, kw_only=True):
    """One partial commit as ``refold log --lane`` shows it."""

    commit: str
    lane: str
    time: int
    author: str
    summary: str
    build: Provenance
    added: list[EntryRef] = []
    replaced: list[EntryRef] = []
    retracted: list[Retraction] = []
    status: str = PENDING
    reason: str = ""
    fold: str | None = None
    fold_time: int | None = None
    error: str = ""
    """Why the commit holds no valid partial document, when it does not."""


def _touches(item: Pending, trailers: Trailers, version: str) -> bool:
    if item.partial is None:
        return version in trailers.versions or not trailers.versions
    return any(r.version == version for r in item.partial.releases) or any(
        t.version == version for t in item.partial.retract
    )


class _Existing:
    """Which entries exist (and which lane owns them) as a batch of partials is replayed."""

    def __init__(self, provenance: ProvenanceIndex) -> None:
        self.owners = {
            v: {f: o.lane for f, o in files.items()} for v, files in provenance.files.items()
        }

    def apply(
        self, lane: str, partial: Partial, entry: LaneEntry | None, *, commit: bool = True
    ) -> None:
        """Record in ``entry`` what ``partial`` adds and replaces; with ``commit``, apply it."""
        for release in partial.releases:
            present = self.owners.get(release.version, {})
            for file in release.files:
                ref = EntryRef(release.version, file.filename)
                if entry is not None:
                    (entry.replaced if file.filename in present else entry.added).append(ref)
        if not commit:
            return
        for release in partial.releases:
            present = self.owners.setdefault(release.version, {})
            for file in release.files:
                present[file.filename] = lane
        for retraction in partial.retract:
            present = self.owners.get(retraction.version, {})
            if isinstance(retraction.filename, UnsetType):
                for name in [f for f, owner in present.items() if owner == lane]:
                    del present[name]
            else:
                present.pop(retraction.filename, None)


def _provenance_at(repo: pygit2.Repository, commit: pygit2.Commit) -> ProvenanceIndex:
    data = blob_at(repo, commit, PROVENANCE_PATH)
    if data is None:
        return ProvenanceIndex()
    try:
        return decode_provenance(data)
    except RefoldError:
        return ProvenanceIndex()


def _older(when: int, since: int | None) -> bool:
    return since is not None and when < since


def lane_log(
    store: Store,
    lane: str,
    *,
    since: int | None = None,
    version: str | None = None,
    limit: int | None = None,
) -> list[LaneEntry]:
    """A lane's partial commits newest first, each with what it did and where it went.

    The walk stops at ``limit`` entries or at the first commit older than ``since``
    (lanes are appended in time order). With ``version`` it scans on until it has
    ``limit`` commits that touch that release.
    """
    check_lane(lane, location="--lane")
    repo = store.repo
    lanes = lane_refs(repo)
    if lane not in lanes:
        known = ", ".join(lanes) or "none yet"
        raise UsageError(
            f"no lane {lane!r} in this store", location="--lane", hint=f"lanes: {known}"
        )
    tip = public_tip(store)
    pending_ids = {str(c.id) for c in newly_reachable(repo, lanes[lane], tip)}
    chain = _LaneChain(repo, lanes[lane])
    shown: list[tuple[pygit2.Commit, Pending, LaneEntry]] = []
    index = 0
    while limit is None or len(shown) < limit:
        key = chain.at(index)
        if key is None:
            break
        commit = repo[key].peel(pygit2.Commit)
        index += 1
        if _older(commit.commit_time, since):
            break
        trailers = read_trailers(commit.message)
        item = load_partial(repo, lane, commit)
        if version is not None and not _touches(item, trailers, version):
            continue
        entry = LaneEntry(
            commit=str(commit.id),
            lane=lane,
            time=commit.commit_time,
            author=author_of(commit),
            summary=first_line(commit),
            build=build_identity(item.partial, trailers),
            retracted=list(item.partial.retract) if item.partial else [],
            error=str(item.error) if item.error else "",
        )
        shown.append((commit, item, entry))
    _settle_pending(store, tip, lane, [(i, e) for _, i, e in shown if e.commit in pending_ids])
    published = {e.commit: (i, e) for _, i, e in shown if e.commit not in pending_ids}
    if published:
        _settle_published(store, tip, lane, chain, published)
    return [entry for _, _, entry in shown]


def newly_reachable(
    repo: pygit2.Repository, start: pygit2.Oid, hide: pygit2.Oid
) -> Iterator[pygit2.Commit]:
    """Commits reachable from ``start`` and not from ``hide``, oldest first."""
    walker = repo.walk(start, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    walker.hide(hide)
    yield from walker


def _settle_pending(
    store: Store, tip: pygit2.Oid, lane: str, items: list[tuple[Pending, LaneEntry]]
) -> None:
    """Pending commits: held back (and why) as the next fold would decide, or waiting."""
    if not items:
        return
    published = read_published(store, str(tip))
    pending = pending_partials(store.repo, tip)
    result = fold(published.manifest, published.provenance, published.config, pending)
    outcome = result.report.lanes.get(lane)
    held = outcome.held_back if outcome else None
    queue = [p.commit for p in pending.get(lane, [])]
    held_at = queue.index(held.commit) if held is not None and held.commit in queue else None
    existing = _Existing(published.provenance)
    by_commit = {entry.commit: entry for _, entry in items}
    for position, partial_item in enumerate(pending.get(lane, [])):
        entry = by_commit.get(partial_item.commit)
        if held is not None and held_at is not None and position >= held_at:
            if entry is not None:
                entry.status = HELD_BACK
                entry.reason = (
                    f"{held.kind}: {held.reason}"
                    if position == held_at
                    else f"behind {held.commit[:12]} ({held.kind}: {held.reason})"
                )
                if partial_item.partial is not None:
                    existing.apply(lane, partial_item.partial, entry, commit=False)
            continue
        if entry is not None:
            entry.status = PENDING
        if partial_item.partial is not None:
            existing.apply(lane, partial_item.partial, entry)


def _settle_published(
    store: Store,
    tip: pygit2.Oid,
    lane: str,
    chain: _LaneChain,
    items: dict[str, tuple[Pending, LaneEntry]],
) -> None:
    """Published commits: their fold, or their rejection, and what they added or replaced
    relative to the manifest that fold started from."""
    repo = store.repo
    targets = {commit: lane for commit in items}
    found, chains = find_publishers(repo, tip, targets, {lane: chain})
    chain = chains.get(lane, chain)
    folds = found.folds.get(lane, [])
    wanted = {p.fold for p in found.publishers.values() if p is not None}
    for index, publisher in enumerate(folds):
        if publisher.fold not in wanted:
            continue
        fold_commit = repo[publisher.fold].peel(pygit2.Commit)
        trailers = read_trailers(fold_commit.message)
        rejected = {commit for name, commit in trailers.rejected if name == lane}
        reasons = _provenance_at(repo, fold_commit).rejected if rejected else {}
        existing = _Existing(_provenance_at(repo, fold_commit.parents[0]))
        for member in batch_of(chain, folds, index):
            pair = items.get(member)
            if pair is None:
                item = load_partial(repo, lane, repo[member].peel(pygit2.Commit))
                entry = None
            else:
                item, entry = pair
                entry.status, entry.fold = PUBLISHED, publisher.fold
                entry.fold_time = fold_commit.commit_time
            if member in rejected:
                if entry is not None:
                    rejection = reasons.get(member)
                    entry.status, entry.reason = REJECTED, rejection.reason if rejection else ""
                    if item.partial is not None:
                        existing.apply(lane, item.partial, entry, commit=False)
                continue
            if item.partial is not None:
                existing.apply(lane, item.partial, entry)
    for commit, maybe in found.publishers.items():
        if maybe is None:
            items[commit][1].status = UNPUBLISHED


# --- log (publication history) ---------------------------------------------------------


class PublicationEntry(msgspec.Struct, kw_only=True):
    """One commit of the public branch as ``refold log`` shows it."""

    commit: str
    time: int
    author: str
    kind: str
    summary: str
    folded: dict[str, int] = {}
    rejected: dict[str, list[str]] = {}
    held_back: dict[str, str] = {}
    rebuild_from: str | None = None
    added: list[str] = []
    removed: list[str] = []
    changed: list[str] = []
    files_added: int = 0
    files_removed: int = 0
    files_changed: int = 0
    config_changed: bool = False
    error: str = ""


class _Manifests:
    """Manifests by blob id, decoded once: consecutive commits share most of them."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self.configs: dict[pygit2.Oid, StoreConfig] = {}
        self.manifests: dict[pygit2.Oid, Manifest] = {}

    def at(self, commit: pygit2.Commit) -> Manifest:
        config_id = _entry_id(commit.tree, CONFIG_PATH)
        if config_id is None:
            raise UsageError(f"{CONFIG_PATH} is missing", location=str(commit.id)[:12])
        config = self.configs.get(config_id)
        if config is None:
            blob = self.repo[config_id].peel(pygit2.Blob)
            config = self.configs[config_id] = decode_config(blob.data)
        manifest_id = _entry_id(commit.tree, config.manifest_path)
        if manifest_id is None:
            raise UsageError(f"{config.manifest_path} is missing", location=str(commit.id)[:12])
        manifest = self.manifests.get(manifest_id)
        if manifest is None:
            if len(self.manifests) > 4:
                self.manifests.clear()
            blob = self.repo[manifest_id].peel(pygit2.Blob)
            manifest = self.manifests[manifest_id] = decode_manifest(blob.data)
        return manifest


def publication_log(
    store: Store,
    *,
    since: int | None = None,
    version: str | None = None,
    limit: int | None = None,
    rev: str | None = None,
) -> list[PublicationEntry]:
    """The public branch newest first: each publication, what it folded and what changed."""
    repo = store.repo
    manifests = _Manifests(repo)
    out: list[PublicationEntry] = []
    start = resolve_commit(store, rev).id
    for commit in first_parent_chain(repo, start):
        if limit is not None and len(out) >= limit:
            break
        if _older(commit.commit_time, since):
            break
        trailers = read_trailers(commit.message)
        rejected: dict[str, list[str]] = {}
        for lane, partial in trailers.rejected:
            rejected.setdefault(lane, []).append(partial)
        entry = PublicationEntry(
            commit=str(commit.id),
            time=commit.commit_time,
            author=author_of(commit),
            kind=commit_kind(commit, trailers),
            summary=first_line(commit),
            folded={lane: count for lane, (count, _) in trailers.folded.items()},
            rejected=rejected,
            held_back=dict(trailers.held_back),
            rebuild_from=trailers.rebuild_from,
        )
        try:
            diff = _diff_commits(manifests, commit.parents[0] if commit.parents else None, commit)
        except RefoldError as exc:
            entry.error = str(exc)
            diff = ManifestDiff()
        if version is not None and not any(r.version == version for r in diff.releases):
            continue
        entry.added, entry.removed = diff.versions(ADDED), diff.versions(REMOVED)
        entry.changed = diff.versions(CHANGED)
        entry.files_added, entry.files_removed = diff.file_count(ADDED), diff.file_count(REMOVED)
        entry.files_changed = diff.file_count(CHANGED)
        if commit.parents:
            parent_tree = commit.parents[0].tree
            entry.config_changed = _entry_id(commit.tree, CONFIG_PATH) != _entry_id(
                parent_tree, CONFIG_PATH
            )
        out.append(entry)
    return out


def _diff_commits(
    manifests: _Manifests, old: pygit2.Commit | None, new: pygit2.Commit
) -> ManifestDiff:
    before: Manifest = manifests.at(old) if old is not None else ()
    return diff_manifests(before, manifests.at(new))


# --- diff ------------------------------------------------------------------------------


class RevisionDiff(msgspec.Struct, kw_only=True, frozen=True):
    old: str | None
    """None when the new side is the first commit (compared with an empty manifest)."""
    new: str
    diff: ManifestDiff
    config_changed: bool = False


def diff_revisions(store: Store, old: str | None = None, new: str | None = None) -> RevisionDiff:
    """Two publications compared; ``old`` defaults to ``new``'s first parent."""
    repo = store.repo
    new_commit = resolve_commit(store, new)
    if old is not None:
        old_commit: pygit2.Commit | None = resolve_commit(store, old)
    else:
        old_commit = new_commit.parents[0] if new_commit.parents else None
    manifests = _Manifests(repo)
    changed = old_commit is not None and _entry_id(old_commit.tree, CONFIG_PATH) != _entry_id(
        new_commit.tree, CONFIG_PATH
    )
    return RevisionDiff(
        old=str(old_commit.id) if old_commit is not None else None,
        new=str(new_commit.id),
        diff=_diff_commits(manifests, old_commit, new_commit),
        config_changed=changed,
    )


__all__ = [
    "CONFIG",
    "FOLD",
    "HELD_BACK",
    "IMPORT",
    "INIT",
    "OTHER",
    "PENDING",
    "PUBLISHED",
    "REBUILD",
    "REBUILD_TRAILER",
    "REJECTED",
    "UNPUBLISHED",
    "EntryRef",
    "LaneEntry",
    "PublicationEntry",
    "Publisher",
    "Publishers",
    "RevisionDiff",
    "Trailers",
    "author_of",
    "batch_of",
    "build_identity",
    "commit_kind",
    "diff_revisions",
    "find_publishers",
    "first_parent_chain",
    "lane_log",
    "newly_reachable",
    "publication_log",
    "read_trailers",
]
