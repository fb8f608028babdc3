"""Verify: replay the whole publication history and check every public commit is exactly
what refold would have written, and every lane holds what refold would have accepted.

Each public commit is checked against its recorded parent, so a hand edit is reported
at the commit that made it and not again at every fold built on top of it. Alongside,
the replay keeps the state refold *should* have published (hand edits skipped, folds
and config changes applied): that is what ``refold rebuild`` publishes, and a
discrepancy counts as repaired once a later publication agrees with it again.

How each kind of public commit is replayed:

- the first commit: its manifest must be canonically rendered and valid, and its
  provenance the one an import gives;
- a fold (extra parents): fold, from the parent's manifest, provenance and config, the
  lane commits each extra parent made newly reachable, with the rejections its message
  and provenance record; config and every other file unchanged;
- a single-parent commit that changes ``.refold/config.json``: the new config must
  decode; the manifest is the parent's re-rendered under it, provenance unchanged;
- an import (``Refold-Import``) onto an empty manifest: the manifest it holds must be a
  valid import, canonically rendered, with the provenance an import gives;
- a rebuild (``Refold-Rebuild-From``): the replayed state from that commit;
- anything else must leave manifest, provenance and config as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import msgspec
import pygit2
from msgspec import UNSET

from refold.manifests.config import StoreConfig, decode_config
from refold.manifests.diff import Change, diff_manifests, diff_provenance, flatten
from refold.manifests.errors import RefoldError
from refold.manifests.fold import FoldReport, Pending, fold, import_provenance
from refold.manifests.imports import validate_import
from refold.manifests.lanes import LANE_REF_PREFIX, check_lane
from refold.manifests.model import Manifest, decode_manifest
from refold.manifests.provenance import ProvenanceIndex, decode_provenance, encode_provenance
from refold.manifests.render import canonical_order, render_manifest
from refold.store.history import (
    CONFIG,
    FOLD,
    IMPORT,
    REBUILD,
    Trailers,
    commit_kind,
    newly_reachable,
    read_trailers,
)
from refold.store.pending import load_partial
from refold.store.repo import CONFIG_PATH, PROVENANCE_PATH, Store, public_tip

MAX_PER_FIELD = 50
"""Per commit and field, list this many differences and then how many more: a manifest
reformatted by hand differs everywhere, and the first few say enough."""

Progress = Callable[[int, int], None]


class Discrepancy(msgspec.Struct, kw_only=True, frozen=True):
    """One way the store differs from what refold would have written."""

    commit: str
    """The public commit (or, for ``lane``/``partial``, the lane commit) at fault."""
    field: str
    """manifest, provenance, config, tree, message, parents, lane or partial."""
    message: str
    path: str = ""
    expected: Any = UNSET
    got: Any = UNSET
    ref: str = ""
    repaired_by: str | None = None
    """A later (or this) publication that agrees with the replayed history again."""


class VerifyReport(msgspec.Struct, kw_only=True):
    public_ref: str
    tip: str
    commits: int
    """Public commits replayed (the first-parent history)."""
    folds: int
    lanes: int
    partials: int
    """Lane commits checked."""
    discrepancies: list[Discrepancy]
    last_good: str
    """The newest public commit that agrees with the replayed history."""

    @property
    def ok(self) -> bool:
        return not self.unrepaired

    @property
    def unrepaired(self) -> list[Discrepancy]:
        return [d for d in self.discrepancies if d.repaired_by is None]


class State(msgspec.Struct, frozen=True):
    """A publication's content, as bytes (what is compared) and decoded (what is folded)."""

    config: StoreConfig
    config_bytes: bytes
    manifest: Manifest
    manifest_bytes: bytes
    provenance: ProvenanceIndex
    provenance_bytes: bytes

    @property
    def ids(self) -> tuple[str, str, str]:
        """Blob ids of config, manifest and provenance: compared with a tree's entries
        without reading (and inflating) the blobs themselves."""
        return (
            str(pygit2.hash(self.config_bytes)),
            str(pygit2.hash(self.manifest_bytes)),
            str(pygit2.hash(self.provenance_bytes)),
        )

    def same(self, other: State | None) -> bool:
        return other is not None and (
            self.manifest_bytes == other.manifest_bytes
            and self.provenance_bytes == other.provenance_bytes
            and self.config_bytes == other.config_bytes
        )


def _blob(repo: pygit2.Repository, tree: pygit2.Tree, path: str) -> bytes | None:
    try:
        obj = repo[tree[path].id]
    except KeyError:
        return None
    return obj.data if isinstance(obj, pygit2.Blob) else None


def tree_files(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> dict[str, str]:
    """Every path in a tree and its object id (public trees hold three files)."""
    out: dict[str, str] = {}
    for entry in tree:
        path = f"{prefix}{entry.name}"
        if entry.filemode == pygit2.enums.FileMode.TREE:
            out.update(tree_files(repo, repo[entry.id].peel(pygit2.Tree), path + "/"))
        else:
            out[path] = str(entry.id)
    return out


def extra_files(files: Mapping[str, str], config: StoreConfig) -> dict[str, str]:
    """Paths of a public tree other than the three refold writes (reported only where
    they first appear, not again at every later commit)."""
    own = {config.manifest_path, CONFIG_PATH, PROVENANCE_PATH}
    return {path: oid for path, oid in files.items() if path not in own}


def read_state(repo: pygit2.Repository, commit: pygit2.Commit) -> tuple[State | None, list[Discrepancy]]:
    """A public commit's recorded content, or the reasons it cannot be read."""
    at = str(commit.id)
    problems = []
    config_bytes = _blob(repo, commit.tree, CONFIG_PATH)
    if config_bytes is None:
        return None, [Discrepancy(commit=at, field="config", message=f"{CONFIG_PATH} is missing")]
    try:
        config = decode_config(config_bytes, location=CONFIG_PATH)
    except RefoldError as exc:
        return None, [Discrepancy(commit=at, field="config", message=f"does not decode: {exc}")]
    manifest_bytes = _blob(repo, commit.tree, config.manifest_path)
    provenance_bytes = _blob(repo, commit.tree, PROVENANCE_PATH)
    manifest: Manifest = ()
    provenance = ProvenanceIndex()
    if manifest_bytes is None:
        problems.append(Discrepancy(commit=at, field="manifest", message=f"{config.manifest_path} is missing"))
    else:
        try:
            manifest = decode_manifest(manifest_bytes, location=config.manifest_path)
        except RefoldError as exc:
            problems.append(Discrepancy(commit=at, field="manifest", message=f"does not decode: {exc}"))
    if provenance_bytes is None:
        problems.append(Discrepancy(commit=at, field="provenance", message=f"{PROVENANCE_PATH} is missing"))
    else:
        try:
            provenance = decode_provenance(provenance_bytes)
        except RefoldError as exc:
            problems.append(Discrepancy(commit=at, field="provenance", message=f"does not decode: {exc}"))
    if problems:
        return None, problems
    assert manifest_bytes is not None and provenance_bytes is not None
    state = State(config, config_bytes, manifest, manifest_bytes, provenance, provenance_bytes)
    return state, []


def _with_config(state: State, config: StoreConfig, config_bytes: bytes) -> State:
    manifest_bytes = render_manifest(state.manifest, config)
    return msgspec.structs.replace(
        state, config=config, config_bytes=config_bytes, manifest_bytes=manifest_bytes
    )


class FoldInputs(msgspec.Struct, frozen=True):
    """What one fold commit consumed, read from the graph: its extra parents' new commits."""

    pending: dict[str, list[Pending]]
    lanes: dict[str, str]
    """Extra parent -> the lane it was folded as."""


def _batch(
    repo: pygit2.Repository, upto: pygit2.Oid, first: pygit2.Oid, consumed: set[str] | None
) -> list[pygit2.Commit]:
    """The lane commits a fold parent made newly reachable, oldest first.

    With ``consumed`` (every lane commit earlier folds took, known while replaying from
    the first commit) this is a walk down the lane to the previous fold's parent; a merge
    on the lane, or no such set, falls back to git's reachability walk.
    """
    if consumed is not None:
        out = []
        commit = repo[upto].peel(pygit2.Commit)
        while str(commit.id) not in consumed and len(commit.parents) <= 1:
            out.append(commit)
            if not commit.parents:
                out.reverse()
                return out
            commit = commit.parents[0]
        if str(commit.id) in consumed:
            out.reverse()
            return out
    return list(newly_reachable(repo, upto, first))


def fold_inputs(
    repo: pygit2.Repository,
    commit: pygit2.Commit,
    trailers: Trailers,
    lane_of: Mapping[str, str],
    consumed: set[str] | None = None,
) -> FoldInputs:
    first = commit.parent_ids[0]
    pending: dict[str, dict[str, Pending]] = {}
    lanes: dict[str, str] = {}
    for parent in commit.parent_ids[1:]:
        upto = str(parent)
        lane = trailers.lane_of_upto(upto) or lane_of.get(upto)
        if lane is None:
            lane = read_trailers(repo[parent].peel(pygit2.Commit).message).lane or "?"
        lanes[upto] = lane
        queue = pending.setdefault(lane, {})
        for partial_commit in _batch(repo, parent, first, consumed):
            key = str(partial_commit.id)
            if key not in queue:
                queue[key] = load_partial(repo, lane, partial_commit)
    if consumed is not None:
        consumed.update(key for queue in pending.values() for key in queue)
    return FoldInputs(pending={lane: list(q.values()) for lane, q in pending.items()}, lanes=lanes)


def replay_fold(
    state: State, inputs: FoldInputs, rejections: Mapping[str, str]
) -> tuple[State, FoldReport]:
    """What fold_store would have written from ``state`` given these lane commits."""
    result = fold(
        state.manifest, state.provenance, state.config, inputs.pending, rejections=rejections
    )
    if not result.report.consumed:
        return state, result.report
    manifest_bytes = render_manifest(result.manifest, state.config)
    provenance_bytes = encode_provenance(result.provenance)
    new = msgspec.structs.replace(
        state,
        manifest=result.manifest,
        manifest_bytes=manifest_bytes,
        provenance=result.provenance,
        provenance_bytes=provenance_bytes,
    )
    return new, result.report


def _rejections(repo: pygit2.Repository, commit: pygit2.Commit, trailers: Trailers) -> dict[str, str]:
    """The rejections a fold applied: named in its message, with reasons from its index."""
    if not trailers.rejected:
        return {}
    recorded: Mapping[str, Any] = {}
    data = _blob(repo, commit.tree, PROVENANCE_PATH)
    if data is not None:
        try:
            recorded = decode_provenance(data).rejected
        except RefoldError:
            recorded = {}
    out = {}
    for _, partial in trailers.rejected:
        rejection = recorded.get(partial)
        out[partial] = rejection.reason if rejection is not None else ""
    return out


class _Step(msgspec.Struct):
    state: State
    report: FoldReport | None = None
    problem: str = ""
    """Why an import is not what refold writes, when that shows before any comparison."""


def step(
    repo: pygit2.Repository,
    state: State,
    commit: pygit2.Commit,
    kind: str,
    inputs: FoldInputs | None,
    rejections: Mapping[str, str],
) -> _Step:
    """The state after ``commit`` as refold would have made it from ``state``."""
    if kind == FOLD:
        assert inputs is not None
        new, report = replay_fold(state, inputs, rejections)
        return _Step(state=new, report=report)
    if kind == IMPORT:
        return _import(repo, state, commit)
    if kind != CONFIG:
        return _Step(state=state)
    config_bytes = _blob(repo, commit.tree, CONFIG_PATH)
    if config_bytes is None or config_bytes == state.config_bytes:
        return _Step(state=state)
    try:
        config = decode_config(config_bytes, location=CONFIG_PATH)
    except RefoldError:
        return _Step(state=state)  # compare() reports the config that does not decode
    return _Step(state=_with_config(state, config, config_bytes))


def _import(repo: pygit2.Repository, state: State, commit: pygit2.Commit) -> _Step:
    """An import adopts the manifest it carries, so that manifest is its input: it must
    pass the import checks, and land on an empty manifest, as ``refold import`` requires."""
    if state.manifest:
        return _Step(state=state, problem="an import over a manifest that was not empty")
    data = _blob(repo, commit.tree, state.config.manifest_path)
    try:
        imported = validate_import(data or b"", state.config, location=state.config.manifest_path)
    except RefoldError as exc:
        return _Step(state=state, problem=f"not a valid import: {exc}")
    manifest = canonical_order(imported)
    provenance = msgspec.structs.replace(
        import_provenance(manifest), rejected=state.provenance.rejected
    )
    new = msgspec.structs.replace(
        state,
        manifest=manifest,
        manifest_bytes=render_manifest(manifest, state.config),
        provenance=provenance,
        provenance_bytes=encode_provenance(provenance),
    )
    return _Step(state=new)


def _capped(found: Iterable[Discrepancy]) -> Iterator[Discrepancy]:
    shown: dict[str, int] = {}
    extra: dict[str, Discrepancy] = {}
    for item in found:
        seen = shown.get(item.field, 0)
        shown[item.field] = seen + 1
        if seen < MAX_PER_FIELD:
            yield item
        else:
            extra[item.field] = item
    for field, item in extra.items():
        more = shown[field] - MAX_PER_FIELD
        yield Discrepancy(commit=item.commit, field=field, message=f"... and {more} more difference(s)")


def _differences(at: str, field: str, changes: Iterable[Change]) -> Iterator[Discrepancy]:
    for change in changes:
        if change.old is UNSET:
            message = "present, but refold would not have written it"
        elif change.new is UNSET:
            message = "missing: refold would have written it"
        else:
            message = "differs from what refold would have written"
        yield Discrepancy(
            commit=at, field=field, path=change.path, message=message, expected=change.old, got=change.new
        )


def compare(
    repo: pygit2.Repository,
    expected: State,
    commit: pygit2.Commit,
    parent_extras: Mapping[str, str] | None,
) -> tuple[list[Discrepancy], State | None]:
    """How ``commit`` differs from ``expected``; and its own state when that is cheap
    (equal bytes) or needed to go on (decoded from what it holds)."""
    at = str(commit.id)
    found: list[Discrepancy] = []
    files = tree_files(repo, commit.tree)
    for path, oid in sorted(extra_files(files, expected.config).items()):
        if parent_extras is None or parent_extras.get(path) != oid:
            found.append(
                Discrepancy(commit=at, field="tree", path=path, message="a file refold does not write")
            )
    config_id, manifest_id, provenance_id = expected.ids
    if (
        files.get(CONFIG_PATH) == config_id
        and files.get(expected.config.manifest_path) == manifest_id
        and files.get(PROVENANCE_PATH) == provenance_id
    ):
        return found, expected
    config_bytes = _blob(repo, commit.tree, CONFIG_PATH)
    manifest_bytes = _blob(repo, commit.tree, expected.config.manifest_path)
    provenance_bytes = _blob(repo, commit.tree, PROVENANCE_PATH)
    recorded, problems = read_state(repo, commit)
    found += problems
    if config_bytes != expected.config_bytes and not any(p.field == "config" for p in problems):
        found.append(
            Discrepancy(
                commit=at,
                field="config",
                message="differs from the config refold would have kept",
                expected=expected.config_bytes.decode("utf-8", "replace"),
                got=(config_bytes or b"").decode("utf-8", "replace"),
            )
        )
    if manifest_bytes is not None and manifest_bytes != expected.manifest_bytes:
        try:
            manifest = decode_manifest(manifest_bytes)
        except RefoldError:
            manifest = None
        if manifest is not None:
            detail = list(_differences(at, "manifest", flatten(diff_manifests(expected.manifest, manifest))))
            found += detail or [
                Discrepancy(
                    commit=at,
                    field="manifest",
                    message="same content, but not rendered as refold renders it (order or format)",
                )
            ]
    if provenance_bytes is not None and provenance_bytes != expected.provenance_bytes:
        try:
            provenance = decode_provenance(provenance_bytes)
        except RefoldError:
            provenance = None
        if provenance is not None:
            detail = list(_differences(at, "provenance", diff_provenance(expected.provenance, provenance)))
            found += detail or [
                Discrepancy(
                    commit=at,
                    field="provenance",
                    message="same content, but not encoded as refold encodes it",
                )
            ]
    return list(_capped(found)), recorded


def _check_fold_message(
    at: str, trailers: Trailers, inputs: FoldInputs, report: FoldReport
) -> Iterator[Discrepancy]:
    consumed = report.consumed
    for upto, lane in inputs.lanes.items():
        if consumed.get(lane) != upto:
            held = report.lanes[lane].held_back if lane in report.lanes else None
            why = f" (held back at {held.commit[:12]}: {held.kind}: {held.reason})" if held else ""
            yield Discrepancy(
                commit=at,
                field="parents",
                path=lane,
                message=f"the fold consumed lane {lane} up to {upto[:12]}, replaying it stops "
                f"at {(consumed.get(lane) or 'nothing')[:12]}{why}",
                expected=consumed.get(lane),
                got=upto,
            )
    said = {lane: (count, upto) for lane, (count, upto) in trailers.folded.items()}
    did = {lane: (o.folded, o.upto) for lane, o in report.lanes.items() if o.upto is not None}
    for lane in sorted(said.keys() | did.keys()):
        if said.get(lane) != did.get(lane):
            yield Discrepancy(
                commit=at,
                field="message",
                path=f"Refold-Folded {lane}",
                message="the commit message does not match what the fold did",
                expected=list(did[lane]) if lane in did else UNSET,
                got=list(said[lane]) if lane in said else UNSET,
            )
    named = {commit for _, commit in trailers.rejected}
    done = {commit for o in report.lanes.values() for commit in o.rejected}
    for commit in sorted(named ^ done):
        yield Discrepancy(
            commit=at,
            field="message",
            path=f"Refold-Rejected {commit[:12]}",
            message="names a partial the fold did not reject"
            if commit in named
            else "the fold rejected this partial without saying so",
        )


def _check_root(repo: pygit2.Repository, commit: pygit2.Commit) -> tuple[State | None, list[Discrepancy]]:
    """The first commit: a valid import, canonically rendered, with import provenance."""
    at = str(commit.id)
    recorded, problems = read_state(repo, commit)
    if recorded is None:
        return None, problems
    found: list[Discrepancy] = []
    config = recorded.config
    try:
        validate_import(recorded.manifest_bytes, config, location=config.manifest_path)
    except RefoldError as exc:
        found.append(Discrepancy(commit=at, field="manifest", message=f"not a valid manifest: {exc}"))
    manifest = canonical_order(recorded.manifest)
    provenance = import_provenance(manifest)
    expected = State(
        config,
        recorded.config_bytes,
        manifest,
        render_manifest(manifest, config),
        provenance,
        encode_provenance(provenance),
    )
    more, _ = compare(repo, expected, commit, None)
    return expected, found + more


class _Lanes(msgspec.Struct):
    owner: dict[str, str]
    """Every lane commit reachable from a lane ref -> its lane."""
    partials: int
    found: list[Discrepancy]


def check_lanes(repo: pygit2.Repository, rejected: Iterable[str]) -> _Lanes:
    """Every lane linear, every lane commit one valid partial document (unless an
    operator rejected it), no commit on two lanes."""
    excused = set(rejected)
    owner: dict[str, str] = {}
    found: list[Discrepancy] = []
    count = 0
    for ref in repo.references.iterator():
        if not ref.name.startswith(LANE_REF_PREFIX):
            continue
        lane = ref.name[len(LANE_REF_PREFIX) :]
        try:
            check_lane(lane)
        except RefoldError as exc:
            found.append(Discrepancy(commit="", ref=ref.name, field="lane", message=str(exc)))
        try:
            tip = repo[ref.resolve().target].peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            found.append(Discrepancy(commit="", ref=ref.name, field="lane", message="does not point at a commit"))
            continue
        for commit in repo.walk(tip.id, pygit2.enums.SortMode.TOPOLOGICAL):
            count += 1
            key = str(commit.id)
            if key in owner and owner[key] != lane:
                found.append(
                    Discrepancy(
                        commit=key,
                        ref=ref.name,
                        field="lane",
                        message=f"the commit is on two lanes: {owner[key]} and {lane}",
                    )
                )
            owner.setdefault(key, lane)
            if key in excused:
                continue
            item = load_partial(repo, lane, commit)
            if item.error is not None:
                field = "lane" if len(commit.parents) > 1 else "partial"
                found.append(
                    Discrepancy(
                        commit=key,
                        ref=ref.name,
                        field=field,
                        message=f"{item.error.message}",
                        path=item.error.location,
                    )
                )
            said = read_trailers(commit.message).lane
            if said is not None and said != lane:
                found.append(
                    Discrepancy(
                        commit=key,
                        ref=ref.name,
                        field="lane",
                        message=f"the commit says Refold-Lane: {said} but is on lane {lane}",
                    )
                )
    return _Lanes(owner=owner, partials=count, found=found)


class Replay(msgspec.Struct):
    """The outcome of replaying the public history (see module docstring)."""

    chain: list[str]
    """Public commits, oldest first."""
    expected: State | None
    """What the tip should hold; None if the first commit cannot be read at all."""
    agree: dict[str, bool]
    discrepancies: list[Discrepancy]
    folds: int
    folded: dict[str, tuple[str, str]]
    """Every fold parent -> (the fold, the lane it was folded as)."""


def replay_history(
    store: Store,
    *,
    tip: pygit2.Oid | None = None,
    lane_of: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> Replay:
    repo = store.repo
    lane_of = lane_of or {}
    head = tip or public_tip(store)
    chain_commits: list[pygit2.Commit] = []
    commit: pygit2.Commit | None = repo[head].peel(pygit2.Commit)
    while commit is not None:
        chain_commits.append(commit)
        commit = commit.parents[0] if commit.parents else None
    chain_commits.reverse()
    chain = [str(c.id) for c in chain_commits]
    position = {key: index for index, key in enumerate(chain)}
    out = Replay(chain=chain, expected=None, agree={}, discrepancies=[], folds=0, folded={})
    expected, found = _check_root(repo, chain_commits[0])
    out.discrepancies += found
    if expected is None:
        return out
    recorded: State | None
    recorded, _ = read_state(repo, chain_commits[0])
    extras = extra_files(tree_files(repo, chain_commits[0].tree), expected.config)
    out.agree[chain[0]] = expected.same(recorded) and not extras
    consumed: set[str] = set()
    for index, commit in enumerate(chain_commits[1:], start=1):
        if progress is not None:
            progress(index, len(chain))
        at = chain[index]
        trailers = read_trailers(commit.message)
        kind = commit_kind(commit, trailers)
        inputs = None
        rejections: dict[str, str] = {}
        if kind == FOLD:
            out.folds += 1
            inputs = fold_inputs(repo, commit, trailers, lane_of, consumed)
            rejections = _rejections(repo, commit, trailers)
            for upto, lane in inputs.lanes.items():
                out.folded[upto] = (at, lane)
        issues: list[Discrepancy] = []
        if kind == REBUILD:
            local: State | None = _rebuild_base(
                store, trailers, at, position, index, out, expected, lane_of, issues
            )
            after = expected
        elif recorded is None:
            # The parent could not be read (already reported there): nothing to compare with.
            local, after = None, step(repo, expected, commit, kind, inputs, rejections).state
        else:
            done = step(repo, recorded, commit, kind, inputs, rejections)
            local = done.state
            if recorded.same(expected):
                after = done.state
            else:
                after = step(repo, expected, commit, kind, inputs, rejections).state
            if done.problem:
                issues.append(Discrepancy(commit=at, field="manifest", message=done.problem))
            if kind == FOLD and done.report is not None and inputs is not None:
                issues += _check_fold_message(at, trailers, inputs, done.report)
        if local is not None:
            more, recorded = compare(repo, local, commit, extras)
            issues = more + issues
        else:
            recorded, _ = read_state(repo, commit)
        out.discrepancies += issues
        extras = extra_files(tree_files(repo, commit.tree), recorded.config if recorded else after.config)
        out.agree[at] = after.same(recorded) and not extras
        expected = after
    out.expected = expected
    _mark_repaired(out)
    return out


def _rebuild_base(
    store: Store,
    trailers: Trailers,
    at: str,
    position: Mapping[str, int],
    index: int,
    out: Replay,
    expected: State,
    lane_of: Mapping[str, str],
    issues: list[Discrepancy],
) -> State:
    """What a rebuild commit should hold: the replay from the commit it names."""
    base = trailers.rebuild_from or ""
    where = position.get(base)
    if where is None or where >= index:
        issues.append(
            Discrepancy(
                commit=at,
                field="message",
                path="Refold-Rebuild-From",
                message="names a commit that is not earlier on the public branch",
                got=base,
            )
        )
        return expected
    if out.agree.get(base):
        return expected
    repo = store.repo
    segment = [repo[key].peel(pygit2.Commit) for key in out.chain[where:index]]
    state, problems = read_state(repo, segment[0])
    if state is None:
        issues += problems
        return expected
    return replay_segment(repo, state, segment[1:], lane_of)


def replay_segment(
    repo: pygit2.Repository, state: State, commits: Iterable[pygit2.Commit], lane_of: Mapping[str, str]
) -> State:
    """Apply each commit's intended effect (folds, config changes) to ``state``."""
    for commit in commits:
        trailers = read_trailers(commit.message)
        kind = commit_kind(commit, trailers)
        inputs = fold_inputs(repo, commit, trailers, lane_of) if kind == FOLD else None
        rejections = _rejections(repo, commit, trailers) if kind == FOLD else {}
        state = step(repo, state, commit, kind, inputs, rejections).state
    return state


def _mark_repaired(out: Replay) -> None:
    """A state discrepancy is repaired by the first publication at or after it that
    agrees with the replayed history again."""
    agreeing_from: dict[str, str | None] = {}
    next_good: str | None = None
    for key in reversed(out.chain):
        if out.agree.get(key):
            next_good = key
        agreeing_from[key] = next_good
    repaired = []
    for item in out.discrepancies:
        fixer = agreeing_from.get(item.commit)
        if item.field in ("manifest", "provenance", "config", "tree") and fixer is not None:
            item = msgspec.structs.replace(item, repaired_by=fixer)
        repaired.append(item)
    out.discrepancies = repaired


def last_good(out: Replay) -> str:
    for key in reversed(out.chain):
        if out.agree.get(key):
            return key
    return out.chain[0]


def _rewritten_lanes(repo: pygit2.Repository, out: Replay, owner: Mapping[str, str]) -> list[Discrepancy]:
    """Fold parents no lane ref contains any more: the lane was rewritten or deleted."""
    missing: dict[str, list[tuple[str, str]]] = {}
    found = []
    for upto, (fold_commit, lane) in out.folded.items():
        on = owner.get(upto)
        if on is None:
            missing.setdefault(lane, []).append((upto, fold_commit))
        elif on != lane:
            found.append(
                Discrepancy(
                    commit=fold_commit,
                    field="parents",
                    path=lane,
                    message=f"folded {upto[:12]} as lane {lane}, but it is on lane {on}",
                )
            )
    order = {key: index for index, key in enumerate(out.chain)}
    for lane, items in sorted(missing.items()):
        upto, fold_commit = max(items, key=lambda pair: order.get(pair[1], -1))
        found.append(
            Discrepancy(
                commit=fold_commit,
                ref=LANE_REF_PREFIX + lane,
                field="lane",
                message=f"{LANE_REF_PREFIX}{lane} no longer contains {len(items)} lane commit(s) that "
                f"folds published (newest {upto[:12]}, folded by {fold_commit[:12]}): the lane "
                "was rewritten or deleted",
                expected=upto,
            )
        )
    return found


def verify_store(store: Store, *, progress: Progress | None = None) -> VerifyReport:
    """Replay the whole history; see the module docstring for what is checked."""
    repo = store.repo
    tip = public_tip(store)
    rejected: Iterable[str] = ()
    data = _blob(repo, repo[tip].peel(pygit2.Commit).tree, PROVENANCE_PATH)
    if data is not None:
        try:
            rejected = decode_provenance(data).rejected.keys()
        except RefoldError:
            rejected = ()
    lanes = check_lanes(repo, rejected)
    out = replay_history(store, tip=tip, lane_of=lanes.owner, progress=progress)
    discrepancies = out.discrepancies + lanes.found + _rewritten_lanes(repo, out, lanes.owner)
    lane_count = sum(1 for ref in repo.references.iterator() if ref.name.startswith(LANE_REF_PREFIX))
    return VerifyReport(
        public_ref=store.public_ref,
        tip=str(tip),
        commits=len(out.chain),
        folds=out.folds,
        lanes=lane_count,
        partials=lanes.partials,
        discrepancies=discrepancies,
        last_good=last_good(out),
    )


__all__ = [
    "Discrepancy",
    "FoldInputs",
    "Replay",
    "State",
    "VerifyReport",
    "check_lanes",
    "compare",
    "fold_inputs",
    "last_good",
    "read_state",
    "replay_fold",
    "replay_history",
    "replay_segment",
    "step",
    "tree_files",
    "verify_store",
]
