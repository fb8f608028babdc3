"""Rebuild: publish what the history says should be published, after a bad manual commit.

The replay of ``refold.store.verify`` already knows what every publication should hold
(folds and config changes applied, hand edits skipped). Rebuild writes that state as one
new commit on top of the current tip, so the public branch still only fast-forwards and
the bad commit stays in history for the auditor, marked repaired by ``refold verify``.
The commit names where its replay started (``Refold-Rebuild-From``) so verify can
check it in turn. It folds nothing new: pending partials wait for the next fold.
"""

from __future__ import annotations

import msgspec
import pygit2

from refold.manifests.diff import Change, ManifestDiff, diff_manifests, diff_provenance
from refold.manifests.errors import ContentionError, SchemaError, UsageError
from refold.manifests.model import Manifest
from refold.manifests.provenance import ProvenanceIndex
from refold.store.history import REBUILD_TRAILER, first_parent_chain
from refold.store.refs import LostRace, backoff
from refold.store.repo import (
    CONFIG_PATH,
    PROVENANCE_PATH,
    Store,
    public_tip,
    resolve_commit,
    signature,
    write_tree,
)
from refold.store.transport import refresh, update_ref
from refold.store.verify import (
    State,
    extra_files,
    last_good,
    read_state,
    replay_history,
    replay_segment,
    tree_files,
)

MAX_REBUILD_RETRIES = 30


class RebuildOutcome(msgspec.Struct, kw_only=True):
    commit: str | None
    """The new public commit; None when nothing needed rebuilding, or on a dry run."""
    previous: str
    """The public tip the rebuild was computed against."""
    base: str
    """The publication the replay started from: the last good one, or ``--from``."""
    diff: ManifestDiff
    """From what the tip holds to what the rebuild publishes."""
    provenance: list[Change] = []
    config_changed: bool = False
    removed_files: list[str] = []
    """Files in the public tree refold does not write (added by hand), left out."""
    notes: list[str] = []
    dry_run: bool = False
    retries: int = 0


def _replayed(store: Store, tip: pygit2.Oid, from_rev: str | None) -> tuple[str, State, list[str]]:
    repo = store.repo
    if from_rev is None:
        replay = replay_history(store, tip=tip)
        if replay.expected is None:
            raise SchemaError(
                "the first public commit cannot be read, so there is nothing to replay from",
                location=replay.chain[0][:12],
                hint="run refold verify to see why",
            )
        notes = [
            f"{d.commit[:12]}: {d.field}: {d.message}"
            for d in replay.discrepancies
            if d.field in ("parents", "message")
        ]
        return last_good(replay), replay.expected, notes
    base = resolve_commit(store, from_rev)
    after: list[pygit2.Commit] = []
    for commit in first_parent_chain(repo, tip):
        if commit.id == base.id:
            break
        after.append(commit)
    else:
        raise UsageError(
            f"{from_rev} is not on the first-parent history of {store.public_ref}",
            location="--from",
            hint="give a publication: see refold log",
        )
    state, problems = read_state(repo, base)
    if state is None:
        raise UsageError(
            f"cannot rebuild from {from_rev}: {problems[0].message}",
            location="--from",
            hint="pick an earlier publication, or leave --from out to use the last good one",
        )
    return str(base.id), replay_segment(repo, state, reversed(after), {}), []


def _manifest_of(recorded: State | None) -> Manifest:
    return recorded.manifest if recorded is not None else ()


def _message(base: str, outcome: RebuildOutcome) -> str:
    diff = outcome.diff
    parts = [
        f"{len(diff.versions(kind))} release(s) {kind}"
        for kind in ("added", "removed", "changed")
        if diff.versions(kind)
    ]
    if outcome.provenance:
        parts.append(f"{len(outcome.provenance)} provenance entries corrected")
    if outcome.config_changed:
        parts.append("config restored")
    if outcome.removed_files:
        parts.append(f"removed {', '.join(outcome.removed_files)}")
    body = "; ".join(parts) or "tree restored"
    return (
        f"rebuild: restore the publication replayed from {base[:12]}\n\n{body}.\n\n"
        f"{REBUILD_TRAILER}: {base}\n"
    )


def rebuild_store(
    store: Store,
    *,
    from_rev: str | None = None,
    dry_run: bool = False,
    max_retries: int = MAX_REBUILD_RETRIES,
) -> RebuildOutcome:
    """Publish the replayed state on top of the tip by compare-and-swap; see module doc."""
    repo = store.repo
    for attempt in range(max_retries + 1):
        refresh(store, [store.public_ref])
        tip = public_tip(store)
        tip_commit = repo[tip].peel(pygit2.Commit)
        base, expected, notes = _replayed(store, tip, from_rev)
        recorded, _ = read_state(repo, tip_commit)
        files = tree_files(repo, tip_commit.tree)
        outcome = RebuildOutcome(
            commit=None,
            previous=str(tip),
            base=base,
            diff=diff_manifests(_manifest_of(recorded), expected.manifest),
            provenance=diff_provenance(
                recorded.provenance if recorded else ProvenanceIndex(), expected.provenance
            ),
            config_changed=recorded is None or recorded.config_bytes != expected.config_bytes,
            removed_files=sorted(extra_files(files, expected.config)),
            notes=notes,
            dry_run=dry_run,
            retries=attempt,
        )
        if expected.same(recorded) and not outcome.removed_files:
            return outcome
        if dry_run:
            return outcome
        tree = write_tree(
            repo,
            None,
            {
                expected.config.manifest_path: expected.manifest_bytes,
                CONFIG_PATH: expected.config_bytes,
                PROVENANCE_PATH: expected.provenance_bytes,
            },
        )
        sig = signature()
        commit = repo.create_commit(None, sig, sig, _message(base, outcome), tree, [tip])
        try:
            update_ref(store, store.public_ref, tip, commit, "refold rebuild")
        except LostRace:
            backoff(attempt)
            continue
        outcome.commit = str(commit)
        return outcome
    raise ContentionError(
        f"{store.public_ref} kept moving: gave up after {max_retries} retries",
        location=store.public_ref,
        hint="folds are publishing continuously; retry when they pause",
    )


__all__ = ["RebuildOutcome", "rebuild_store"]
