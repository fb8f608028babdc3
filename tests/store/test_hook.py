"""The pre-receive hook: the server itself refuses every push that breaks refold's rules.

Most rules are checked in-process: a "server" store and a mirror copy of it (the
pusher's repository); what the pusher makes is copied into the server's object store
without moving any ref, exactly as git holds a push while its hook runs. The refusals
the issue names are then also pushed for real, with ``git push`` to ``git daemon``.
"""

from __future__ import annotations

import json
import shutil
import stat
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pygit2
import pytest

from refold.manifests.config import StoreConfig
from refold.manifests.errors import UsageError
from refold.store.compact import fold_store
from refold.store.hook import (
    HOOK_MARKER,
    ZERO,
    RefUpdate,
    check_push,
    install_hook,
    parse_updates,
)
from refold.store.init import init_store
from refold.store.remote import PushRefused, copy_objects
from refold.store.repo import (
    CONFIG_PATH,
    PARTIAL_FILE,
    PROVENANCE_PATH,
    Store,
    all_refs,
    blob_at,
    open_repository,
    open_store,
    ref_target,
    write_tree,
)
from refold.store.submit import submit
from refold.store.transport import update_ref

from .daemon import Served, git_server, served_store
from .helpers import FIXED_SIG, git, partial_bytes, partial_doc

__all__ = ["git_server"]

MAIN = "refs/heads/main"
MANIFEST = "versions-manifest.json"


class Pair:
    """A server store and the pusher's copy of it (a mirror taken when the pair is made)."""

    def __init__(self, root: Path, **init: object) -> None:
        self.server_path = root / "server.git"
        self.server = init_store(self.server_path, **init)  # type: ignore[arg-type]
        self.work_path = root / "work.git"
        self.sync()

    def sync(self) -> None:
        """Take a fresh mirror of the server as the pusher's repository."""
        shutil.rmtree(self.work_path, ignore_errors=True)
        shutil.copytree(self.server_path, self.work_path)
        self.work = open_store(self.work_path)

    def staged(self, names: Iterable[str]) -> list[RefUpdate]:
        """The updates pushing ``names`` from work would send; objects copied, refs unmoved."""
        updates = []
        for name in names:
            new = ref_target(self.work.repo, name)
            old = ref_target(self.server.repo, name)
            if new is not None:
                copy_objects(self.work.repo, self.server.repo, new)
            updates.append(RefUpdate(str(old or ZERO), str(new or ZERO), name))
        return updates

    def check(self, updates: Iterable[RefUpdate]) -> dict[str, str]:
        before = all_refs(self.server.repo)
        found = check_push(self.server.repo, updates, MAIN)
        assert all_refs(self.server.repo) == before
        return {refusal.ref: refusal.reason for refusal in found}

    def accept(self, names: Iterable[str]) -> None:
        """Check the push and, as git would after the hook accepts, move the server's refs."""
        updates = self.staged(names)
        assert self.check(updates) == {}
        for update in updates:
            self.server.repo.references.create(update.ref, pygit2.Oid(hex=update.new), force=True)


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    return Pair(tmp_path)


def _commit(
    repo: pygit2.Repository,
    files: Mapping[str, bytes],
    parents: Iterable[pygit2.Oid | str],
    message: str = "pushed around refold\n",
    base: pygit2.Tree | None = None,
) -> pygit2.Oid:
    tree = write_tree(repo, base, files)
    ids = [p if isinstance(p, pygit2.Oid) else pygit2.Oid(hex=p) for p in parents]
    return repo.create_commit(None, FIXED_SIG, FIXED_SIG, message, tree, ids)


def _set(store: Store, name: str, target: pygit2.Oid) -> None:
    store.repo.references.create(name, target, force=True)


def _sbom_partial(lane: str) -> bytes:
    filename = f"python-3.13.1-linux-24.04-{lane}.sbom.json"
    doc = partial_doc(
        lane,
        ["3.13.1"],
        filename=filename,
        download_url=f"https://github.com/actions/python-versions/releases/download/3.13.1-1/{filename}",
    )
    return json.dumps(doc).encode()


# --- what refold itself pushes is accepted ---------------------------------------------


def test_refold_submits_and_folds_are_accepted_one_push_at_a_time(pair: Pair) -> None:
    submit(pair.work, "x64", partial_bytes("x64", "3.13.1"), env={})
    pair.accept(["refs/partials/x64"])
    submit(pair.work, "x64", partial_bytes("x64", "3.13.2"), env={})
    submit(pair.work, "arm64", partial_bytes("arm64", "3.13.2"), env={})
    pair.accept(["refs/partials/x64", "refs/partials/arm64"])
    assert fold_store(pair.work).commit is not None
    pair.accept([MAIN])


def test_a_chain_of_folds_pushed_at_once_is_replayed_and_accepted(pair: Pair) -> None:
    for i in range(4):
        submit(pair.work, "x64", partial_bytes("x64", f"3.13.{i}"), env={})
        if i % 2:
            submit(pair.work, "arm64", partial_bytes("arm64", f"3.13.{i}"), env={})
        fold_store(pair.work)
    pair.accept(["refs/partials/x64", "refs/partials/arm64", MAIN])


def test_a_fold_that_records_an_operator_rejection_is_accepted(pair: Pair) -> None:
    submit(pair.work, "x64/a", partial_bytes("x64", "3.13.1"), env={})
    # valid on its own lane, but it replaces an entry lane x64/a owns: held back
    clash = submit(pair.work, "x64/b", partial_bytes("x64", "3.13.1"), env={}).commit
    first = fold_store(pair.work)
    assert first.report.held_back["x64/b"].kind == "conflict"
    pair.accept(["refs/partials/x64/a", "refs/partials/x64/b", MAIN])
    rejected = fold_store(pair.work, rejections={clash: "duplicate of the x64/a build"})
    assert rejected.report.lanes["x64/b"].rejected == [clash]
    pair.accept([MAIN])


def test_the_first_commit_refold_init_pushes_into_an_empty_repository_is_accepted(
    tmp_path: Path,
) -> None:
    server = pygit2.init_repository(str(tmp_path / "server.git"), bare=True)
    work = init_store(tmp_path / "work.git", config=StoreConfig(indent=4))
    tip = ref_target(work.repo, MAIN)
    assert tip is not None
    copy_objects(work.repo, server, tip)
    assert check_push(server, [RefUpdate(ZERO, str(tip), MAIN)], MAIN) == []


def test_a_config_change_as_refold_config_set_makes_it_is_accepted(pair: Pair) -> None:
    from refold.store.config import set_config

    submit(pair.work, "x64", partial_bytes("x64", "3.13.1"), env={})
    fold_store(pair.work)
    pair.accept(["refs/partials/x64", MAIN])
    change = set_config(pair.work, "indent", "4")
    assert change.commit is not None
    pair.accept([MAIN])
    moved = set_config(pair.work, "manifest_path", "manifests/python.json")
    assert moved.commit is not None
    pair.accept([MAIN])


def test_adopting_a_manifest_into_an_empty_store_is_accepted(pair: Pair) -> None:
    from refold.store.imports import import_manifest

    releases = partial_doc("x64", ["3.12.1", "3.12.0"])["releases"]
    data = (json.dumps(releases, indent=2) + "\n").encode()
    import_manifest(pair.work, data, location="versions-manifest.json")
    pair.accept([MAIN])


# --- lanes ------------------------------------------------------------------------------


def test_a_rewritten_lane_is_refused(pair: Pair) -> None:
    first = submit(pair.work, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    submit(pair.work, "x64", partial_bytes("x64", "3.13.2"), env={})
    pair.accept(["refs/partials/x64"])
    other = _commit(pair.work.repo, {PARTIAL_FILE: partial_bytes("x64", "3.13.3")}, [first])
    _set(pair.work, "refs/partials/x64", other)
    refused = pair.check(pair.staged(["refs/partials/x64"]))
    assert "not a fast-forward" in refused["refs/partials/x64"]


def test_a_deleted_lane_is_refused(pair: Pair) -> None:
    tip = submit(pair.work, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    pair.accept(["refs/partials/x64"])
    refused = pair.check([RefUpdate(tip, ZERO, "refs/partials/x64")])
    assert "never deleted" in refused["refs/partials/x64"]


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        (
            {PARTIAL_FILE: partial_bytes("arm64", "3.13.1")},
            "arch 'arm64' may not be published on lane 'x64'",
        ),
        ({PARTIAL_FILE: _sbom_partial("x64")}, "sbom"),
        ({PARTIAL_FILE: b'{"releases": ['}, "partial.json"),
        (
            {PARTIAL_FILE: partial_bytes("x64", "3.13.1"), "extra.json": b"{}"},
            "exactly one partial.json",
        ),
        ({"manifest.json": partial_bytes("x64", "3.13.1")}, "exactly one partial.json"),
    ],
    ids=["wrong-arch", "sbom", "malformed-json", "two-files", "wrong-name"],
)
def test_a_lane_commit_that_is_not_one_valid_partial_for_the_lane_is_refused(
    pair: Pair, files: dict[str, bytes], reason: str
) -> None:
    tip = submit(pair.work, "x64", partial_bytes("x64", "3.12.0"), env={}).commit
    pair.accept(["refs/partials/x64"])
    bad = _commit(pair.work.repo, files, [tip])
    good_after = _commit(pair.work.repo, {PARTIAL_FILE: partial_bytes("x64", "3.13.2")}, [bad])
    _set(pair.work, "refs/partials/x64", good_after)
    refused = pair.check(pair.staged(["refs/partials/x64"]))
    assert reason.lower() in refused["refs/partials/x64"].lower()
    assert str(bad)[:12] in refused["refs/partials/x64"]


def test_a_merge_on_a_lane_is_refused(pair: Pair) -> None:
    a = submit(pair.work, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    pair.accept(["refs/partials/x64"])
    side = _commit(pair.work.repo, {PARTIAL_FILE: partial_bytes("x64", "3.13.2")}, [])
    merge = _commit(pair.work.repo, {PARTIAL_FILE: partial_bytes("x64", "3.13.3")}, [a, side])
    _set(pair.work, "refs/partials/x64", merge)
    assert "merge" in pair.check(pair.staged(["refs/partials/x64"]))["refs/partials/x64"]


def test_a_commit_already_on_another_lane_may_not_start_a_new_one(pair: Pair) -> None:
    shared = _commit(pair.work.repo, {PARTIAL_FILE: partial_bytes("x64", "3.13.1")}, [])
    _set(pair.work, "refs/partials/x64/a", shared)
    pair.accept(["refs/partials/x64/a"])
    _set(pair.work, "refs/partials/x64/b", shared)
    refused = pair.check(pair.staged(["refs/partials/x64/b"]))
    assert "already on another lane" in refused["refs/partials/x64/b"]


def test_a_commit_naming_another_lane_in_its_trailer_is_refused(pair: Pair) -> None:
    submit(pair.work, "x64/a", partial_bytes("x64", "3.13.1"), env={})
    moved = pair.work.repo.references["refs/partials/x64/a"]
    _set(pair.work, "refs/partials/x64/b", moved.target)
    moved.delete()
    refused = pair.check(pair.staged(["refs/partials/x64/b"]))
    assert "says Refold-Lane: x64/a but is pushed to lane x64/b" in refused["refs/partials/x64/b"]


def test_a_partial_is_checked_under_the_config_at_the_public_tip(tmp_path: Path) -> None:
    pair = Pair(tmp_path, config=StoreConfig(url_prefix="https://mirror.example/{version}/"))
    submit_work = pair.work
    bad = _commit(submit_work.repo, {PARTIAL_FILE: partial_bytes("x64", "3.13.1")}, [])
    _set(submit_work, "refs/partials/x64", bad)
    refused = pair.check(pair.staged(["refs/partials/x64"]))
    assert "outside the store's URL policy" in refused["refs/partials/x64"]


def test_a_lane_push_into_a_repository_without_a_public_ref_is_refused(tmp_path: Path) -> None:
    server = pygit2.init_repository(str(tmp_path / "server.git"), bare=True)
    lane = _commit(server, {PARTIAL_FILE: partial_bytes("x64", "3.13.1")}, [])
    refused = check_push(server, [RefUpdate(ZERO, str(lane), "refs/partials/x64")], MAIN)
    assert refused and "refold init" in refused[0].reason


@pytest.mark.parametrize(
    "ref", ["refs/tags/v1", "refs/heads/other", "refs/refold/state", "refs/partials/a/b/c", "HEAD"]
)
def test_every_other_ref_is_refused(pair: Pair, ref: str) -> None:
    tip = ref_target(pair.server.repo, MAIN)
    refused = pair.check([RefUpdate(ZERO, str(tip), ref)])
    assert refused.get(ref, "")


# --- the public ref -------------------------------------------------------------------------


def _published_tree(store: Store) -> tuple[pygit2.Oid, pygit2.Tree]:
    tip = ref_target(store.repo, MAIN)
    assert tip is not None
    return tip, store.repo[tip].peel(pygit2.Commit).tree


def test_a_hand_edited_manifest_on_main_is_refused(pair: Pair) -> None:
    submit(pair.work, "x64", partial_bytes("x64", "3.13.1"), env={})
    fold_store(pair.work)
    pair.accept(["refs/partials/x64", MAIN])
    tip, tree = _published_tree(pair.work)
    manifest = blob_at(pair.work.repo, pair.work.repo[tip].peel(pygit2.Commit), MANIFEST)
    assert manifest is not None
    edited = manifest.replace(b"3.13.1-1", b"3.13.1-2")
    _set(pair.work, MAIN, _commit(pair.work.repo, {MANIFEST: edited}, [tip], base=tree))
    refused = pair.check(pair.staged([MAIN]))
    assert "hand-edited manifest is refused" in refused[MAIN]


def test_a_fold_commit_whose_manifest_is_not_the_fold_of_its_parents_is_refused(pair: Pair) -> None:
    lane_tip = submit(pair.work, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    pair.accept(["refs/partials/x64"])
    honest = fold_store(pair.work, dry_run=False).commit
    assert honest is not None
    commit = pair.work.repo[honest].peel(pygit2.Commit)
    manifest = blob_at(pair.work.repo, commit, MANIFEST)
    assert manifest is not None
    forged = _commit(
        pair.work.repo,
        {MANIFEST: manifest.replace(b'"stable": true', b'"stable": false')},
        [commit.parent_ids[0], pygit2.Oid(hex=lane_tip)],
        message=commit.message,
        base=commit.tree,
    )
    _set(pair.work, MAIN, forged)
    refused = pair.check(pair.staged([MAIN]))
    assert "is not what folding its parents gives" in refused[MAIN]
    _set(pair.work, MAIN, pygit2.Oid(hex=honest))
    pair.accept([MAIN])


def test_a_fold_that_publishes_a_lane_it_does_not_have_as_a_parent_is_refused(
    pair: Pair,
) -> None:
    x64 = submit(pair.work, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    submit(pair.work, "arm64", partial_bytes("arm64", "3.13.1"), env={})
    pair.accept(["refs/partials/x64", "refs/partials/arm64"])
    honest = fold_store(pair.work).commit
    assert honest is not None
    commit = pair.work.repo[honest].peel(pygit2.Commit)
    dropped = _commit(
        pair.work.repo, {}, [commit.parent_ids[0], pygit2.Oid(hex=x64)], commit.message, commit.tree
    )
    _set(pair.work, MAIN, dropped)
    assert "is not what folding its parents gives" in pair.check(pair.staged([MAIN]))[MAIN]


def test_a_fold_whose_parents_are_not_what_it_consumed_is_refused(pair: Pair) -> None:
    one = submit(pair.work, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    two = submit(pair.work, "x64", partial_bytes("x64", "3.13.2"), env={}).commit
    pair.accept(["refs/partials/x64"])
    honest = fold_store(pair.work).commit
    assert honest is not None
    commit = pair.work.repo[honest].peel(pygit2.Commit)
    extra = _commit(
        pair.work.repo,
        {},
        [commit.parent_ids[0], pygit2.Oid(hex=one), pygit2.Oid(hex=two)],
        commit.message,
        commit.tree,
    )
    _set(pair.work, MAIN, extra)
    refused = pair.check(pair.staged([MAIN]))
    assert "parents are not what folding them gives" in refused[MAIN]
    assert f"x64 up to {two[:12]}" in refused[MAIN]


def test_a_file_refold_does_not_write_on_main_is_refused(pair: Pair) -> None:
    tip, tree = _published_tree(pair.work)
    extra = _commit(pair.work.repo, {"README.md": b"hello\n"}, [tip], base=tree)
    _set(pair.work, MAIN, extra)
    assert "README.md" in pair.check(pair.staged([MAIN]))[MAIN]


def test_a_config_change_that_does_not_decode_is_refused(pair: Pair) -> None:
    tip, tree = _published_tree(pair.work)
    broken = _commit(pair.work.repo, {CONFIG_PATH: b'{"indent": "wide"}'}, [tip], base=tree)
    _set(pair.work, MAIN, broken)
    assert "does not decode" in pair.check(pair.staged([MAIN]))[MAIN]


def test_a_provenance_edit_is_refused(pair: Pair) -> None:
    tip, tree = _published_tree(pair.work)
    edited = _commit(pair.work.repo, {PROVENANCE_PATH: b'{"files": {}}\n'}, [tip], base=tree)
    _set(pair.work, MAIN, edited)
    assert PROVENANCE_PATH in pair.check(pair.staged([MAIN]))[MAIN]


def test_the_public_ref_only_moves_forward_and_is_never_deleted(pair: Pair) -> None:
    root = ref_target(pair.server.repo, MAIN)
    assert root is not None
    submit(pair.work, "x64", partial_bytes("x64", "3.13.1"), env={})
    fold_store(pair.work)
    pair.accept(["refs/partials/x64", MAIN])
    tip = ref_target(pair.server.repo, MAIN)
    assert "not a fast-forward" in pair.check([RefUpdate(str(tip), str(root), MAIN)])[MAIN]
    assert "never deleted" in pair.check([RefUpdate(str(tip), ZERO, MAIN)])[MAIN]


def test_a_first_commit_that_is_not_what_refold_init_writes_is_refused(tmp_path: Path) -> None:
    server = pygit2.init_repository(str(tmp_path / "server.git"), bare=True)
    work = init_store(tmp_path / "work.git")
    _, tree = _published_tree(work)
    unordered = json.dumps(partial_doc("x64", ["3.12.0", "3.13.0"])["releases"], indent=2)
    root = _commit(work.repo, {MANIFEST: unordered.encode() + b"\n"}, [], base=tree)
    copy_objects(work.repo, server, root)
    refused = check_push(server, [RefUpdate(ZERO, str(root), MAIN)], MAIN)
    assert refused and "what refold init writes" in refused[0].reason


# --- input and installation -------------------------------------------------------------


def test_malformed_hook_input_is_a_usage_error() -> None:
    assert parse_updates(f"{ZERO} {'a' * 40} refs/partials/x64\n\n") == [
        RefUpdate(ZERO, "a" * 40, "refs/partials/x64")
    ]
    with pytest.raises(UsageError, match="line 1"):
        parse_updates("not a ref update\n")


def test_install_writes_an_executable_hook_that_runs_this_python(tmp_path: Path) -> None:
    init_store(tmp_path / "store.git", branch="release")
    hook = install_hook(tmp_path / "store.git")
    text = hook.read_text()
    assert hook == tmp_path / "store.git" / "hooks" / "pre-receive"
    assert hook.stat().st_mode & stat.S_IXUSR
    assert sys.executable in text and "-m refold hook run" in text and HOOK_MARKER in text
    assert str(open_repository(str(tmp_path / "store.git")).config["refold.branch"]) == "release"
    # reinstalling refold's own hook is fine; somebody else's needs --force
    install_hook(tmp_path / "store.git")
    hook.write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(UsageError, match="not written by refold"):
        install_hook(tmp_path / "store.git")
    install_hook(tmp_path / "store.git", force=True)
    assert HOOK_MARKER in hook.read_text()


def test_install_refuses_a_repository_that_is_not_bare(tmp_path: Path) -> None:
    pygit2.init_repository(str(tmp_path / "checkout"), bare=False)
    with pytest.raises(UsageError, match="not a bare repository"):
        install_hook(tmp_path / "checkout")
    with pytest.raises(UsageError, match="not a git repository"):
        install_hook(tmp_path / "nothing")


# --- the same refusals, pushed for real to git daemon -----------------------------------


def _push(cache: Path, url: str, *refspecs: str, force: bool = False) -> tuple[int, str]:
    args = ["push", "--porcelain", *(["--force"] if force else []), url, *refspecs]
    result = git(cache, *args)
    return result.returncode, result.stdout + result.stderr


def _served_refs(served: Served) -> dict[str, str]:
    return all_refs(open_repository(str(served.path("store.git"))))


@pytest.mark.parametrize(
    "case", ["force-push-lane", "delete-lane", "wrong-arch", "sbom", "hand-edited-main"]
)
def test_a_bad_push_to_the_server_is_refused_with_its_reason_and_changes_no_ref(
    git_server: Served, case: str
) -> None:
    url = served_store(git_server)
    store = open_store(url)
    first = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    tip = submit(store, "x64", partial_bytes("x64", "3.13.2"), env={}).commit
    assert fold_store(store).commit is not None
    repo = store.repo
    cache = Path(repo.path)
    before = _served_refs(git_server)
    lane = "refs/partials/x64"
    force = False
    if case == "force-push-lane":
        spec = f"{_commit(repo, {PARTIAL_FILE: partial_bytes('x64', '3.13.9')}, [first])}:{lane}"
        force, ref, reason = True, lane, "not a fast-forward"
    elif case == "delete-lane":
        spec, ref, reason = f":{lane}", lane, "lanes are never deleted"
    elif case == "wrong-arch":
        spec = f"{_commit(repo, {PARTIAL_FILE: partial_bytes('arm64', '3.13.9')}, [tip])}:{lane}"
        ref, reason = lane, "arch 'arm64' may not be published on lane 'x64'"
    elif case == "sbom":
        spec = f"{_commit(repo, {PARTIAL_FILE: _sbom_partial('x64')}, [tip])}:{lane}"
        ref, reason = lane, "sbom"
    else:
        main_tip, tree = _published_tree(store)
        published = blob_at(repo, repo[main_tip].peel(pygit2.Commit), MANIFEST)
        assert published is not None
        edited = published.replace(b"3.13.2-1", b"3.13.2-9")
        spec = f"{_commit(repo, {MANIFEST: edited}, [main_tip], base=tree)}:{MAIN}"
        ref, reason = MAIN, "hand-edited manifest is refused"
    code, output = _push(cache, url, spec, force=force)
    assert code != 0
    said = [line for line in output.splitlines() if f"refold: rejected {ref}:" in line]
    assert said and reason.lower() in said[0].lower(), output
    assert _served_refs(git_server) == before


def test_a_refusal_reaches_a_refold_client_as_an_error_naming_the_reason(
    git_server: Served,
) -> None:
    url = served_store(git_server)
    store = open_store(url)
    tip = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    bad = _commit(store.repo, {PARTIAL_FILE: partial_bytes("arm64", "3.13.2")}, [tip])
    before = _served_refs(git_server)
    with pytest.raises(PushRefused) as caught:
        update_ref(store, "refs/partials/x64", pygit2.Oid(hex=tip), bad, "pushed around refold")
    assert "arch 'arm64' may not be published on lane 'x64'" in caught.value.message
    assert caught.value.location == "refs/partials/x64"
    assert _served_refs(git_server) == before
    assert all_refs(store.repo)["refs/partials/x64"] == tip
