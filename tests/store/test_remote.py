"""Remote stores: the same guarantees over git://, file:// and https as on a local path."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pygit2
import pytest

from refold.manifests.errors import UsageError
from refold.store.compact import MAX_FOLD_RETRIES, fold_store
from refold.store.hook import ZERO, RefUpdate, check_push
from refold.store.init import init_store
from refold.store.refs import compare_and_swap
from refold.store.remote import (
    RemoteError,
    cache_dir,
    is_url,
    parse_remote,
)
from refold.store.repo import Store, all_refs, open_repository, open_store, read_published
from refold.store.submit import MAX_SUBMIT_RETRIES, submit
from refold.store.transport import refresh

from .daemon import (
    Served,
    empty_repository,
    git_server,
    refusing_server,
    served_store,
    start_role,
)
from .helpers import assert_fsck_clean, first_parent_chain, newly_reachable, partial_bytes

__all__ = ["git_server", "refusing_server"]

LANES = ("x64", "arm64", "ppc64le", "s390x")


def _server_refs(served: Served, name: str = "store.git") -> dict[str, str]:
    return all_refs(open_repository(str(served.path(name))))


def _versions(manifest_bytes: bytes) -> dict[str, set[str]]:
    return {r["version"]: {f["filename"] for f in r["files"]} for r in json.loads(manifest_bytes)}


# --- addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "remote"),
    [
        ("git://127.0.0.1:9418/store.git", True),
        ("file:///srv/store.git", True),
        ("ssh://git@example.com/org/store.git", True),
        ("https://github.com/org/store.git", True),
        ("git@github.com:org/store.git", True),
        ("store.git", False),
        ("./relative/store.git", False),
        ("/abs/path/store.git", False),
        ("C:/stores/store.git", False),
    ],
)
def test_a_location_is_a_url_or_a_path(location: str, remote: bool) -> None:
    assert is_url(location) is remote


def test_a_url_carrying_a_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(UsageError) as caught:
        parse_remote("https://someone:s3cr3t-token@example.com/org/store.git", env={})
    error = caught.value
    assert "s3cr3t" not in str(error) and "REFOLD_TOKEN" in error.hint
    assert error.location == "--store"


def test_a_user_name_in_an_https_url_goes_to_the_callback_not_to_libgit2() -> None:
    remote = parse_remote("https://builder@example.com/org/store.git", env={"REFOLD_TOKEN": "tttt"})
    assert remote.url == "https://example.com/org/store.git"
    assert remote.userpass() == ("builder", "tttt")


def test_refold_token_wins_over_github_token_which_logs_in_as_x_access_token() -> None:
    url = "https://example.com/org/store.git"
    both = parse_remote(url, env={"REFOLD_TOKEN": "rrrr", "GITHUB_TOKEN": "gggg"})
    assert both.userpass() == ("x-access-token", "rrrr")
    github = parse_remote(url, env={"GITHUB_TOKEN": "gggg"})
    assert github.userpass() == ("x-access-token", "gggg")
    assert parse_remote(url, env={}).userpass() is None


def test_a_token_is_never_sent_over_plain_http_to_a_host_that_is_not_loopback() -> None:
    remote = parse_remote("http://example.com/org/store.git", env={"REFOLD_TOKEN": "rrrr"})
    with pytest.raises(Exception, match="only over https"):
        remote.userpass()
    loopback = parse_remote("http://127.0.0.1:8080/store.git", env={"REFOLD_TOKEN": "rrrr"})
    assert loopback.userpass() == ("x-access-token", "rrrr")


def test_the_cache_lives_under_xdg_cache_home_keyed_by_the_url(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    one = cache_dir("git://127.0.0.1:1/a.git", env)
    assert one.parent == tmp_path / "xdg" / "refold"
    assert one == cache_dir("git://127.0.0.1:1/a.git", env)
    assert one != cache_dir("git://127.0.0.1:1/b.git", env)
    with_token = parse_remote("https://example.com/a.git", env={**env, "REFOLD_TOKEN": "tttt"})
    assert with_token.cache == parse_remote("https://example.com/a.git", env=env).cache


@pytest.mark.parametrize(
    "location", ["ftp://example.com/store.git", "git:///no-host.git", "https://[::1/x"]
)
def test_an_unusable_url_is_a_usage_error(location: str) -> None:
    with pytest.raises(UsageError):
        open_store(location)


# --- submit and fold over the network ----------------------------------------------------


def test_init_submit_and_fold_over_git_publish_on_the_server(git_server: Served) -> None:
    url = empty_repository(git_server, "store.git")
    store = init_store(url)
    assert store.remote is not None and store.public_ref == "refs/heads/main"
    x64 = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    arm = submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={})
    outcome = fold_store(store)
    assert outcome.commit is not None and outcome.retries == 0
    server = _server_refs(git_server)
    assert server == {
        "refs/heads/main": outcome.commit,
        "refs/partials/arm64": arm.commit,
        "refs/partials/x64": x64.commit,
    }
    # the cache mirrors the server, and reading through a fresh open agrees
    assert all_refs(store.repo) == server
    published = read_published(open_store(url))
    assert _versions(published.manifest_bytes) == {
        "3.13.1": {"python-3.13.1-linux-24.04-arm64.tar.gz", "python-3.13.1-linux-24.04-x64.tar.gz"}
    }
    assert_fsck_clean(git_server.path("store.git"))


def test_init_refuses_a_remote_repository_that_already_has_refs(git_server: Served) -> None:
    url = served_store(git_server)
    before = _server_refs(git_server)
    with pytest.raises(UsageError, match="already has refs"):
        init_store(url)
    assert _server_refs(git_server) == before


def test_opening_an_empty_remote_repository_says_to_init_it(git_server: Served) -> None:
    url = empty_repository(git_server)
    with pytest.raises(UsageError, match="not a refold store yet") as caught:
        open_store(url)
    assert "refold init" in caught.value.hint


def test_submit_and_fold_over_file_url_move_the_target_repository(tmp_path: Path) -> None:
    target = tmp_path / "store.git"
    init_store(target)
    url = target.resolve().as_uri()
    store = open_store(url)
    assert store.remote is not None and Path(store.repo.path).resolve() != target.resolve()
    first = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    second = submit(store, "x64", partial_bytes("x64", "3.13.2"), env={})
    outcome = fold_store(store)
    assert outcome.commit is not None
    direct = open_store(target)
    assert all_refs(direct.repo) == {
        "refs/heads/main": outcome.commit,
        "refs/partials/x64": second.commit,
    }
    assert direct.repo[second.commit].peel(pygit2.Commit).parent_ids == [
        pygit2.Oid(hex=first.commit)
    ]
    assert set(_versions(read_published(direct).manifest_bytes)) == {"3.13.1", "3.13.2"}
    assert_fsck_clean(target)


def test_config_import_and_rebuild_publish_on_the_server_not_only_in_the_cache(
    tmp_path: Path,
) -> None:
    from refold.manifests.model import decode_manifest
    from refold.store.config import set_config
    from refold.store.imports import import_manifest
    from refold.store.rebuild import rebuild_store

    target = tmp_path / "store.git"
    init_store(target)
    store = open_store(target.resolve().as_uri())
    changed = set_config(store, "indent", "4")
    assert all_refs(open_repository(str(target)))["refs/heads/main"] == changed.commit
    seed = init_store(tmp_path / "seed.git")
    submit(seed, "x64", partial_bytes("x64", "3.13.1"), env={})
    fold_store(seed)
    manifest_bytes = read_published(seed).manifest_bytes
    imported = import_manifest(
        open_store(target.resolve().as_uri()), manifest_bytes, location="m.json"
    )
    server = read_published(open_store(target))
    assert server.commit == imported.commit
    assert decode_manifest(server.manifest_bytes) == decode_manifest(manifest_bytes)
    assert rebuild_store(open_store(target.resolve().as_uri())).commit is None
    assert_fsck_clean(target)


def test_init_over_file_url_creates_the_store_in_an_empty_repository(tmp_path: Path) -> None:
    target = tmp_path / "store.git"
    pygit2.init_repository(str(target), bare=True)
    store = init_store(target.as_uri(), branch="release")
    assert store.public_ref == "refs/heads/release"
    assert list(all_refs(open_repository(str(target)))) == ["refs/heads/release"]
    assert open_store(target.as_uri()).public_ref == "refs/heads/release"


def test_a_lost_race_is_retried_on_the_new_tip_and_counted(
    git_server: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = served_store(git_server)
    submit(open_store(url), "x64", partial_bytes("x64", "3.13.0"), env={})

    def elsewhere() -> Store:
        """The store as another machine (its own cache) reads it right now."""
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-machine"))
        try:
            return open_store(url)
        finally:
            monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    late = elsewhere()
    here = open_store(url)
    winner = submit(here, "x64", partial_bytes("x64", "3.13.1"), env={})
    loser = submit(late, "x64", partial_bytes("x64", "3.13.2"), env={})
    assert loser.retries == 1
    server = open_repository(str(git_server.path("store.git")))
    assert server[loser.commit].peel(pygit2.Commit).parent_ids == [pygit2.Oid(hex=winner.commit)]

    late_compactor = elsewhere()
    first = fold_store(here)
    assert first.commit is not None and first.report.consumed == {"x64": loser.commit}
    arm = submit(here, "arm64", partial_bytes("arm64", "3.13.1"), env={})
    second = fold_store(late_compactor)
    assert second.retries == 1 and second.commit is not None
    assert second.previous == first.commit and second.report.consumed == {"arm64": arm.commit}
    assert _server_refs(git_server)["refs/heads/main"] == second.commit


def test_a_refresh_mirrors_the_remote_exactly_even_backwards(git_server: Served) -> None:
    url = served_store(git_server, hook=False)
    store = open_store(url)
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    keep = submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={}).commit
    moved = submit(store, "arm64", partial_bytes("arm64", "3.13.2"), env={}).commit
    server = open_repository(str(git_server.path("store.git")))
    # an unguarded server (no hook): someone deletes a lane and rewinds another
    server.references["refs/partials/x64"].delete()
    server.references["refs/partials/arm64"].set_target(pygit2.Oid(hex=keep))
    assert store.repo.references["refs/partials/arm64"].target == pygit2.Oid(hex=moved)
    refresh(store)
    assert all_refs(store.repo) == all_refs(server)


def test_a_ref_moved_in_the_cache_instead_of_on_the_server_is_refused(git_server: Served) -> None:
    url = served_store(git_server)
    store = open_store(url)
    tip = store.repo.references[store.public_ref].target
    lane = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    before, server_before = all_refs(store.repo), _server_refs(git_server)
    with pytest.raises(UsageError, match="cannot publish to the remote store"):
        compare_and_swap(store.repo, store.public_ref, tip, pygit2.Oid(hex=lane), "by hand")
    assert all_refs(store.repo) == before and _server_refs(git_server) == server_before


# --- network errors ------------------------------------------------------------------------


def test_a_closed_port_is_reported_as_unreachable(tmp_path: Path) -> None:
    with pytest.raises(RemoteError, match="cannot reach 127.0.0.1") as caught:
        open_store("git://127.0.0.1:1/store.git")
    assert caught.value.location == "git://127.0.0.1:1/store.git"


def test_a_missing_repository_on_the_server_is_reported_as_such(git_server: Served) -> None:
    with pytest.raises(RemoteError, match="no repository at") as caught:
        open_store(git_server.url("nothing-here.git"))
    assert "refold init" in caught.value.hint


def test_a_missing_file_url_repository_is_reported_as_such(tmp_path: Path) -> None:
    with pytest.raises(RemoteError, match="no repository at"):
        open_store((tmp_path / "absent.git").as_uri())


# --- credentials -------------------------------------------------------------------------


TOKEN = "rf-T0KEN-must-not-leak-8c1e"


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.parametrize("variable", ["REFOLD_TOKEN", "GITHUB_TOKEN"])
def test_a_refused_token_is_used_once_and_appears_in_no_error_and_no_cache_file(
    refusing_server: tuple[str, list[str | None]],
    variable: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    url, seen = refusing_server
    monkeypatch.setenv(variable, TOKEN)
    with pytest.raises(RemoteError, match="refused the credentials") as caught:
        open_store(url)
    error = caught.value
    assert TOKEN not in str(error) and TOKEN not in error.message + error.location + error.hint
    assert "REFOLD_TOKEN" in error.hint
    # the token went to the server once, through the callback, as x-access-token
    sent = [h for h in seen if h]
    assert len(sent) == 1 and all(
        base64.b64decode(h.split()[1]).decode() == f"x-access-token:{TOKEN}" for h in sent
    )
    assert _files_containing(tmp_path / "cache", TOKEN.encode()) == []
    assert list((tmp_path / "cache" / "refold").iterdir())


def test_a_server_that_asks_for_credentials_without_a_token_set_says_which_to_set(
    refusing_server: tuple[str, list[str | None]],
) -> None:
    url, seen = refusing_server
    with pytest.raises(RemoteError, match="no token is set") as caught:
        open_store(url)
    assert "REFOLD_TOKEN" in caught.value.hint and not any(seen)


# --- many machines at once ----------------------------------------------------------------


def _all_lane_commits(repo: pygit2.Repository) -> set[str]:
    out: set[str] = set()
    for ref in repo.references.iterator():
        if ref.name.startswith("refs/partials/"):
            out |= {str(c.id) for c in repo.walk(ref.target, pygit2.enums.SortMode.NONE)}
    return out


@pytest.mark.parametrize(
    ("writers", "count"),
    [(8, 3), pytest.param(12, 10, marks=pytest.mark.slow)],
    ids=["ci", "long"],
)
def test_writers_and_compactors_on_many_machines_fold_every_partial_exactly_once(
    git_server: Served, tmp_path: Path, writers: int, count: int
) -> None:
    url = served_store(git_server)
    stop = tmp_path / "stop"
    compactors = [start_role("compactor", url, str(stop), "0.3") for _ in range(3)]
    jobs = [
        start_role("writer", url, LANES[i % len(LANES)], str(i), str(count), "0.05")
        for i in range(writers)
    ]
    outputs: list[str] = []
    fold_records: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + 300
        for job in jobs:
            out, err = job.communicate(timeout=max(1, deadline - time.monotonic()))
            assert job.returncode == 0, f"writer failed:\n{err}\n{git_server.log_text()}"
            outputs.append(out)
        stop.touch()
        for compactor in compactors:
            out, err = compactor.communicate(timeout=120)
            assert compactor.returncode == 0, f"compactor failed:\n{err}"
            fold_records += [json.loads(line) for line in out.splitlines() if line.strip()]
    finally:
        stop.touch()
        for process in jobs + compactors:
            if process.poll() is None:
                process.kill()
                process.communicate()
    last = fold_store(open_store(url))

    submitted = [json.loads(line) for out in outputs for line in out.splitlines() if line.strip()]
    assert len(submitted) == writers * count and not any(r["noop"] for r in submitted)
    assert all(0 <= int(r["retries"]) <= MAX_SUBMIT_RETRIES for r in submitted)
    assert all(0 <= int(r["retries"]) <= MAX_FOLD_RETRIES for r in fold_records)

    path = git_server.path("store.git")
    server = open_repository(str(path))
    public = server.references["refs/heads/main"].target
    folds = [c for c in first_parent_chain(server, str(public)) if len(c.parents) > 1]
    assert len(folds) == len(fold_records) + (1 if last.commit else 0)
    seen: set[str] = set()
    for fold_commit in folds:
        batch = newly_reachable(server, fold_commit)
        assert not (batch & seen), "a partial was folded twice"
        seen |= batch
    lane_commits = _all_lane_commits(server)
    assert seen == lane_commits and {r["commit"] for r in submitted} <= seen
    # every publication on the server is exactly the fold of its parents, from the first
    assert (
        check_push(server, [RefUpdate(ZERO, str(public), "refs/heads/main")], "refs/heads/main")
        == []
    )
    versions = _versions(read_published(open_store(path)).manifest_bytes)
    assert len(versions) == writers * count
    assert_fsck_clean(path)
    total = sum(int(r["retries"]) for r in submitted) + sum(int(r["retries"]) for r in fold_records)
    print(f"{len(submitted)} submits, {len(folds)} folds, {total} retries in all")
