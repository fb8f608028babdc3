"""Moving refs by compare-and-swap, the only way refold ever moves one in a repository.

Writers reach this through ``refold.store.transport.update_ref``, which for a remote store
pushes instead; a remote store's cache clone refuses it outright, since a ref moved
there would publish nothing.

libgit2 checks the old value under the ref's lock file: ``Reference.set_target`` fails
if the ref no longer holds the id it was read with, and creating a ref without force
fails if it exists. Either failure, and a lock file another process holds, is a lost
race: the caller reloads and tries again. A lock file left by a killed process is
removed once it is older than any real ref update could take.
"""

from __future__ import annotations

import logging
import os
import random
import time
from pathlib import Path

import pygit2

from refold.manifests.errors import UsageError
from refold.store.faults import fault_point

_log = logging.getLogger(__name__)

STALE_LOCK_SECONDS = 5.0
"""A ref update holds its lock for milliseconds; a lock this old belongs to a dead process."""


class LostRace(Exception):
    """The ref moved (or was locked) between reading it and moving it."""


def compare_and_swap(
    repo: pygit2.Repository, name: str, expected: pygit2.Oid | None, new: pygit2.Oid, message: str
) -> None:
    """Point ``name`` at ``new`` only if it still points at ``expected`` (None: absent)."""
    fault_point("cas.before")
    _refuse_cache(repo)
    try:
        if expected is None:
            repo.create_reference_direct(name, new, False, message=message)
            fault_point("cas.after")
            return
        ref = repo.references.get(name)
        if ref is None or ref.target != expected:
            raise LostRace(name)
        ref.set_target(new, message)
        fault_point("cas.after")
    except pygit2.AlreadyExistsError:
        raise LostRace(name) from None
    except (pygit2.GitError, OSError) as exc:
        text = str(exc)
        if "does not match" in text or "lock" in text or "already exists" in text:
            clear_stale_lock(repo, name)
            raise LostRace(name) from None
        if any(clash in text for clash in _NAME_CLASHES):
            # Another writer created a ref that is a directory or file where this one needs the
            # other (x64 vs x64/linux): the namespace moved under us, and the caller rechecks.
            raise LostRace(name) from None
        raise


def _refuse_cache(repo: pygit2.Repository) -> None:
    try:
        url = repo.config["refold.url"]
    except KeyError:
        return
    raise UsageError(
        f"this command cannot publish to the remote store {url} yet: it would move a ref in "
        "refold's local cache of it, which publishes nothing",
        location=repo.path,
        hint="run it against the store's repository directly (on the server, or a local path); "
        "commands that support remote stores move refs with refold.store.transport.update_ref",
    )


_NAME_CLASHES = ("could not remove directory", "refs beneath", "collides with existing")


def clear_stale_lock(repo: pygit2.Repository, name: str) -> bool:
    """Remove ``name``'s lock file if a dead process left it; report whether it did.

    A removal is logged as a warning (on stderr for the command line): it means a
    process died mid-update and this one waited for its lock to go stale.
    """
    lock = Path(repo.path) / f"{name}.lock"
    seen = stale_lock(lock)
    removed = seen is not None and remove_lock_if_unchanged(lock, seen, Path(repo.path))
    if removed:
        assert seen is not None
        _log.warning(
            "refold: warning: removed stale lock %s (%.0f s old: left by a process that died "
            "while moving %s)",
            lock,
            time.time() - seen.st_mtime,
            name,
        )
    return removed


def stale_lock(lock: Path) -> os.stat_result | None:
    """The lock file's stat if it exists and is older than any live update could make it."""
    try:
        seen = lock.stat()
    except FileNotFoundError:
        return None
    return seen if time.time() - seen.st_mtime >= STALE_LOCK_SECONDS else None


def remove_lock_if_unchanged(lock: Path, seen: os.stat_result, aside_dir: Path) -> bool:
    """Delete ``lock`` only if it is still the file ``seen`` describes.

    Between judging a lock stale and removing it, another process may have cleared it and
    a live writer locked anew; a plain unlink would delete the live lock. So move it aside
    first (atomic), check its identity, and put back a lock that turns out to be new.
    ``aside_dir`` is the git directory, so the moved file is never under refs/ as a ref.
    """
    aside = aside_dir / f"refold-stale-lock-{os.getpid()}-{random.getrandbits(48):012x}"
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return False
    moved = aside.stat()
    if (moved.st_ino, moved.st_dev, moved.st_mtime_ns) != (
        seen.st_ino,
        seen.st_dev,
        seen.st_mtime_ns,
    ):
        try:
            os.link(aside, lock)
        except OSError:
            pass
        aside.unlink()
        return False
    aside.unlink()
    return True


def backoff(attempt: int) -> None:
    """Jittered exponential wait so racing writers spread out instead of colliding again."""
    time.sleep(min(0.5, 0.002 * (2 ** min(attempt, 8))) * (0.5 + random.random()))


def lock_path(repo: pygit2.Repository, name: str) -> str:
    return os.path.join(repo.path, f"{name}.lock")
