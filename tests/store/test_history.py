"""refold.store.history and refold.store.blame: log, blame and diff on a long history.

The long history (2,000+ partial commits over 6 lanes, 200 folds) is built once per test
session through the library (``submit`` and ``fold_store``) and shared by the modules
that use it (those that write to it put every ref back); ``build_long_history`` also records, independently of the code under test,
what every lane submitted, so the expectations here come from the test's own model and
plain git walks, never from the functions being tested.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pygit2
import pytest

from refold.manifests.diff import ADDED, CHANGED, REMOVED
from refold.manifests.errors import UsageError
from refold.manifests.model import Manifest
from refold.store.blame import blame
from refold.store.compact import fold_store
from refold.store.history import (
    FOLD,
    HELD_BACK,
    INIT,
    PENDING,
    PUBLISHED,
    REJECTED,
    diff_revisions,
    lane_log,
    publication_log,
)
from refold.store.init import init_store
from refold.store.repo import Store, all_refs, open_store, read_published
from refold.store.submit import submit

from .helpers import (
    first_parent_chain,
    manifest_bytes,
    newly_reachable,
    partial_doc,
    python_file,
    python_release,
    write_lane_commit,
)

LANES = ("arm64", "arm64-freethreaded", "ppc64le", "s390x", "x64", "x64-freethreaded")
PLATFORMS = (("linux", "22.04"), ("linux", "24.04"), ("darwin", None), ("win32", None))
VERSIONS = tuple(f"3.{minor}.{patch}" for minor in range(9, 15) for patch in range(6)) + (
    "3.15.0-alpha.1",
    "3.15.0-beta.2",
)
FOLDS = 200
PER_FOLD = 10
BAD_DOCUMENT_FOLD = 50
"""A raw lane commit that is not a partial document lands on s390x before this fold..."""
BAD_DOCUMENT_REJECTED = 52
"""... and an operator rejects it in this one, so the lane moves on."""
BAD_POLICY_FOLD = 120
BAD_POLICY_REJECTED = 121


@dataclass
class Submitted:
    commit: str
    lane: str
    run_id: str
    source: str
    doc: dict[str, Any]
    raw: bool = False


@dataclass
class LongHistory:
    path: Path
    submitted: list[Submitted]
    """Every lane commit, in the order the jobs wrote them."""
    folds: list[str]
    """Public commits after the first one, oldest first."""
    rejected: dict[str, str]
    pending: list[str]
    """x64's trailing partials, submitted after the last fold."""
    held: list[str]
    """arm64's trailing partials: a raw wrong-arch partial and one behind it."""
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def store(self) -> Store:
        return open_store(self.path)

    def by_commit(self) -> dict[str, Submitted]:
        return {s.commit: s for s in self.submitted}


def _doc(lane: str, version: str, platforms: list[tuple[str, str | None]], n: int) -> dict[str, Any]:
    files = []
    for platform, platform_version in platforms:
        entry = python_file(version, lane, platform, platform_version)
        entry["download_url"] = entry["download_url"].replace(f"/{version}-1/", f"/{version}-{n}/")
        files.append(entry)
    return {"releases": [python_release(version, files)], "retract": []}


def build_long_history(path: Path, *, folds: int = FOLDS, per_fold: int = PER_FOLD) -> LongHistory:
    """A store with ``folds * per_fold`` submitted partials (plus a few raw lane commits)
    over six lanes: adds, replacements, single and whole-release retractions, a rejected
    invalid document, a rejected wrong-arch partial, and pending and held-back work left
    at the end."""
    started = time.perf_counter()
    store = init_store(path)
    rng = random.Random(1729)
    submitted: list[Submitted] = []
    held_by_lane: dict[str, set[tuple[str, str]]] = {lane: set() for lane in LANES}
    fold_commits: list[str] = []
    rejected: dict[str, str] = {}
    n = 0

    def job(lane: str) -> None:
        nonlocal n
        n += 1
        mine = held_by_lane[lane]
        roll = rng.random()
        if roll < 0.12 and mine:
            version, filename = rng.choice(sorted(mine))
            doc: dict[str, Any] = {"releases": [], "retract": [{"version": version, "filename": filename}]}
            mine.discard((version, filename))
        elif roll < 0.16 and mine:
            version = rng.choice(sorted({v for v, _ in mine}))
            doc = {"releases": [], "retract": [{"version": version}]}
            mine.difference_update({key for key in mine if key[0] == version})
        else:
            version = rng.choice(VERSIONS)
            platforms = rng.sample(PLATFORMS, rng.choice((1, 1, 2)))
            doc = _doc(lane, version, platforms, n)
            mine.update((version, f["filename"]) for f in doc["releases"][0]["files"])
        env = {"GITHUB_RUN_ID": str(5000 + n), "GITHUB_SHA": f"{n:040x}", "GITHUB_REPOSITORY": "o/r"}
        result = submit(store, lane, json.dumps(doc).encode(), env=env)
        assert not result.noop
        submitted.append(Submitted(result.commit, lane, env["GITHUB_RUN_ID"], env["GITHUB_SHA"], doc))

    def raw(lane: str, data: bytes) -> str:
        commit = str(write_lane_commit(store.repo, lane, {"partial.json": data}))
        submitted.append(Submitted(commit, lane, "", "", {}, raw=True))
        return commit

    bad_document = bad_policy = ""
    for index in range(folds):
        for k in range(per_fold):
            if index == BAD_DOCUMENT_FOLD and k == per_fold // 2:
                bad_document = raw("s390x", b'{"releases": "not a list"}\n')
            if index == BAD_POLICY_FOLD and k == per_fold // 2:
                wrong = json.dumps(partial_doc("x64", ["3.12.1"]), indent=2).encode()
                bad_policy = raw("ppc64le", wrong)
            job(LANES[(index * per_fold + k) % len(LANES)])
        rejections = {}
        if index == BAD_DOCUMENT_REJECTED and bad_document:
            rejections[bad_document] = "not a partial document (pushed around refold)"
        if index == BAD_POLICY_REJECTED and bad_policy:
            rejections[bad_policy] = "x64 files on the ppc64le lane"
        rejected.update(rejections)
        outcome = fold_store(store, rejections=rejections)
        assert outcome.commit is not None
        fold_commits.append(outcome.commit)
    for _ in range(3):
        job("x64")
    pending = [s.commit for s in submitted[-3:]]
    held = [raw("arm64", json.dumps(partial_doc("x64", ["3.13.1"])).encode())]
    job("arm64")
    held.append(submitted[-1].commit)
    return LongHistory(
        path=path,
        submitted=submitted,
        folds=fold_commits,
        rejected=rejected,
        pending=pending,
        held=held,
        seconds=time.perf_counter() - started,
    )


_BUILT: dict[str, LongHistory] = {}


def long_history(factory: pytest.TempPathFactory) -> LongHistory:
    """The session's long history, built on first use and shared by every module that
    needs it: a test that writes to it must put its refs back (``restoring_refs``)."""
    if "base" not in _BUILT:
        _BUILT["base"] = build_long_history(factory.mktemp("long-history") / "store.git")
    return _BUILT["base"]


@contextlib.contextmanager
def restoring_refs(store: Store) -> Iterator[Store]:
    """Every ref put back afterwards, pass or fail. Objects a test wrote stay behind,
    unreachable, where nothing that reads from refs (all of refold) can see them."""
    repo = store.repo
    saved = all_refs(repo)
    try:
        yield store
    finally:
        for name in set(all_refs(repo)) - set(saved):
            repo.references.delete(name)
        for name, target in saved.items():
            repo.create_reference_direct(name, pygit2.Oid(hex=target), True)
    assert all_refs(repo) == saved


def publisher_map(repo: pygit2.Repository, folds: list[str]) -> dict[str, str]:
    """Lane commit -> the fold that made it reachable, by plain reachability walks."""
    out: dict[str, str] = {}
    for fold_id in folds:
        commit = repo[fold_id].peel(pygit2.Commit)
        for partial in newly_reachable(repo, commit):
            out.setdefault(partial, fold_id)
    return out


def model_owners(history: LongHistory) -> dict[tuple[str, str], Submitted]:
    """Who should own each published entry: each lane's folded partials applied in order
    (lanes write disjoint entries, so lanes do not interact)."""
    unpublished = set(history.pending) | set(history.held) | set(history.rejected)
    owners: dict[tuple[str, str], Submitted] = {}
    for item in history.submitted:
        if item.commit in unpublished or item.raw:
            continue
        for retraction in item.doc["retract"]:
            if "filename" in retraction:
                owners.pop((retraction["version"], retraction["filename"]), None)
            else:
                for key in [k for k, o in owners.items() if k[0] == retraction["version"] and o.lane == item.lane]:
                    del owners[key]
        for release in item.doc["releases"]:
            for file in release["files"]:
                owners[(release["version"], file["filename"])] = item
    return owners


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> LongHistory:
    return long_history(tmp_path_factory)


@pytest.fixture(scope="module")
def publishers(history: LongHistory) -> dict[str, str]:
    return publisher_map(history.store().repo, history.folds)


def test_the_long_history_has_the_size_the_issue_asks_for(history: LongHistory) -> None:
    store = history.store()
    chain = first_parent_chain(store.repo, all_refs(store.repo)[store.public_ref])
    assert len(chain) == FOLDS + 1
    assert len(history.submitted) >= 2000
    assert {s.lane for s in history.submitted} == set(LANES)
    assert [str(c.id) for c in reversed(chain[:-1])] == history.folds


def test_blame_names_the_lane_commit_build_and_fold_of_every_published_file(
    history: LongHistory, publishers: dict[str, str]
) -> None:
    store = history.store()
    published = read_published(store)
    owners = model_owners(history)
    assert {(r.version, f.filename) for r in published.manifest for f in r.files} == set(owners)
    checked = 0
    for release in published.manifest:
        report = blame(store, release.version)
        assert [e.filename for e in report.files] == [f.filename for f in release.files]
        for entry in report.files:
            expected = owners[(release.version, entry.filename)]
            assert (entry.lane, entry.commit) == (expected.lane, expected.commit)
            assert entry.build.run_id == expected.run_id
            assert entry.build.source_commit == expected.source
            assert entry.fold == publishers[expected.commit]
            checked += 1
    assert checked == len(owners) > 100


def test_blame_previous_value_is_the_entry_in_the_manifest_the_fold_started_from(
    history: LongHistory,
) -> None:
    store = history.store()
    replaced = 0
    manifests: dict[str, dict[tuple[str, str], Any]] = {}
    for release in read_published(store).manifest:
        for entry in blame(store, release.version).files:
            assert entry.fold is not None
            parent = str(store.repo[entry.fold].peel(pygit2.Commit).parent_ids[0])
            if parent not in manifests:
                published = read_published(store, parent).manifest
                manifests[parent] = {(r.version, f.filename): f for r in published for f in r.files}
            old = manifests[parent].get((release.version, entry.filename))
            if old is None or old == entry.file:
                assert entry.previous is None and entry.changes == ()
                continue
            replaced += 1
            assert entry.previous == old
            assert [c.field for c in entry.changes] == ["download_url"]
            assert entry.changes[0].old == old.download_url
            assert entry.changes[0].new == entry.file.download_url
    assert replaced > 10


def test_blame_of_one_file_reports_only_that_file(history: LongHistory) -> None:
    store = history.store()
    release = read_published(store).manifest[0]
    target = release.files[-1].filename
    report = blame(store, release.version, target)
    assert [e.filename for e in report.files] == [target]


def test_blame_of_an_unknown_release_or_file_is_a_usage_error_naming_what_exists(
    history: LongHistory,
) -> None:
    store = history.store()
    before = all_refs(store.repo)
    with pytest.raises(UsageError) as unknown:
        blame(store, "3.99.0")
    assert "3.99.0" in unknown.value.message and unknown.value.location == "VERSION"
    release = read_published(store).manifest[0]
    with pytest.raises(UsageError) as missing:
        blame(store, release.version, "python-nope.tar.gz")
    assert release.files[0].filename in missing.value.hint
    assert all_refs(store.repo) == before


def _chain(repo: pygit2.Repository, tip: str) -> list[str]:
    return [str(c.id) for c in first_parent_chain(repo, tip)]


def test_lane_log_lists_the_lane_newest_first_with_each_commits_fold(
    history: LongHistory, publishers: dict[str, str]
) -> None:
    store = history.store()
    lane_chain = _chain(store.repo, all_refs(store.repo)["refs/partials/x64"])
    entries = lane_log(store, "x64", limit=40)
    assert [e.commit for e in entries] == lane_chain[:40]
    by_commit = history.by_commit()
    for entry in entries:
        submitted = by_commit[entry.commit]
        assert entry.build.run_id == submitted.run_id
        assert entry.build.source_commit == submitted.source
        if entry.commit in history.pending:
            assert (entry.status, entry.fold) == (PENDING, None)
        else:
            assert (entry.status, entry.fold) == (PUBLISHED, publishers[entry.commit])
    assert [e.status for e in entries[:3]] == [PENDING] * 3


def _existing_before(
    store: Store, fold_id: str, lane: str, commit: str, by_commit: dict[str, Submitted]
) -> set[tuple[str, str]]:
    """Entries that existed when ``commit`` was applied: the fold's parent manifest plus
    the same lane's earlier partials in that fold's batch."""
    repo = store.repo
    fold_commit = repo[fold_id].peel(pygit2.Commit)
    parent = str(fold_commit.parent_ids[0])
    present = {(r.version, f.filename) for r in read_published(store, parent).manifest for f in r.files}
    consumed = newly_reachable(repo, fold_commit)
    batch = [c for c in reversed(_chain(repo, commit)) if c in consumed]
    for earlier in batch[:-1]:
        doc = by_commit[earlier].doc
        for retraction in doc.get("retract", []):
            if "filename" in retraction:
                present.discard((retraction["version"], retraction["filename"]))
        for release in doc.get("releases", []):
            present.update((release["version"], f["filename"]) for f in release["files"])
    return present


def test_lane_log_tells_added_from_replaced_and_lists_retractions(
    history: LongHistory, publishers: dict[str, str]
) -> None:
    store = history.store()
    by_commit = history.by_commit()
    entries = lane_log(store, "arm64-freethreaded", limit=60)
    seen_replaced = seen_added = seen_retracted = 0
    for entry in entries:
        doc = by_commit[entry.commit].doc
        assert [msgspec.to_builtins(t) for t in entry.retracted] == doc["retract"]
        seen_retracted += bool(entry.retracted)
        files = {(r["version"], f["filename"]) for r in doc["releases"] for f in r["files"]}
        existing = _existing_before(store, publishers[entry.commit], entry.lane, entry.commit, by_commit)
        assert {(r.version, r.filename) for r in entry.replaced} == files & existing
        assert {(r.version, r.filename) for r in entry.added} == files - existing
        seen_added += bool(entry.added)
        seen_replaced += bool(entry.replaced)
    assert seen_added and seen_replaced and seen_retracted


def test_lane_log_shows_rejected_partials_with_the_operators_reason(history: LongHistory) -> None:
    store = history.store()
    entries = lane_log(store, "s390x")
    [bad] = [e for e in entries if e.commit in history.rejected]
    assert bad.status == REJECTED
    assert bad.reason == history.rejected[bad.commit]
    assert bad.fold == history.folds[BAD_DOCUMENT_REJECTED]
    assert bad.error and "releases" in bad.error
    assert len(entries) == sum(1 for s in history.submitted if s.lane == "s390x")


def test_lane_log_shows_the_held_back_partial_with_its_reason_and_what_waits_behind_it(
    history: LongHistory,
) -> None:
    store = history.store()
    newest, blocked = lane_log(store, "arm64", limit=2)
    assert [blocked.commit, newest.commit] == history.held
    assert blocked.status == newest.status == HELD_BACK
    assert blocked.reason.startswith("policy: ") and "arch 'x64'" in blocked.reason
    assert newest.reason.startswith(f"behind {blocked.commit[:12]}")


def test_lane_log_with_version_shows_only_partials_touching_that_release(history: LongHistory) -> None:
    store = history.store()
    entries = lane_log(store, "x64", version="3.12.3")
    by_commit = history.by_commit()
    expected = [
        s.commit
        for s in reversed(history.submitted)
        if s.lane == "x64"
        and any(r["version"] == "3.12.3" for r in s.doc["releases"] + s.doc["retract"])
    ]
    assert [e.commit for e in entries] == expected
    assert all(by_commit[e.commit].lane == "x64" for e in entries)


def test_lane_log_since_stops_at_the_first_older_commit(history: LongHistory) -> None:
    store = history.store()
    everything = lane_log(store, "x64")
    since = everything[len(everything) // 3].time
    recent = lane_log(store, "x64", since=since)
    assert recent and all(e.time >= since for e in recent)
    assert [e.commit for e in recent] == [e.commit for e in everything[: len(recent)]]
    if len(recent) < len(everything):
        assert everything[len(recent)].time < since


def test_lane_log_of_an_unknown_lane_is_a_usage_error_listing_the_lanes(history: LongHistory) -> None:
    store = history.store()
    before = all_refs(store.repo)
    with pytest.raises(UsageError) as error:
        lane_log(store, "riscv64")
    assert "x64-freethreaded" in error.value.hint
    assert all_refs(store.repo) == before


def test_publication_log_follows_first_parents_newest_first_with_what_each_fold_did(
    history: LongHistory,
) -> None:
    store = history.store()
    entries = publication_log(store)
    assert [e.commit for e in entries] == list(reversed(history.folds)) + [entries[-1].commit]
    assert entries[-1].kind == INIT and all(e.kind == FOLD for e in entries[:-1])
    repo = store.repo
    by_commit = history.by_commit()
    for entry in entries[:30]:
        commit = repo[entry.commit].peel(pygit2.Commit)
        lanes = {by_commit[c].lane for c in newly_reachable(repo, commit)}
        assert set(entry.folded) | set(entry.rejected) == lanes
        old = _manifest(store, str(commit.parent_ids[0]))
        new = _manifest(store, entry.commit)
        assert set(entry.added) == set(new) - set(old)
        assert set(entry.removed) == set(old) - set(new)
        assert set(entry.changed) == {v for v in set(old) & set(new) if old[v] != new[v]}
    rejecting = entries[len(entries) - 2 - BAD_DOCUMENT_REJECTED]
    assert rejecting.commit == history.folds[BAD_DOCUMENT_REJECTED]
    bad = next(c for c in history.rejected if by_commit[c].lane == "s390x")
    assert rejecting.rejected == {"s390x": [bad]}


def test_publication_log_limit_since_and_version_filter(history: LongHistory) -> None:
    store = history.store()
    assert len(publication_log(store, limit=5)) == 5
    assert publication_log(store, since=2**40) == []
    touching = publication_log(store, version="3.15.0-alpha.1", limit=10)
    assert touching
    for entry in touching:
        old = _manifest(store, str(store.repo[entry.commit].peel(pygit2.Commit).parent_ids[0]))
        new = _manifest(store, entry.commit)
        assert old.get("3.15.0-alpha.1") != new.get("3.15.0-alpha.1")


def _manifest(store: Store, rev: str) -> dict[str, Any]:
    return {r.version: msgspec.to_builtins(r) for r in read_published(store, rev).manifest}


def _pairs(folds: list[str]) -> Iterator[tuple[str, str]]:
    rng = random.Random(7)
    yield folds[0], folds[-1]
    yield folds[-2], folds[-1]
    for _ in range(12):
        a, b = sorted(rng.sample(range(len(folds)), 2))
        yield folds[a], folds[b]


def _independent_diff(old: Manifest, new: Manifest) -> dict[tuple[str, str], Any]:
    """(version, filename or '') -> change, from plain dict comparisons of the manifests."""
    out: dict[tuple[str, str], Any] = {}
    before = {r.version: msgspec.to_builtins(r) for r in old}
    after = {r.version: msgspec.to_builtins(r) for r in new}
    for version in before.keys() | after.keys():
        if version not in after:
            out[(version, "")] = REMOVED
        elif version not in before:
            out[(version, "")] = ADDED
        elif before[version] != after[version]:
            was = {f["filename"]: f for f in before[version]["files"]}
            now = {f["filename"]: f for f in after[version]["files"]}
            for name in was.keys() | now.keys():
                if name not in now:
                    out[(version, name)] = REMOVED
                elif name not in was:
                    out[(version, name)] = ADDED
                elif was[name] != now[name]:
                    out[(version, name)] = {
                        k: (was[name].get(k), now[name].get(k))
                        for k in was[name].keys() | now[name].keys()
                        if was[name].get(k) != now[name].get(k)
                    }
            for key in ("stable", "lts", "release_url"):
                if before[version].get(key) != after[version].get(key):
                    out[(version, "." + key)] = (before[version].get(key), after[version].get(key))
    return out


def test_diff_between_two_folds_equals_the_difference_of_their_manifests(history: LongHistory) -> None:
    store = history.store()
    for old, new in _pairs(history.folds):
        result = diff_revisions(store, old, new)
        assert (result.old, result.new) == (old, new)
        got: dict[tuple[str, str], Any] = {}
        for release in result.diff.releases:
            if release.change != CHANGED:
                got[(release.version, "")] = release.change
                continue
            for f in release.fields:
                got[(release.version, "." + f.field)] = (_plain(f.old), _plain(f.new))
            for file in release.files:
                if file.change == CHANGED:
                    got[(release.version, file.filename)] = {
                        c.field: (_plain(c.old), _plain(c.new)) for c in file.fields
                    }
                else:
                    got[(release.version, file.filename)] = file.change
        expected = _independent_diff(read_published(store, old).manifest, read_published(store, new).manifest)
        assert got == expected
        assert got, "the pairs are far enough apart to differ"


def _plain(value: Any) -> Any:
    return None if isinstance(value, msgspec.UnsetType) else value


def test_diff_defaults_to_the_last_publication_against_its_first_parent(history: LongHistory) -> None:
    store = history.store()
    result = diff_revisions(store)
    assert (result.old, result.new) == (history.folds[-2], history.folds[-1])
    first = diff_revisions(store, None, history.folds[0])
    assert first.old is not None and first.new == history.folds[0]


# --- small stores: one behaviour each -------------------------------------------------


def test_blame_of_an_imported_release_says_imported_with_no_partial(tmp_path: Path) -> None:
    data = manifest_bytes([python_release("3.12.1", [python_file("3.12.1", "x64")])])
    store = init_store(tmp_path / "s.git", import_data=data)
    [entry] = blame(store, "3.12.1").files
    assert (entry.lane, entry.commit, entry.imported, entry.fold) == (":import", None, True, None)


def test_blame_and_lane_log_follow_an_entry_replaced_by_a_later_partial(tmp_path: Path) -> None:
    store = init_store(tmp_path / "s.git")
    first = submit(store, "x64", json.dumps(_doc("x64", "3.13.1", [("linux", "24.04")], 1)).encode(), env={})
    fold_one = fold_store(store).commit
    second = submit(store, "x64", json.dumps(_doc("x64", "3.13.1", [("linux", "24.04")], 2)).encode(), env={})
    fold_two = fold_store(store).commit
    [entry] = blame(store, "3.13.1").files
    assert (entry.commit, entry.fold, entry.previous_commit) == (second.commit, fold_two, first.commit)
    assert entry.previous is not None and "/3.13.1-1/" in entry.previous.download_url
    assert [c.field for c in entry.changes] == ["download_url"]
    newest, oldest = lane_log(store, "x64")
    assert (newest.commit, newest.fold, [r.filename for r in newest.replaced]) == (
        second.commit,
        fold_two,
        ["python-3.13.1-linux-24.04-x64.tar.gz"],
    )
    assert (oldest.commit, oldest.fold, oldest.replaced, len(oldest.added)) == (first.commit, fold_one, [], 1)
    old_blame = blame(store, "3.13.1", rev=fold_one)
    assert old_blame.files[0].commit == first.commit and old_blame.files[0].previous is None


def test_lane_log_counts_a_partial_folded_with_earlier_ones_of_its_batch_as_replacing_them(
    tmp_path: Path,
) -> None:
    store = init_store(tmp_path / "s.git")
    for n in (1, 2, 3):
        submit(store, "x64", json.dumps(_doc("x64", "3.13.1", [("linux", "24.04")], n)).encode(), env={})
    fold_store(store)
    third, second, first = lane_log(store, "x64")
    assert first.added and not first.replaced
    assert second.replaced and third.replaced and not second.added
    assert {first.fold, second.fold, third.fold} == {all_refs(store.repo)[store.public_ref]}
    newest_only = lane_log(store, "x64", limit=1)
    assert newest_only[0].replaced == third.replaced
