"""Backfilling a store from what a pipeline already has, in one transaction.

Three sources, each checked completely before anything is written:

- a versions-manifest, adopted as the base of an empty store: one publication whose
  entries are recorded as imported (owned by whichever lane is bound to their arch);
- the same file ``as_lanes``: split by arch into one partial per lane (lane = arch),
  appended to those lanes and folded, so every entry has a lane owner from the start;
- a directory of per-version-per-arch partial files (python-versions-pz keeps
  ``versions-manifests/3.13.1-ppc64le.json``): each file is one partial on the lane of
  its arch, appended in version order and folded.

"One transaction" means: every file is decoded and checked, and the fold that would
follow is computed in memory, before the first ref moves; one invalid file (each is
reported, not just the first) means nothing is written. Lane refs then move one by one
(git has no multi-ref compare-and-swap); a crash between them leaves valid partials
pending, which the next fold publishes, so no state in between is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec
import pygit2
from msgspec import UNSET

from refold.manifests.errors import ContentionError, PolicyError, RefoldError, UsageError
from refold.manifests.fold import HOLDING_KINDS, FoldReport, Pending, fold, import_provenance
from refold.manifests.imports import validate_import
from refold.manifests.lanes import check_lane, clashing_lane, lane_ref
from refold.manifests.model import Manifest, Release
from refold.manifests.ordering import is_valid_version, version_key
from refold.manifests.partial import (
    Partial,
    Provenance,
    decode_partial,
    decode_stored_partial,
    encode_partial,
)
from refold.manifests.provenance import encode_provenance
from refold.manifests.render import canonical_order, render_manifest
from refold.manifests.validate import check_decoded, check_partial
from refold.store.compact import fold_store
from refold.store.pending import pending_partials
from refold.store.refs import LostRace, backoff
from refold.store.repo import (
    PARTIAL_FILE,
    PROVENANCE_PATH,
    Store,
    lane_refs,
    public_tip,
    read_published,
    ref_target,
    signature,
    write_tree,
)
from refold.store.submit import commit_message, provenance_from_env
from refold.store.transport import refresh, update_ref

MAX_IMPORT_RETRIES = 30
MAX_SHOWN_PROBLEMS = 50


class InvalidImport(PolicyError):
    """Some of the input is invalid; ``problems`` holds one error per invalid file or lane."""

    def __init__(
        self,
        message: str,
        *,
        location: str = "",
        hint: str = "",
        problems: Sequence[RefoldError] = (),
    ) -> None:
        super().__init__(message, location=location, hint=hint)
        self.problems = list(problems)


class ImportOutcome(msgspec.Struct):
    mode: str
    """``base``, ``lanes`` or ``directory``."""
    source: str
    releases: int
    files: int
    lanes: dict[str, int]
    """Partials appended per lane (empty for a base import)."""
    commit: str | None
    """The public commit that published the import."""
    previous: str
    report: FoldReport | None = None
    """The fold that published lane imports."""


class _Item(msgspec.Struct, frozen=True):
    lane: str
    partial: Partial
    source: str


def _invalid(problems: Sequence[RefoldError], total: int, what: str) -> InvalidImport:
    lines = [f"  {p}" for p in problems[:MAX_SHOWN_PROBLEMS]]
    if len(problems) > MAX_SHOWN_PROBLEMS:
        lines.append(f"  ... and {len(problems) - MAX_SHOWN_PROBLEMS} more")
    return InvalidImport(
        f"{len(problems)} of {total} {what} invalid; nothing was imported:\n" + "\n".join(lines),
        hint="fix or remove the invalid input and import again",
        problems=problems,
    )


# --- a manifest as the base --------------------------------------------------------------


def import_manifest(store: Store, data: bytes, *, location: str = "") -> ImportOutcome:
    """Adopt ``data`` as the published manifest of a store whose manifest is empty."""
    repo = store.repo
    for attempt in range(MAX_IMPORT_RETRIES + 1):
        refresh(store, [store.public_ref])
        tip = public_tip(store)
        published = read_published(store, str(tip))
        if published.manifest:
            raise UsageError(
                f"the store already publishes {len(published.manifest)} releases; importing "
                f"{location or 'the manifest'} as the base would replace them",
                location=location,
                hint="use --as-lanes to submit it as partials per arch lane and fold, "
                "or import into a new store",
            )
        manifest = canonical_order(validate_import(data, published.config, location=location))
        if not manifest:
            raise UsageError(f"{location or 'the manifest'} has no releases", location=location)
        provenance = msgspec.structs.replace(
            import_provenance(manifest), rejected=published.provenance.rejected
        )
        base = repo[tip].peel(pygit2.Commit)
        tree = write_tree(
            repo,
            base.tree,
            {
                published.config.manifest_path: render_manifest(manifest, published.config),
                PROVENANCE_PATH: encode_provenance(provenance),
            },
        )
        files = sum(len(r.files) for r in manifest)
        name = os.path.basename(location) if location else "<stdin>"
        message = (
            f"import: {len(manifest)} releases, {files} files from {name}\n\n"
            f"Refold-Import: {name}\nRefold-Import-Releases: {len(manifest)}\n"
        )
        sig = signature()
        commit = repo.create_commit(None, sig, sig, message, tree, [tip])
        try:
            update_ref(store, store.public_ref, tip, commit, "refold import")
        except LostRace:
            backoff(attempt)
            continue
        return ImportOutcome(
            mode="base",
            source=location,
            releases=len(manifest),
            files=files,
            lanes={},
            commit=str(commit),
            previous=str(tip),
        )
    raise ContentionError(
        f"{store.public_ref} kept moving: gave up after {MAX_IMPORT_RETRIES} retries",
        location=store.public_ref,
        hint="folds are publishing continuously; retry when they pause",
    )


# --- partials on lanes, then one fold ------------------------------------------------------


def split_by_arch(manifest: Manifest) -> dict[str, tuple[Release, ...]]:
    """Each arch's share of the manifest: its files, under their releases, in file order."""
    out: dict[str, list[Release]] = {}
    for release in manifest:
        arches: dict[str, list[int]] = {}
        for index, file in enumerate(release.files):
            arches.setdefault(file.arch, []).append(index)
        for arch, indexes in arches.items():
            files = tuple(release.files[i] for i in indexes)
            out.setdefault(arch, []).append(msgspec.structs.replace(release, files=files))
    return {arch: tuple(releases) for arch, releases in sorted(out.items())}


def import_as_lanes(
    store: Store, data: bytes, *, location: str = "", env: Mapping[str, str] | None = None
) -> ImportOutcome:
    """Split a manifest into one partial per arch lane, append them and fold."""
    config = read_published(store).config
    manifest = validate_import(data, config, location=location)
    if not manifest:
        raise UsageError(f"{location or 'the manifest'} has no releases", location=location)
    items = []
    problems: list[RefoldError] = []
    for arch, releases in split_by_arch(manifest).items():
        partial = Partial(releases=releases)
        try:
            check_lane(arch, location=f"arch {arch!r} as a lane")
            check_partial(partial, arch, config)
        except RefoldError as exc:
            problems.append(exc.at(f"{location}: lane {arch}" if location else f"lane {arch}"))
            continue
        items.append(_Item(lane=arch, partial=partial, source=location or "<stdin>"))
    if problems:
        raise _invalid(problems, len(problems) + len(items), "lanes are")
    return _append_and_fold(store, items, "lanes", location, env)


def _arch_of(partial: Partial, where: str) -> str:
    arches = sorted({f.arch for r in partial.releases for f in r.files})
    if len(arches) != 1:
        raise PolicyError(
            f"a per-arch partial file must hold files of one arch, this holds {', '.join(arches) or 'none'}",
            location=where,
            hint="split it into one file per arch: the arch names the lane",
        )
    return check_lane(arches[0], location=f"{where}: arch {arches[0]!r} as a lane")


def _version_order(item: _Item) -> tuple[object, ...]:
    versions = [r.version for r in item.partial.releases if is_valid_version(r.version)]
    return (min((version_key(v) for v in versions), default=()), item.source)


def import_directory(
    store: Store, directory: str | os.PathLike[str], *, env: Mapping[str, str] | None = None
) -> ImportOutcome:
    """Append every ``*.json`` partial file of ``directory`` to the lane of its arch, and fold."""
    folder = Path(directory)
    paths = sorted(p for p in folder.iterdir() if p.suffix == ".json" and p.is_file())
    if not paths:
        raise UsageError(f"{os.fspath(folder)!r} holds no .json files", location=os.fspath(folder))
    config = read_published(store).config
    items: list[_Item] = []
    problems: list[RefoldError] = []
    seen: dict[tuple[str, str], str] = {}
    for path in paths:
        where = os.fspath(path)
        try:
            decoded = decode_partial(path.read_bytes(), location=where)
            lane = _arch_of(decoded.partial, where)
            try:
                check_decoded(decoded, lane, config)
            except RefoldError as exc:
                raise exc.at(where) from None
            for release in decoded.partial.releases:
                for file in release.files:
                    other = seen.setdefault((release.version, file.filename), where)
                    if other != where:
                        raise PolicyError(
                            f"{file.filename!r} in release {release.version} is also in {other}",
                            location=where,
                            hint="keep one file per version and arch",
                        )
        except RefoldError as exc:
            problems.append(exc)
            continue
        items.append(_Item(lane=lane, partial=decoded.partial, source=where))
    if problems:
        raise _invalid(problems, len(paths), "files are")
    items.sort(key=_version_order)
    return _append_and_fold(store, items, "directory", os.fspath(folder), env)


def _with_provenance(partial: Partial, env: Mapping[str, str]) -> Partial:
    """The file's own provenance fields, completed from the CI environment of the import."""
    given = msgspec.structs.asdict(partial.provenance)
    from_env = msgspec.structs.asdict(provenance_from_env(env))
    merged = {k: (given[k] if given[k] is not UNSET else from_env[k]) for k in given}
    return msgspec.structs.replace(partial, lane=UNSET, provenance=Provenance(**merged))


def _precheck(store: Store, items: Sequence[_Item]) -> list[RefoldError]:
    """Run the fold that will follow, in memory, and name the inputs it would hold back."""
    tip = public_tip(store)
    published = read_published(store, str(tip))
    pending = pending_partials(store.repo, tip)
    placeholders: dict[str, _Item] = {}
    queued: dict[str, list[Pending]] = {lane: list(p) for lane, p in pending.items()}
    for number, item in enumerate(items):
        marker = f"import:{number}"
        placeholders[marker] = item
        queued.setdefault(item.lane, []).append(
            Pending(lane=item.lane, commit=marker, partial=item.partial)
        )
    result = fold(published.manifest, published.provenance, published.config, queued)
    problems: list[RefoldError] = []
    new_lanes = {item.lane for item in items}
    for lane, held in sorted(result.report.held_back.items()):
        if held.kind not in HOLDING_KINDS or lane not in new_lanes:
            continue
        culprit = placeholders.get(held.commit)
        if culprit is None:
            problems.append(
                PolicyError(
                    f"lane {lane} is held back at {held.commit[:12]} ({held.kind}: {held.reason}), "
                    "so the imported partials would wait behind it",
                    location=f"refs/partials/{lane}",
                    hint=f"reject it first: refold reject {lane} {held.commit[:12]} --reason ...",
                )
            )
            continue
        # The fold names the lane commit; this one does not exist yet, so name the file.
        path = held.location[held.location.find("$") :] if "$" in held.location else ""
        where = f"{culprit.source}: {path}" if path else culprit.source
        problems.append(PolicyError(f"{held.kind}: {held.reason}", location=where, hint=held.hint))
    existing = set(lane_refs(store.repo))
    for lane in sorted(new_lanes):
        clash = clashing_lane(lane, existing | (new_lanes - {lane}))
        if clash is not None:
            problems.append(
                PolicyError(
                    f"lane {lane!r} clashes with lane {clash!r}: git cannot hold both refs",
                    location=f"lane {lane}",
                    hint="map one of the arches to the other's lane in config lane_arches",
                )
            )
    return problems


def _chain(
    repo: pygit2.Repository,
    lane: str,
    tip: pygit2.Oid | None,
    blobs: Sequence[tuple[pygit2.Oid, str]],
) -> pygit2.Oid:
    """Commits for the lane's new partials, oldest first, on top of ``tip``; the last one."""
    parent = tip
    for blob, message in blobs:
        builder = repo.TreeBuilder()
        builder.insert(PARTIAL_FILE, blob, pygit2.enums.FileMode.BLOB)
        sig = signature()
        parent = repo.create_commit(
            None, sig, sig, message, builder.write(), [parent] if parent else []
        )
    assert parent is not None
    return parent


def _append_and_fold(
    store: Store, items: Sequence[_Item], mode: str, source: str, env: Mapping[str, str] | None
) -> ImportOutcome:
    problems = _precheck(store, items)
    if problems:
        raise _invalid(problems, len(items), "inputs are")
    env = os.environ if env is None else env
    repo = store.repo
    by_lane: dict[str, list[tuple[pygit2.Oid, str]]] = {}
    for item in items:
        encoded = encode_partial(_with_provenance(item.partial, env))
        message = commit_message(item.lane, decode_stored_partial(encoded))
        message += f"Refold-Import-File: {os.path.basename(item.source)}\n"
        by_lane.setdefault(item.lane, []).append((repo.create_blob(encoded), message))
    for lane, blobs in sorted(by_lane.items()):
        name = lane_ref(lane)
        for attempt in range(MAX_IMPORT_RETRIES + 1):
            refresh(store, [name])
            tip = ref_target(repo, name)
            head = _chain(repo, lane, tip, blobs)
            try:
                update_ref(store, name, tip, head, f"refold import {lane}")
            except LostRace:
                backoff(attempt)
                continue
            break
        else:
            raise ContentionError(
                f"lane {lane!r} kept moving: gave up after {MAX_IMPORT_RETRIES} retries",
                location=name,
                hint="the lanes written so far hold valid partials; run refold fold, then import the rest",
            )
    outcome = fold_store(store)
    releases = {r.version for item in items for r in item.partial.releases}
    files = sum(len(r.files) for item in items for r in item.partial.releases)
    return ImportOutcome(
        mode=mode,
        source=source,
        releases=len(releases),
        files=files,
        lanes={lane: len(blobs) for lane, blobs in sorted(by_lane.items())},
        commit=outcome.commit,
        previous=outcome.previous,
        report=outcome.report,
    )
