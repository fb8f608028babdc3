"""The compactor: fold every pending partial into one new public commit, by compare-and-swap.

Inputs are immutable (the public tip and lane commits), so a lost race is handled by
reading the new tip and computing again from scratch, never by rebasing anything.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
import pygit2

from refold.manifests.errors import ContentionError
from refold.manifests.fold import FoldReport, FoldResult, fold
from refold.manifests.provenance import encode_provenance
from refold.manifests.render import render_manifest
from refold.store.faults import fault_point
from refold.store.pending import pending_partials
from refold.store.refs import LostRace, backoff
from refold.store.repo import (
    PROVENANCE_PATH,
    Store,
    public_tip,
    read_published,
    signature,
    write_tree,
)
from refold.store.transport import refresh, update_ref

MAX_FOLD_RETRIES = 30


class FoldOutcome(msgspec.Struct):
    commit: str | None
    """The new public commit, or None when nothing was published."""
    previous: str
    report: FoldReport
    retries: int = 0
    dry_run: bool = False


def fold_message(report: FoldReport) -> str:
    folded = {lane: o for lane, o in report.lanes.items() if o.folded or o.rejected}
    count = sum(o.folded for o in folded.values())
    rejected = sum(len(o.rejected) for o in folded.values())
    summary = f"fold: {count} partial(s) from {len(folded)} lane(s)"
    if rejected:
        summary += f", {rejected} rejected"
    if report.held_back:
        summary += f", {len(report.held_back)} lane(s) held back"
    lines = []
    for lane, o in sorted(folded.items()):
        lines.append(f"Refold-Folded: {lane} {o.folded} {o.upto}")
        lines += [f"Refold-Rejected: {lane} {c}" for c in o.rejected]
    for lane, held in sorted(report.held_back.items()):
        lines.append(f"Refold-Held-Back: {lane} {held.commit} {held.kind}: {held.reason}")
    changed = ", ".join(report.changed[:20]) + (" ..." if len(report.changed) > 20 else "")
    body = f"Changed releases: {changed or 'none'}"
    return f"{summary}\n\n{body}\n\n" + "\n".join(lines) + "\n"


def _write_fold(
    store: Store, tip: pygit2.Oid, manifest_path: str, manifest: bytes, result: FoldResult
) -> pygit2.Oid:
    repo = store.repo
    base = repo[tip].peel(pygit2.Commit)
    tree = write_tree(
        repo,
        base.tree,
        {manifest_path: manifest, PROVENANCE_PATH: encode_provenance(result.provenance)},
    )
    parents = [tip] + [pygit2.Oid(hex=upto) for _, upto in sorted(result.report.consumed.items())]
    sig = signature()
    return repo.create_commit(None, sig, sig, fold_message(result.report), tree, parents)


def fold_store(
    store: Store,
    *,
    strict: bool = False,
    dry_run: bool = False,
    rejections: Mapping[str, str] | None = None,
    max_retries: int = MAX_FOLD_RETRIES,
) -> FoldOutcome:
    """Publish everything pending that may be published; see refold.manifests.fold for rules.

    Each attempt reads the public ref and every lane afresh (from the server, for a
    remote store), so a lost race recomputes from what the winner published.
    """
    repo = store.repo
    for attempt in range(max_retries + 1):
        refresh(store)
        tip = public_tip(store)
        published = read_published(store, str(tip))
        pending = pending_partials(repo, tip)
        result = fold(
            published.manifest,
            published.provenance,
            published.config,
            pending,
            rejections=rejections,
            strict=strict,
        )
        outcome = FoldOutcome(
            commit=None, previous=str(tip), report=result.report, retries=attempt, dry_run=dry_run
        )
        if dry_run or not result.report.consumed:
            return outcome
        manifest = render_manifest(result.manifest, published.config)
        commit = _write_fold(store, tip, published.config.manifest_path, manifest, result)
        fault_point("fold.objects-written")
        try:
            update_ref(store, store.public_ref, tip, commit, "refold fold")
        except LostRace:
            backoff(attempt)
            continue
        outcome.commit = str(commit)
        return outcome
    raise ContentionError(
        f"{store.public_ref} kept moving: gave up after {max_retries} retries",
        location=store.public_ref,
        hint="other compactors are folding; run one compactor at a time (e.g. a concurrency group)",
    )
