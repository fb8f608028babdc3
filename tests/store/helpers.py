"""Shared helpers for the store tests: valid partials, raw lane commits, history walks.

Also runnable as a script (``python helpers.py ROLE ...``) so that concurrency and crash
tests can start real writer and compactor processes that use only refold's API.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pygit2

from refold.manifests.config import StoreConfig
from refold.store.compact import FoldOutcome, fold_store
from refold.store.init import init_store
from refold.store.repo import Store, all_refs, open_store, read_published, ref_target
from refold.store.submit import SubmitResult, submit

HELPERS = Path(__file__).resolve()
SHARED_DATA = HELPERS.parents[3] / "shared" / "data"
DOWNLOAD = "https://github.com/actions/python-versions/releases/download"
RELEASE_PAGE = "https://github.com/actions/python-versions/releases/tag"
FIXED_SIG = pygit2.Signature("test", "test@refold.invalid", 1_700_000_000, 0)
EMPTY_REF = "0" * 40


def shared_data() -> Path:
    """The real manifests in ../shared/data, or skip: the suite must stand alone without them."""
    import pytest

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (conformance data is optional)")
    return SHARED_DATA


def lane_arch(lane: str) -> str:
    return lane.split("/", 1)[0]


def python_filename(
    version: str, arch: str, platform: str = "linux", platform_version: str | None = "24.04"
) -> str:
    """``python-3.13.1-linux-24.04-x64.tar.gz`` / ``python-3.13.1-win32-x64.zip``."""
    ext = "zip" if platform == "win32" else "tar.gz"
    middle = f"{platform}-{platform_version}" if platform_version is not None else platform
    return f"python-{version}-{middle}-{arch}.{ext}"


def python_file(
    version: str,
    arch: str,
    platform: str = "linux",
    platform_version: str | None = "24.04",
    **extra: Any,
) -> dict[str, Any]:
    """One versions-manifest file entry as actions/python-versions publishes it."""
    filename = python_filename(version, arch, platform, platform_version)
    entry: dict[str, Any] = {"filename": filename, "arch": arch, "platform": platform}
    if platform_version is not None:
        entry["platform_version"] = platform_version
    entry["download_url"] = f"{DOWNLOAD}/{version}-1/{filename}"
    entry.update(extra)
    return entry


def python_release(
    version: str, files: Sequence[Mapping[str, Any]], *, stable: bool | None = None, **extra: Any
) -> dict[str, Any]:
    release: dict[str, Any] = {
        "version": version,
        "stable": ("-" not in version) if stable is None else stable,
        "release_url": f"{RELEASE_PAGE}/{version}-1",
        "files": list(files),
    }
    release.update(extra)
    return release


def partial_doc(
    lane: str,
    versions: Iterable[str],
    *,
    platform: str = "linux",
    platform_version: str | None = "24.04",
    retract: Sequence[Mapping[str, str]] = (),
    **file_extra: Any,
) -> dict[str, Any]:
    """A canonical partial for ``lane``: one file of the lane's arch per version."""
    arch = lane_arch(lane)
    releases = [
        python_release(v, [python_file(v, arch, platform, platform_version, **file_extra)])
        for v in versions
    ]
    return {"releases": releases, "retract": list(retract)}


def partial_bytes(lane: str, *versions: str, **kwargs: Any) -> bytes:
    return json.dumps(partial_doc(lane, versions, **kwargs), indent=2).encode()


def manifest_bytes(releases: Sequence[Mapping[str, Any]]) -> bytes:
    """A versions-manifest rendered as upstream writes it (2-space indent, final newline)."""
    return json.dumps(list(releases), indent=2).encode() + b"\n"


def new_store(path: Path, **kwargs: Any) -> Store:
    return init_store(path, **kwargs)


def config_with(**fields: Any) -> StoreConfig:
    return StoreConfig(**fields)


def write_lane_commit(
    repo: pygit2.Repository,
    lane: str,
    files: Mapping[str, bytes],
    *,
    parents: Sequence[pygit2.Oid] | None = None,
    message: str = "pushed around refold\n",
) -> pygit2.Oid:
    """A lane commit made directly with pygit2, as a job pushing around refold would."""
    ref_name = f"refs/partials/{lane}"
    if parents is None:
        existing = ref_target(repo, ref_name)
        parents = [existing] if existing is not None else []
    builder = repo.TreeBuilder()
    for name, data in files.items():
        builder.insert(name, repo.create_blob(data), pygit2.enums.FileMode.BLOB)
    commit = repo.create_commit(None, FIXED_SIG, FIXED_SIG, message, builder.write(), list(parents))
    repo.create_reference_direct(ref_name, commit, True)
    return commit


def object_count(repo: pygit2.Repository) -> int:
    return sum(1 for _ in repo.odb)


def tip(store: Store, name: str | None = None) -> str:
    return all_refs(store.repo)[name or store.public_ref]


def first_parent_chain(repo: pygit2.Repository, start: str) -> list[pygit2.Commit]:
    """Commits on the first-parent chain from ``start`` back to the root, newest first."""
    chain = []
    commit = repo[start].peel(pygit2.Commit)
    while True:
        chain.append(commit)
        if not commit.parents:
            return chain
        commit = commit.parents[0]


def newly_reachable(repo: pygit2.Repository, fold_commit: pygit2.Commit) -> set[str]:
    """Lane commits a fold commit made reachable: from its other parents, not its first."""
    if len(fold_commit.parents) < 2:
        return set()
    walker = repo.walk(fold_commit.parents[1].id, pygit2.enums.SortMode.TOPOLOGICAL)
    for parent in fold_commit.parents[2:]:
        walker.push(parent.id)
    walker.hide(fold_commit.parents[0].id)
    return {str(c.id) for c in walker}


def is_fast_forward(repo: pygit2.Repository, old: str, new: str) -> bool:
    if old == new or old == EMPTY_REF:
        return True
    return bool(repo.descendant_of(pygit2.Oid(hex=new), pygit2.Oid(hex=old)))


def reflog(repo: pygit2.Repository, name: str) -> list[tuple[str, str]]:
    """``(old, new)`` for every update of ``name``, oldest first."""
    return [(str(e.oid_old), str(e.oid_new)) for e in reversed(list(repo.references[name].log()))]


def git(path: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    return subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, env=env, check=False
    )


def assert_fsck_clean(path: Path | str) -> None:
    result = git(path, "fsck", "--strict", "--no-dangling")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stderr.lower(), result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr


def run_helper(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run this file as a script in a fresh interpreter (a real, separate process)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, str(HELPERS), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def start_helper(*args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, str(HELPERS), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


def age_lock_files(path: Path | str, seconds: float) -> list[Path]:
    """Backdate every ref lock file (what a killed process leaves) by ``seconds``."""
    locks = sorted(Path(path).rglob("*.lock"))
    then = time.time() - seconds
    for lock in locks:
        os.utime(lock, (then, then))
    return locks


# --- script roles ----------------------------------------------------------------------


def writer_versions(writer: int, count: int) -> list[str]:
    return [f"3.{10 + writer}.{i}" for i in range(count)]


def _emit(record: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _submit_result(result: SubmitResult) -> dict[str, Any]:
    return {
        "lane": result.lane,
        "commit": result.commit,
        "noop": result.noop,
        "retries": result.retries,
    }


def _fold_result(outcome: FoldOutcome) -> dict[str, Any]:
    return {"commit": outcome.commit, "previous": outcome.previous, "retries": outcome.retries}


def role_submit(store_path: str, lane: str, *versions: str) -> None:
    store = open_store(store_path)
    env = {"GITHUB_RUN_ID": str(os.getpid())}
    _emit(_submit_result(submit(store, lane, partial_bytes(lane, *versions), env=env)))


def role_fold(store_path: str, times: str = "1") -> None:
    store = open_store(store_path)
    for _ in range(int(times)):
        _emit(_fold_result(fold_store(store)))


def role_writer(store_path: str, lane: str, writer: str, count: str, pause: str) -> None:
    """Submit ``count`` distinct partials on ``lane``, pausing up to ``pause`` s between."""
    store = open_store(store_path)
    rng = random.Random(int(writer))
    for i, version in enumerate(writer_versions(int(writer), int(count))):
        env = {"GITHUB_RUN_ID": f"{writer}-{i}", "GITHUB_SHA": f"{int(writer):02d}{i:038d}"}
        _emit(_submit_result(submit(store, lane, partial_bytes(lane, version), env=env)))
        time.sleep(rng.uniform(0, float(pause)))


def role_compactor(store_path: str, stop_file: str) -> None:
    """Fold in a loop until ``stop_file`` exists, reporting every fold and public tip seen."""
    store = open_store(store_path)
    stop = Path(stop_file)
    while not stop.exists():
        seen = str(store.repo.references[store.public_ref].target)
        outcome = fold_store(store)
        record = _fold_result(outcome)
        record["seen"] = seen
        _emit(record)


def role_churn(store_path: str, lane: str, seed: str) -> None:
    """Submit and fold forever (until killed), reporting each completed submit."""
    store = open_store(store_path)
    rng = random.Random(int(seed))
    i = 0
    while True:
        version = f"3.{rng.randrange(10, 99)}.{i}"
        _emit(_submit_result(submit(store, lane, partial_bytes(lane, version), env={})))
        if rng.random() < 0.5:
            fold_store(store)
        i += 1


def role_published(store_path: str) -> None:
    store = open_store(store_path)
    sys.stdout.write(read_published(store).manifest_bytes.decode())


ROLES: dict[str, Callable[..., None]] = {
    "submit": role_submit,
    "fold": role_fold,
    "writer": role_writer,
    "compactor": role_compactor,
    "churn": role_churn,
    "published": role_published,
}

if __name__ == "__main__":
    levels = (
        pygit2.enums.ConfigLevel.GLOBAL,
        pygit2.enums.ConfigLevel.XDG,
        pygit2.enums.ConfigLevel.SYSTEM,
    )
    for level in levels:
        pygit2.settings.search_path[level] = os.devnull
    ROLES[sys.argv[1]](*sys.argv[2:])
