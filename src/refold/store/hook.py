"""The server side: a pre-receive hook that refuses every push that breaks refold's rules.

Clients keep the rules by construction; the hook makes the server keep them against
anyone who can push (a hand-edited manifest, a force-pushed lane, a job pushing around
refold). For each updated ref:

- ``refs/partials/<lane>`` only fast-forwards and is never deleted; each new commit on
  it holds exactly one ``partial.json`` valid for that lane under the config at the
  public tip, and belongs to no other lane;
- the public ref only fast-forwards along first parents, and each new commit on it is
  exactly what refold would have written from its first parent: a fold (more than one
  parent, or a message starting ``fold:``) must hold the manifest and provenance that
  folding its parents gives, byte for byte; any other commit may only change the
  config, with the published manifest re-rendered under it (``refold config set``), or
  adopt a manifest into an empty store (``import:``); the first commit must be what
  ``refold init`` writes;
- any other ref is refused.

Only new commits are read (the walk hides the old tip), and a chain of folds is replayed
from the state the previous step computed, so a big push costs what it adds.

The hook checks each update against the old value the pusher saw; git's receive-pack
then moves the ref only if it still holds that value, so a pusher that lost a race gets
``failed to update ref`` (which the client retries) rather than a refusal.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec
import pygit2

from refold.manifests.config import StoreConfig, decode_config
from refold.manifests.errors import RefoldError, UsageError
from refold.manifests.fold import Pending, fold, import_provenance
from refold.manifests.imports import validate_import
from refold.manifests.lanes import LANE_REF_PREFIX, check_lane
from refold.manifests.model import Manifest, decode_manifest
from refold.manifests.provenance import ProvenanceIndex, decode_provenance, encode_provenance
from refold.manifests.render import canonical_order, render_manifest
from refold.manifests.validate import check_partial
from refold.store.pending import load_partial
from refold.store.repo import (
    CONFIG_PATH,
    DEFAULT_BRANCH,
    PROVENANCE_PATH,
    lane_refs,
    open_repository,
    ref_target,
)

ZERO = "0" * 40
HOOK_MARKER = "written by refold hook install"
_FOLDED_RE = re.compile(r"^Refold-Folded: (\S+) \d+ ([0-9a-f]{40})$", re.MULTILINE)
_LANE_RE = re.compile(r"^Refold-Lane: (\S+)$", re.MULTILINE)


class RefUpdate(msgspec.Struct, frozen=True):
    """One line of pre-receive input: ``<old> <new> <ref>``."""

    old: str
    new: str
    ref: str


class Refusal(msgspec.Struct, frozen=True):
    ref: str
    reason: str


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _State(msgspec.Struct, frozen=True):
    """A public commit's content: decoded to fold from, and as blob ids to compare with."""

    config: StoreConfig
    manifest: Manifest
    provenance: ProvenanceIndex
    files: dict[str, pygit2.Oid]


def parse_updates(text: str) -> list[RefUpdate]:
    updates = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not all(re.fullmatch(r"[0-9a-f]{40}", p) for p in parts[:2]):
            raise UsageError(
                f"pre-receive input line {number} is not '<old> <new> <ref>': {line!r}",
                location="<stdin>",
                hint="refold hook run is meant to be run by git as a pre-receive hook",
            )
        updates.append(RefUpdate(old=parts[0], new=parts[1], ref=parts[2]))
    return updates


def open_pushed_repository(git_dir: str, env: Mapping[str, str]) -> pygit2.Repository:
    """The repository as the hook must see it: git keeps a push's objects in a quarantine
    directory until the hook accepts them, so add it as an alternate object store."""
    try:
        repo = open_repository(git_dir)
    except (pygit2.GitError, KeyError):
        raise UsageError(
            f"{git_dir!r} is not a git repository",
            location="$GIT_DIR",
            hint="refold hook run is run by git, from the pre-receive hook refold hook install writes",
        ) from None
    incoming = env.get("GIT_QUARANTINE_PATH") or env.get("GIT_OBJECT_DIRECTORY")
    if incoming:
        path = os.path.realpath(os.path.join(git_dir, incoming))
        own = os.path.realpath(os.path.join(repo.path, "objects"))
        if os.path.isdir(path) and path != own:
            repo.odb.add_disk_alternate(path)
    return repo


def public_ref_of(repo: pygit2.Repository) -> str:
    branch = DEFAULT_BRANCH
    if "refold.branch" in repo.config:
        branch = str(repo.config["refold.branch"])
    return f"refs/heads/{branch}"


def check_push(
    repo: pygit2.Repository, updates: Iterable[RefUpdate], public_ref: str
) -> list[Refusal]:
    """Every update that breaks a rule, with the reason; empty when the push may land."""
    updates = list(updates)
    lanes = lane_refs(repo)
    for update in updates:
        if update.ref.startswith(LANE_REF_PREFIX):
            lane = update.ref[len(LANE_REF_PREFIX) :]
            if update.new == ZERO:
                lanes.pop(lane, None)
            else:
                lanes[lane] = pygit2.Oid(hex=update.new)
    public_before = ref_target(repo, public_ref)
    public_after = public_before
    refusals = []
    config: StoreConfig | None = None
    for update in sorted(updates, key=lambda u: u.ref != public_ref):
        try:
            if update.ref == public_ref:
                _check_public(repo, update, lanes)
                public_after = pygit2.Oid(hex=update.new)
            elif update.ref.startswith(LANE_REF_PREFIX):
                if config is None:
                    config = _config_at(repo, public_after, public_ref)
                _check_lane(repo, update, config, lanes, public_before)
            else:
                raise Refused(
                    f"a refold store holds only {public_ref} and {LANE_REF_PREFIX}<lane>; "
                    "push other refs to another repository"
                )
        except Refused as exc:
            refusals.append(Refusal(ref=update.ref, reason=" ".join(exc.reason.split())))
    return refusals


def _short(oid: object) -> str:
    return str(oid)[:12]


def _commit(repo: pygit2.Repository, hex_id: str) -> pygit2.Commit:
    try:
        commit = repo[hex_id].peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise Refused(f"{hex_id[:12]} is not a commit") from None
    assert isinstance(commit, pygit2.Commit)
    return commit


def _blob(repo: pygit2.Repository, files: Mapping[str, pygit2.Oid], path: str) -> bytes | None:
    oid = files.get(path)
    if oid is None:
        return None
    obj = repo[oid]
    return obj.data if isinstance(obj, pygit2.Blob) else None


def _tree_files(
    repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = ""
) -> dict[str, pygit2.Oid]:
    out: dict[str, pygit2.Oid] = {}
    for entry in tree:
        path = prefix + str(entry.name)
        obj = repo[entry.id]
        if isinstance(obj, pygit2.Tree):
            out.update(_tree_files(repo, obj, path + "/"))
        else:
            out[path] = entry.id
    return out


# --- lanes ------------------------------------------------------------------------------


def _config_at(repo: pygit2.Repository, tip: pygit2.Oid | None, public_ref: str) -> StoreConfig:
    if tip is None:
        raise Refused(f"the store has no {public_ref} yet; create it first with refold init URL")
    commit = _commit(repo, str(tip))
    data = _blob(repo, _tree_files(repo, commit.tree), CONFIG_PATH)
    if data is None:
        raise Refused(f"{public_ref} has no {CONFIG_PATH}: this repository is not a refold store")
    try:
        return decode_config(data, location=f"{public_ref}:{CONFIG_PATH}")
    except RefoldError as exc:
        raise Refused(f"the store config does not decode: {exc}") from None


def _check_lane(
    repo: pygit2.Repository,
    update: RefUpdate,
    config: StoreConfig,
    lanes: Mapping[str, pygit2.Oid],
    public: pygit2.Oid | None,
) -> None:
    lane = update.ref[len(LANE_REF_PREFIX) :]
    try:
        check_lane(lane)
    except RefoldError as exc:
        raise Refused(f"not a lane: {exc.message}") from None
    if update.new == ZERO:
        raise Refused("lanes are never deleted: a lane holds submitted partials, folded or pending")
    new = _commit(repo, update.new).id
    old = None if update.old == ZERO else pygit2.Oid(hex=update.old)
    if old is not None:
        if new == old:
            return
        if not repo.descendant_of(new, old):
            raise Refused(
                f"not a fast-forward of {_short(old)}: lanes are append-only, and this push "
                "would rewrite or drop submitted partials (force-push refused)"
            )
    walker = repo.walk(new, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    if old is not None:
        walker.hide(old)
    added = list(walker)
    for commit in added:
        item = load_partial(repo, lane, commit)
        if item.error is not None or item.partial is None:
            raise Refused(f"commit {_short(commit.id)}: {item.error}")
        try:
            check_partial(item.partial, lane, config)
        except RefoldError as exc:
            raise Refused(
                f"partial {_short(commit.id)} is not valid on lane {lane}: {exc.kind}: {exc}"
            ) from None
        said = _LANE_RE.search(commit.message)
        if said is not None and said.group(1) != lane:
            raise Refused(
                f"commit {_short(commit.id)} says Refold-Lane: {said.group(1)} but is pushed "
                f"to lane {lane}"
            )
    # A commit that is already on another lane (or folded from one) must not join this one.
    own = repo.walk(new, pygit2.enums.SortMode.NONE)
    for hidden in [old, public, *(tip for name, tip in lanes.items() if name != lane)]:
        if hidden is not None and hidden in repo:
            own.hide(hidden)
    mine = {commit.id for commit in own}
    for commit in added:
        if commit.id not in mine:
            raise Refused(
                f"commit {_short(commit.id)} is already on another lane or in the public "
                "history; every lane commit belongs to exactly one lane"
            )


# --- the public ref -------------------------------------------------------------------


def _check_public(
    repo: pygit2.Repository, update: RefUpdate, lanes: Mapping[str, pygit2.Oid]
) -> None:
    if update.new == ZERO:
        raise Refused("the public ref is never deleted")
    commit = _commit(repo, update.new)
    if str(commit.id) == update.old:
        return
    chain = [commit]
    reached = False
    while commit.parents:
        commit = commit.parents[0]
        if str(commit.id) == update.old:
            reached = True
            break
        chain.append(commit)
    if update.old != ZERO and not reached:
        raise Refused(
            f"not a fast-forward: {_short(update.old)} is not on the first-parent history of "
            f"{_short(update.new)}; the public branch only moves forward, one fold at a time "
            "(force-push refused)"
        )
    chain.reverse()
    if update.old == ZERO:
        state = _check_root(repo, chain[0])
        chain = chain[1:]
    else:
        state = _read_state(repo, _commit(repo, update.old))
    for step in chain:
        state = _check_step(repo, step, state, lanes)


def _read_state(repo: pygit2.Repository, commit: pygit2.Commit) -> _State:
    where = f"the published commit {_short(commit.id)}"
    files = _tree_files(repo, commit.tree)
    raw = _blob(repo, files, CONFIG_PATH)
    if raw is None:
        raise Refused(f"{where} has no {CONFIG_PATH}: this repository is not a refold store")
    try:
        config = decode_config(raw)
        manifest_bytes = _blob(repo, files, config.manifest_path)
        if manifest_bytes is None:
            raise Refused(f"{where} has no {config.manifest_path}")
        manifest = decode_manifest(manifest_bytes, location=config.manifest_path)
        provenance = decode_provenance(_blob(repo, files, PROVENANCE_PATH) or b"{}")
    except RefoldError as exc:
        raise Refused(f"{where} cannot be read: {exc}") from None
    return _State(config=config, manifest=manifest, provenance=provenance, files=files)


def _check_root(repo: pygit2.Repository, commit: pygit2.Commit) -> _State:
    """The first public commit: what refold init writes for an empty or imported manifest."""
    what = f"first commit {_short(commit.id)}"
    files = _tree_files(repo, commit.tree)
    raw = _blob(repo, files, CONFIG_PATH)
    if raw is None:
        raise Refused(f"{what} has no {CONFIG_PATH}; create the store with refold init URL")
    try:
        config = decode_config(raw)
        data = _blob(repo, files, config.manifest_path)
        if data is None:
            raise Refused(f"{what} has no {config.manifest_path}")
        manifest = canonical_order(validate_import(data, config, location=config.manifest_path))
    except RefoldError as exc:
        raise Refused(f"{what}: {exc}") from None
    provenance = import_provenance(manifest)
    expected = {
        CONFIG_PATH: files[CONFIG_PATH],
        config.manifest_path: pygit2.hash(render_manifest(manifest, config)),
        PROVENANCE_PATH: pygit2.hash(encode_provenance(provenance)),
    }
    _compare(what, files, expected, config, "what refold init writes for it")
    return _State(config=config, manifest=manifest, provenance=provenance, files=expected)


def _check_step(
    repo: pygit2.Repository, commit: pygit2.Commit, state: _State, lanes: Mapping[str, pygit2.Oid]
) -> _State:
    if len(commit.parents) > 1 or commit.message.startswith("fold:"):
        return _check_fold(repo, commit, state, lanes)
    if commit.message.startswith("import:") and not state.manifest:
        return _check_import(repo, commit, state)
    return _check_config_change(repo, commit, state)


def _lane_of(
    repo: pygit2.Repository, parent: pygit2.Oid, lanes: Mapping[str, pygit2.Oid], said: list[str]
) -> str | None:
    """The lane whose ref contains ``parent``; the fold's own trailers say where to look first."""
    for lane in [*said, *sorted(lanes)]:
        tip = lanes.get(lane)
        if tip is not None and (tip == parent or repo.descendant_of(tip, parent)):
            return lane
    return None


def _check_fold(
    repo: pygit2.Repository, commit: pygit2.Commit, state: _State, lanes: Mapping[str, pygit2.Oid]
) -> _State:
    what = f"fold {_short(commit.id)}"
    files = _tree_files(repo, commit.tree)
    raw = _blob(repo, files, PROVENANCE_PATH)
    if raw is None:
        raise Refused(f"{what} has no {PROVENANCE_PATH}")
    try:
        recorded = decode_provenance(raw)
    except RefoldError as exc:
        raise Refused(f"{what}: {exc}") from None
    rejections = {
        key: rejection.reason
        for key, rejection in recorded.rejected.items()
        if key not in state.provenance.rejected
    }
    first = commit.parent_ids[0]
    claimed: dict[str, list[str]] = {}
    for lane, upto in _FOLDED_RE.findall(commit.message):
        claimed.setdefault(upto, []).append(lane)
    pending: dict[str, dict[str, Pending]] = {}
    for parent in commit.parent_ids[1:]:
        lane = _lane_of(repo, parent, lanes, claimed.get(str(parent), []))
        if lane is None:
            raise Refused(f"{what}: parent {_short(parent)} is on no lane")
        queue = pending.setdefault(lane, {})
        walker = repo.walk(
            parent, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE
        )
        walker.hide(first)
        for partial_commit in walker:
            key = str(partial_commit.id)
            if key not in queue:
                queue[key] = load_partial(repo, lane, partial_commit)
    result = fold(
        state.manifest,
        state.provenance,
        state.config,
        {lane: list(queue.values()) for lane, queue in pending.items()},
        rejections=rejections,
    )
    consumed = result.report.consumed
    expected_parents = [first] + [pygit2.Oid(hex=upto) for _, upto in sorted(consumed.items())]
    if list(commit.parent_ids) != expected_parents:
        folds = ", ".join(f"{lane} up to {upto[:12]}" for lane, upto in sorted(consumed.items()))
        raise Refused(
            f"{what}: its parents are not what folding them gives (that fold consumes "
            f"{folds or 'nothing'})"
        )
    expected = dict(state.files)
    expected[state.config.manifest_path] = pygit2.hash(
        render_manifest(result.manifest, state.config)
    )
    expected[PROVENANCE_PATH] = pygit2.hash(encode_provenance(result.provenance))
    _compare(what, files, expected, state.config, "folding its parents gives")
    return _State(
        config=state.config, manifest=result.manifest, provenance=result.provenance, files=expected
    )


def _check_import(repo: pygit2.Repository, commit: pygit2.Commit, state: _State) -> _State:
    """A manifest adopted as the base of a store that publishes nothing yet (refold import)."""
    what = f"import {_short(commit.id)}"
    files = _tree_files(repo, commit.tree)
    data = _blob(repo, files, state.config.manifest_path)
    if data is None:
        raise Refused(f"{what} has no {state.config.manifest_path}")
    try:
        manifest = canonical_order(
            validate_import(data, state.config, location=state.config.manifest_path)
        )
    except RefoldError as exc:
        raise Refused(f"{what}: {exc}") from None
    provenance = msgspec.structs.replace(
        import_provenance(manifest), rejected=state.provenance.rejected
    )
    expected = dict(state.files)
    expected[state.config.manifest_path] = pygit2.hash(render_manifest(manifest, state.config))
    expected[PROVENANCE_PATH] = pygit2.hash(encode_provenance(provenance))
    _compare(what, files, expected, state.config, "importing it gives")
    return _State(config=state.config, manifest=manifest, provenance=provenance, files=expected)


def _check_config_change(repo: pygit2.Repository, commit: pygit2.Commit, state: _State) -> _State:
    what = f"commit {_short(commit.id)}"
    files = _tree_files(repo, commit.tree)
    raw = _blob(repo, files, CONFIG_PATH)
    if raw is None:
        raise Refused(f"{what} deletes {CONFIG_PATH}")
    try:
        config = decode_config(raw)
    except RefoldError as exc:
        raise Refused(f"{what}: the new config does not decode: {exc}") from None
    expected = dict(state.files)
    expected.pop(state.config.manifest_path, None)
    expected[CONFIG_PATH] = files[CONFIG_PATH]
    expected[config.manifest_path] = pygit2.hash(render_manifest(state.manifest, config))
    _compare(
        what, files, expected, config, "the published manifest re-rendered under its config gives"
    )
    return _State(
        config=config, manifest=state.manifest, provenance=state.provenance, files=expected
    )


def _compare(
    what: str,
    files: Mapping[str, pygit2.Oid],
    expected: Mapping[str, pygit2.Oid],
    config: StoreConfig,
    source: str,
) -> None:
    differ = sorted(p for p in files.keys() | expected.keys() if files.get(p) != expected.get(p))
    if not differ:
        return
    reasons = []
    if config.manifest_path in differ:
        reasons.append(
            f"{config.manifest_path} is not what {source} (a hand-edited manifest is refused)"
        )
    if PROVENANCE_PATH in differ:
        reasons.append(f"{PROVENANCE_PATH} is not what {source}")
    if CONFIG_PATH in differ:
        reasons.append(f"{CONFIG_PATH} changed where only the manifest may")
    others = [p for p in differ if p not in (config.manifest_path, PROVENANCE_PATH, CONFIG_PATH)]
    if others:
        reasons.append(f"changes files refold does not write: {', '.join(others)}")
    raise Refused(f"{what}: " + "; ".join(reasons))


# --- installing and running -------------------------------------------------------------


def hook_script(python: str) -> str:
    """The hook: the interpreter refold runs in, by absolute path, since a server starts
    hooks with a minimal environment (git daemon, sshd) where no venv is on PATH."""
    return (
        "#!/bin/sh\n"
        f"# {HOOK_MARKER}: refuses pushes that break refold's rules.\n"
        f"exec {shlex.quote(python)} -m refold hook run\n"
    )


def install_hook(
    path: str | os.PathLike[str],
    *,
    branch: str | None = None,
    force: bool = False,
    python: str | None = None,
) -> Path:
    """Write the pre-receive hook into the bare repository at ``path``; return its path."""
    location = os.fspath(path)
    try:
        repo = open_repository(location)
    except (pygit2.GitError, KeyError):
        raise UsageError(
            f"{location!r} is not a git repository",
            location="REPO",
            hint="give the bare repository the server serves",
        ) from None
    if not repo.is_bare:
        raise UsageError(
            f"{location!r} is not a bare repository",
            location="REPO",
            hint="a pre-receive hook guards the repository a server serves, which is bare",
        )
    if branch is not None and not pygit2.reference_is_valid_name(f"refs/heads/{branch}"):
        raise UsageError(
            f"branch name {branch!r} is not a valid git branch name", location="--branch"
        )
    hooks = Path(repo.path) / "hooks"
    hooks.mkdir(exist_ok=True)
    target = hooks / "pre-receive"
    if target.exists() and not force:
        existing = target.read_text(errors="replace")
        if HOOK_MARKER not in existing:
            raise UsageError(
                f"{target} exists and was not written by refold",
                location="REPO",
                hint="pass --force to replace it (or call refold hook run from it yourself)",
            )
    staged = hooks / f".pre-receive.refold-{os.getpid()}"
    staged.write_text(hook_script(python or sys.executable))
    staged.chmod(0o755)
    os.replace(staged, target)
    if branch is not None:
        repo.config["refold.branch"] = branch
    elif "refold.branch" not in repo.config:
        repo.config["refold.branch"] = DEFAULT_BRANCH
    return target


def run_hook(text: str, *, git_dir: str, env: Mapping[str, str]) -> list[Refusal]:
    """What the installed hook does with git's input: the refusals (empty: accept)."""
    updates = parse_updates(text)
    repo = open_pushed_repository(git_dir, env)
    return check_push(repo, updates, public_ref_of(repo))


__all__ = [
    "HOOK_MARKER",
    "RefUpdate",
    "Refusal",
    "check_push",
    "hook_script",
    "install_hook",
    "open_pushed_repository",
    "parse_updates",
    "public_ref_of",
    "run_hook",
]
