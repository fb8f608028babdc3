"""An operator's rejection of a pending partial, so its lane can move on.

A held-back partial blocks its lane (and everything the lane submits after it) until it
is folded or rejected. Lane refs are append-only, so a bad partial cannot be deleted;
instead a fold consumes it without applying it, and the rejection becomes part of the
public history in two places an auditor reads: the fold commit's ``Refold-Rejected:``
trailer and ``rejected`` in the provenance index (commit -> lane and reason).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from refold.manifests.errors import UsageError
from refold.manifests.fold import Pending
from refold.manifests.lanes import check_lane
from refold.store.compact import FoldOutcome, fold_store
from refold.store.pending import pending_partials
from refold.store.repo import Store, lane_refs, public_tip

MIN_PREFIX = 4
MAX_REASON = 500


class Rejected(msgspec.Struct):
    lane: str
    commits: list[str]
    reason: str
    fold: FoldOutcome
    """The fold that recorded the rejection (it also folds whatever else was ready)."""


def _describe(item: Pending, held: str | None) -> str:
    state = f"held back: {held}" if held else "foldable"
    return f"{item.commit[:12]} ({state})"


def _check_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise UsageError(
            "a rejection needs a reason",
            location="--reason",
            hint="say why, e.g. --reason 'SBOM on the x64 lane'",
        )
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise UsageError(
            "the reason must be one line without control characters", location="--reason"
        )
    if len(text) > MAX_REASON:
        raise UsageError(f"the reason is longer than {MAX_REASON} characters", location="--reason")
    return text


def _pick(lane: str, wanted: str, items: Sequence[Pending], listing: str) -> str:
    text = wanted.strip().lower()
    if len(text) < MIN_PREFIX or any(ch not in "0123456789abcdef" for ch in text):
        raise UsageError(
            f"{wanted!r} is not a commit id (at least {MIN_PREFIX} hex digits)",
            location="COMMIT",
            hint=f"pending on lane {lane}: {listing}",
        )
    found = [item.commit for item in items if item.commit.startswith(text)]
    if not found:
        raise UsageError(
            f"{wanted} is not pending on lane {lane}",
            location="COMMIT",
            hint=f"pending on lane {lane}: {listing}",
        )
    if len(found) > 1:
        raise UsageError(
            f"{wanted} names {len(found)} pending commits of lane {lane}",
            location="COMMIT",
            hint="give more digits",
        )
    return found[0]


def reject(store: Store, lane: str, commits: Sequence[str], reason: str) -> Rejected:
    """Reject pending partials of ``lane`` and fold at once, so the rejection is published.

    Every named commit must be pending on the lane, and nothing the rejection does not
    cover may hold the lane back before it (otherwise the fold could not consume it);
    both are usage errors that name what is pending, and nothing is written.
    """
    check_lane(lane, location="LANE")
    text = _check_reason(reason)
    lanes = lane_refs(store.repo)
    if lane not in lanes:
        known = ", ".join(lanes) or "none yet"
        raise UsageError(f"there is no lane {lane!r}", location="LANE", hint=f"lanes: {known}")
    if not commits:
        raise UsageError("name at least one pending commit to reject", location="COMMIT")
    items = pending_partials(store.repo, public_tip(store)).get(lane, [])
    if not items:
        raise UsageError(
            f"lane {lane} has nothing pending: everything it submitted is published",
            location="LANE",
            hint="only a pending partial can be rejected; to withdraw a published entry, submit a retraction",
        )
    preview = fold_store(store, dry_run=True)
    held = preview.report.lanes[lane].held_back if lane in preview.report.lanes else None
    listing = ", ".join(
        _describe(
            item, f"{held.kind}: {held.reason}" if held and held.commit == item.commit else None
        )
        for item in items[:10]
    ) + (f" ... ({len(items)} in all)" if len(items) > 10 else "")
    chosen = list(dict.fromkeys(_pick(lane, c, items, listing) for c in commits))
    rejections = dict.fromkeys(chosen, text)
    check = fold_store(store, dry_run=True, rejections=rejections)
    consumed = check.report.lanes[lane].rejected if lane in check.report.lanes else []
    blocked = [c for c in chosen if c not in consumed]
    if blocked:
        stop = check.report.lanes[lane].held_back
        before = f" at {stop.commit[:12]} ({stop.kind}: {stop.reason})" if stop else ""
        raise UsageError(
            f"lane {lane} is held back{before}, before {blocked[0][:12]}: the rejection could not be folded",
            location="COMMIT",
            hint=f"reject the earlier partial too: refold reject {lane} {stop.commit[:12] if stop else ''} "
            f"{blocked[0][:12]} --reason ...",
        )
    outcome = fold_store(store, rejections=rejections)
    recorded = outcome.report.lanes[lane].rejected if lane in outcome.report.lanes else []
    missing = [c for c in chosen if c not in recorded]
    if missing:
        raise UsageError(
            f"{missing[0][:12]} was folded by another fold before the rejection was recorded",
            location=store.public_ref,
            hint="it is published now; to withdraw its entries, submit a retraction on the lane",
        )
    return Rejected(lane=lane, commits=chosen, reason=text, fold=outcome)
