"""Scenario 3 (issue 7 #2): one fold against the least git work that publishes its bytes.

refold's fold reads the public tip, every pending partial, the config and provenance,
merges, renders and writes a commit by compare-and-swap. The floor is what any tool has
to do to publish the same manifest bytes: read the current blob, write the new blob,
a tree and a commit, and move the ref only if it still holds the old commit. Measured
twice: in-process (``fold_store`` against pygit2 calls) and as commands (``refold fold``
against the git CLI doing the same steps).

Each repetition publishes a new partial, so every blob written is new to the object
database: libgit2 and git skip writing an object that already exists, and a benchmark
that folds the same thing twice would measure that shortcut instead of a publication.
This module is the only part of bench/ that touches pygit2 directly, for the floor.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

import msgspec
import pygit2

from bench.common import (
    fmt_ratio,
    fmt_seconds,
    git_env,
    refold_argv,
    run_git,
    table,
    timed,
    warm_up,
)
from bench.fixtures import Job, fan_in_jobs, realistic_manifest
from refold.store.compact import fold_store
from refold.store.init import init_store
from refold.store.repo import Store, open_store, read_published
from refold.store.submit import submit

MANIFEST = "versions-manifest.json"
PROVENANCE = ".refold/provenance.json"


KINDS = ("add", "replace")
"""``add``: each publication is a new release (the usual case). ``replace``: each one
re-releases the same entry with new contents (a rebuilt asset), which changes an entry
the manifest already had."""


def libgit2_version() -> str:
    return str(pygit2.LIBGIT2_VERSION)


def rep_partial(job: Job, rep: int, kind: str) -> bytes:
    """The job's partial for repetition ``rep``: new bytes every time, one entry each."""
    if kind == "add":
        job = msgspec.structs.replace(job, version=f"3.16.{rep}")
    document = job.partial()
    files = document[0]["files"]
    assert isinstance(files, list)
    files[0]["size"] = 1_000_000 + rep
    return json.dumps(document).encode()


class Published(msgspec.Struct, frozen=True):
    manifest: bytes
    provenance: bytes


def _published(store: Store) -> Published:
    pub = read_published(store)
    commit = store.repo.revparse_single(store.public_ref).peel(pygit2.Commit)
    provenance = store.repo[commit.tree[PROVENANCE].id]
    assert isinstance(provenance, pygit2.Blob)
    return Published(manifest=pub.manifest_bytes, provenance=provenance.data)


def _mirror(store: Store, path: Path) -> pygit2.Repository:
    """A bare repository whose main branch holds the store's current public tree."""
    shutil.copytree(store.path, path)
    return pygit2.Repository(str(path))


def floor_publish(repo: pygit2.Repository, files: dict[str, bytes]) -> pygit2.Oid:
    """The minimum publication: read, write blob(s), tree(s), commit, compare-and-swap."""
    ref = repo.references["refs/heads/main"]
    old = ref.target
    commit = repo[old].peel(pygit2.Commit)
    tree = commit.tree
    builder = repo.TreeBuilder(tree)
    sub: dict[str, pygit2.TreeBuilder] = {}
    for path, data in files.items():
        head, _, rest = path.partition("/")
        current = repo.read(tree[path].id)[1]
        assert current
        blob = repo.create_blob(data)
        if rest:
            if head not in sub:
                sub[head] = repo.TreeBuilder(repo[tree[head].id].peel(pygit2.Tree))
            sub[head].insert(rest, blob, pygit2.enums.FileMode.BLOB)
        else:
            builder.insert(path, blob, pygit2.enums.FileMode.BLOB)
    for head, child in sub.items():
        builder.insert(head, child.write(), pygit2.enums.FileMode.TREE)
    sig = pygit2.Signature("floor", "floor@example.invalid", int(time.time()), 0)
    new = repo.create_commit(None, sig, sig, "publish\n", builder.write(), [old])
    ref = repo.references["refs/heads/main"]
    if ref.target != old:
        raise RuntimeError("lost the race")
    ref.set_target(new, "floor")
    return new


def git_cli_publish(repo: Path, manifest: bytes) -> None:
    """The same steps as git commands: read, hash-object, mktree, commit-tree, update-ref."""
    old = run_git(["rev-parse", "refs/heads/main"], cwd=repo).decode().strip()
    run_git(["cat-file", "blob", f"{old}:{MANIFEST}"], cwd=repo)
    blob = run_git(["hash-object", "-w", "--stdin"], cwd=repo, data=manifest).decode().strip()
    listing = run_git(["ls-tree", old], cwd=repo).decode().splitlines()
    lines = [f"100644 blob {blob}\t{MANIFEST}" if line.endswith(f"\t{MANIFEST}") else line for line in listing]
    tree = run_git(["mktree"], cwd=repo, data=("\n".join(lines) + "\n").encode()).decode().strip()
    new = run_git(["commit-tree", tree, "-p", old, "-m", "publish"], cwd=repo).decode().strip()
    run_git(["update-ref", "refs/heads/main", new, old], cwd=repo)


def run(reps: int, *, workdir: Path | None = None) -> dict[str, object]:
    base = Path(tempfile.mkdtemp(prefix="refold-bench-floor-", dir=workdir))
    try:
        return _run(base, max(1, reps))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _in_process(base: Path, reps: int, kind: str) -> dict[str, object]:
    """refold's fold and the pygit2 floors, interleaved so machine noise hits both alike."""
    job = fan_in_jobs(1)[0]
    store = init_store(base / f"{kind}.git", import_data=realistic_manifest())
    floor_repo = _mirror(store, base / f"{kind}-floor.git")
    both_repo = _mirror(store, base / f"{kind}-floor-both.git")
    samples: dict[str, list[float]] = {"refold": [], "floor": [], "floor_both": []}
    present = same = True
    for rep in range(reps + 1):
        submit(store, job.lane, rep_partial(job, rep, kind), env={})
        t_refold = timed(lambda: fold_store(store))
        out = _published(store)
        t_floor = timed(partial(floor_publish, floor_repo, {MANIFEST: out.manifest}))
        t_both = timed(partial(floor_publish, both_repo, {MANIFEST: out.manifest, PROVENANCE: out.provenance}))
        present = present and f'"size": {1_000_000 + rep}'.encode() in out.manifest
        same = same and _tip_blob(floor_repo) == _tip_blob(store.repo)
        if rep:  # the first publication warms every cache; each path gets one
            samples["refold"].append(t_refold)
            samples["floor"].append(t_floor)
            samples["floor_both"].append(t_both)
    t = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "seconds": t,
        "ratio": t["refold"] / t["floor"],
        "ratio_vs_both_blobs": t["refold"] / t["floor_both"],
        "correctness": {"partial_published_every_rep": present, "floor_wrote_same_manifest_blob": same},
    }


def _tip_blob(repo: pygit2.Repository) -> str:
    commit = repo[repo.references["refs/heads/main"].target].peel(pygit2.Commit)
    return str(commit.tree[MANIFEST].id)


def _commands(base: Path, reps: int) -> dict[str, object]:
    """``refold fold`` as a process against the git CLI publishing the same bytes."""
    job = fan_in_jobs(1)[0]
    store = init_store(base / "cli.git", import_data=realistic_manifest())
    floor = base / "cli-floor.git"
    shutil.copytree(store.path, floor)
    env = git_env()
    argv = refold_argv("--store", store.path, "fold")
    samples: dict[str, list[float]] = {"refold": [], "git": []}
    for rep in range(reps + 1):
        submit(store, job.lane, rep_partial(job, rep, "add"), env={})
        t_refold = timed(lambda: subprocess.run(argv, env=env, capture_output=True, check=True))
        manifest = read_published(open_store(store.path)).manifest_bytes
        t_git = timed(partial(git_cli_publish, floor, manifest))
        if rep:
            samples["refold"].append(t_refold)
            samples["git"].append(t_git)
    t = {name: statistics.median(values) for name, values in samples.items()}
    return {"seconds": t, "ratio": t["refold"] / t["git"]}


def _run(base: Path, reps: int) -> dict[str, object]:
    warm_up()
    result: dict[str, object] = {"reps": reps, "target_ratio_in_process": 1.5}
    for kind in KINDS:
        result[kind] = _in_process(base, reps, kind)
    result["command"] = _commands(base, reps)
    return result


def render_table(result: dict[str, object]) -> str:
    rows = []
    for kind in KINDS:
        part = result[kind]
        assert isinstance(part, dict)
        t = part["seconds"]
        what = "new release" if kind == "add" else "re-released entry"
        rows += [
            [f"{what}: refold fold_store", fmt_seconds(t["refold"]), fmt_ratio(part["ratio"])],
            [f"{what}: pygit2 floor, manifest blob", fmt_seconds(t["floor"]), "1.00x"],
            [f"{what}: pygit2 floor, + provenance blob", fmt_seconds(t["floor_both"]),
             fmt_ratio(t["floor_both"] / t["floor"])],
        ]
    cmd = result["command"]
    assert isinstance(cmd, dict)
    rows += [
        ["new release: refold fold (command)", fmt_seconds(cmd["seconds"]["refold"]), fmt_ratio(cmd["ratio"])],
        ["new release: git CLI, same steps (7 commands)", fmt_seconds(cmd["seconds"]["git"]), "1.00x"],
    ]
    head = (
        "fold vs the git floor: publish one partial into the 2,234-file manifest "
        "(ratio to the floor publishing the same manifest bytes; target <= 1.5x in-process)"
    )
    return head + "\n\n" + table(["path", "median", "ratio"], rows)
