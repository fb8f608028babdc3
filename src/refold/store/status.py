"""What is waiting: pending partials per lane, which are held back and why, the last fold.

Status is a dry run of the fold plus a little git metadata; it never writes.
"""

from __future__ import annotations

import msgspec
import pygit2

from refold.manifests.fold import HeldBack, fold
from refold.store.pending import pending_partials
from refold.store.repo import Store, lane_refs, public_tip, read_published


class LaneStatus(msgspec.Struct):
    lane: str
    tip: str
    pending: int
    foldable: int
    held_back: HeldBack | None = None
    last_submit: int = 0
    """Commit time (Unix seconds) of the lane's tip."""
    rejected: dict[str, str] = {}
    """Partials of this lane an operator rejected (commit -> reason), as published."""


class StatusReport(msgspec.Struct):
    public_ref: str
    public_commit: str
    last_fold_time: int
    last_fold_summary: str
    releases: int
    files: int
    lanes: list[LaneStatus]
    warnings: list[str]


def status(store: Store) -> StatusReport:
    repo = store.repo
    tip = public_tip(store)
    published = read_published(store, str(tip))
    pending = pending_partials(repo, tip)
    result = fold(published.manifest, published.provenance, published.config, pending)
    lanes = []
    rejected: dict[str, dict[str, str]] = {}
    for commit_id, rejection in published.provenance.rejected.items():
        rejected.setdefault(rejection.lane, {})[commit_id] = rejection.reason
    for lane, lane_tip in lane_refs(repo).items():
        outcome = result.report.lanes.get(lane)
        commit = repo[lane_tip].peel(pygit2.Commit)
        lanes.append(
            LaneStatus(
                lane=lane,
                tip=str(lane_tip),
                pending=len(pending.get(lane, [])),
                foldable=(outcome.folded + len(outcome.rejected)) if outcome else 0,
                held_back=outcome.held_back if outcome else None,
                last_submit=commit.commit_time,
                rejected=rejected.get(lane, {}),
            )
        )
    head = repo[tip].peel(pygit2.Commit)
    return StatusReport(
        public_ref=store.public_ref,
        public_commit=str(tip),
        last_fold_time=head.commit_time,
        last_fold_summary=head.message.splitlines()[0] if head.message else "",
        releases=len(published.manifest),
        files=sum(len(r.files) for r in published.manifest),
        lanes=lanes,
        warnings=result.report.warnings,
    )
