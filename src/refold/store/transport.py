"""The one way refold reads and moves refs, for a local directory and a git server alike.

Every writer (submit, fold, init, and every other command that publishes: config set,
reject, import, rebuild) keeps two rules, and is then equally correct against both:

1. Read refs only after ``refresh(store, names)``. For a remote store that makes the
   cache clone's copies of those refs equal the server's (locally it does nothing).
2. Move a ref only with ``update_ref(store, name, expected, new, message)``, the
   compare-and-swap: locally ``refs.compare_and_swap``; remotely a push that is never
   forced and leases ``expected``. Both raise ``refs.LostRace`` when the ref moved; the
   caller then refreshes, recomputes from the new value and tries again, a bounded
   number of times, and reports how many retries it took.

Calling ``refs.compare_and_swap`` on ``store.repo`` directly would, for a remote store,
move only the disposable cache and publish nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

import pygit2

from refold.manifests.lanes import LANE_REF_PREFIX
from refold.store.refs import compare_and_swap
from refold.store.remote import mirror, push
from refold.store.repo import Store, lane_refs


def refresh(store: Store, refs: Iterable[str] | None = None) -> None:
    """Bring the cache's ``refs`` (default: the public ref and every lane) up to the
    server's values, deleting any the server no longer has; a no-op for a local store."""
    remote = store.remote
    if remote is None:
        return
    names = frozenset(refs) if refs is not None else frozenset({store.public_ref})
    prefixes = () if refs is not None else (LANE_REF_PREFIX,)
    fresh, remote.fresh = remote.fresh, None
    if fresh is not None:
        # open_store has just mirrored these: the first reader need not ask the server again.
        fresh_names, fresh_prefixes = fresh
        done = all(name in fresh_names or name.startswith(tuple(fresh_prefixes)) for name in names)
        if done and set(prefixes) <= set(fresh_prefixes):
            return
    mirror(remote, store.repo, names, prefixes)


def update_ref(
    store: Store, name: str, expected: pygit2.Oid | None, new: pygit2.Oid, message: str
) -> None:
    """Point ``name`` at ``new`` only if it still points at ``expected`` (None: absent);
    raise refs.LostRace otherwise. For a remote store the server's ref is what moves."""
    if store.remote is None:
        compare_and_swap(store.repo, name, expected, new, message)
    else:
        push(store.remote, store.repo, name, expected, new, message)


def lane_names(store: Store) -> set[str]:
    """Every lane of the store; for a remote store, those the server listed last."""
    if store.remote is None:
        return set(lane_refs(store.repo))
    return {
        name[len(LANE_REF_PREFIX) :]
        for name in store.remote.advertised
        if name.startswith(LANE_REF_PREFIX)
    }


__all__ = ["lane_names", "refresh", "update_ref"]
