"""Which partials are pending: reachable from a lane tip and not from the public tip.

Git reachability is the only bookkeeping. A revwalk from each lane tip with the public
tip hidden visits only what is not yet folded, so the cost follows the pending work, not
the length of history.
"""

from __future__ import annotations

import pygit2

from refold.manifests.errors import RefoldError, SchemaError
from refold.manifests.fold import Pending
from refold.manifests.partial import decode_stored_partial
from refold.store.repo import PARTIAL_FILE, lane_refs


def load_partial(repo: pygit2.Repository, lane: str, commit: pygit2.Commit) -> Pending:
    """A lane commit as a Pending; one that breaks the lane format carries its error."""
    commit_id = str(commit.id)
    where = f"refs/partials/{lane}@{commit_id[:12]}"
    try:
        if len(commit.parents) > 1:
            raise SchemaError(
                "lane commit is a merge; lanes are linear",
                location=where,
                hint="lanes are written only by refold submit",
            )
        names = [entry.name for entry in commit.tree]
        if names != [PARTIAL_FILE]:
            raise SchemaError(
                f"lane commit must hold exactly one {PARTIAL_FILE}, holds {names}",
                location=where,
                hint="lanes are written only by refold submit",
            )
        blob = repo[commit.tree[PARTIAL_FILE].id]
        if not isinstance(blob, pygit2.Blob):
            raise SchemaError(f"{PARTIAL_FILE} is not a file", location=where)
        partial = decode_stored_partial(blob.data, location=f"{where}:{PARTIAL_FILE}")
    except RefoldError as exc:
        return Pending(lane=lane, commit=commit_id, partial=None, error=exc)
    return Pending(lane=lane, commit=commit_id, partial=partial)


def pending_partials(repo: pygit2.Repository, public_tip: pygit2.Oid) -> dict[str, list[Pending]]:
    """Pending partials per lane, oldest first; lanes with none are left out."""
    out: dict[str, list[Pending]] = {}
    for lane, tip in lane_refs(repo).items():
        try:
            walker = repo.walk(
                tip, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE
            )
        except (pygit2.GitError, ValueError, KeyError):
            # A ref pushed around refold at a blob or tree: hold the lane, fold the others.
            error = SchemaError(
                "lane ref does not point at a commit",
                location=f"refs/partials/{lane}@{str(tip)[:12]}",
                hint="lanes are written only by refold submit",
            )
            out[lane] = [Pending(lane=lane, commit=str(tip), partial=None, error=error)]
            continue
        walker.hide(public_tip)
        items = [load_partial(repo, lane, commit) for commit in walker]
        if items:
            out[lane] = items
    return out
