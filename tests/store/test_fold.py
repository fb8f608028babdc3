"""refold.store.compact and pending: what is pending, what a fold commit is, held-back lanes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pygit2
import pytest

from refold.manifests.errors import ContentionError, PolicyError
from refold.manifests.partial import decode_stored_partial
from refold.store import compact as compact_module
from refold.store.compact import fold_store
from refold.store.init import init_store
from refold.store.pending import pending_partials
from refold.store.repo import (
    PARTIAL_FILE,
    PROVENANCE_PATH,
    Store,
    all_refs,
    blob_at,
    public_tip,
    read_published,
)
from refold.store.submit import submit

from .helpers import (
    assert_fsck_clean,
    first_parent_chain,
    newly_reachable,
    object_count,
    partial_bytes,
    partial_doc,
    python_file,
    run_helper,
    shared_data,
    write_lane_commit,
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return init_store(tmp_path / "store")


def _public(store: Store) -> pygit2.Oid:
    return public_tip(store)


def _pending(store: Store) -> dict[str, list[str]]:
    return {
        lane: [p.commit for p in items]
        for lane, items in pending_partials(store.repo, _public(store)).items()
    }


def _files(store: Store) -> dict[str, set[str]]:
    return {r.version: {f.filename for f in r.files} for r in read_published(store).manifest}


def test_pending_is_what_lane_tips_reach_and_the_public_tip_does_not(store: Store) -> None:
    a = submit(store, "x64", partial_bytes("x64", "3.13.0"), env={}).commit
    b = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    c = submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={}).commit
    assert _pending(store) == {"arm64": [c], "x64": [a, b]}
    fold_store(store)
    assert _pending(store) == {}
    d = submit(store, "x64", partial_bytes("x64", "3.13.2"), env={}).commit
    assert _pending(store) == {"x64": [d]}


def test_fold_commit_has_old_tip_first_then_the_lane_commits_it_folded_up_to(store: Store) -> None:
    old = str(_public(store))
    submit(store, "x64", partial_bytes("x64", "3.13.0"), env={})
    x_last = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    a_last = submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={}).commit
    outcome = fold_store(store)
    assert outcome.commit is not None and outcome.previous == old
    assert all_refs(store.repo)["refs/heads/main"] == outcome.commit
    commit = store.repo[outcome.commit].peel(pygit2.Commit)
    assert [str(p.id) for p in commit.parents] == [old, a_last, x_last]
    assert outcome.report.consumed == {"arm64": a_last, "x64": x_last}
    assert "Refold-Folded: x64 2 " + x_last in commit.message
    assert commit.message.startswith("fold: 3 partial(s) from 2 lane(s)\n")
    assert _files(store) == {
        "3.13.1": {
            "python-3.13.1-linux-24.04-arm64.tar.gz",
            "python-3.13.1-linux-24.04-x64.tar.gz",
        },
        "3.13.0": {"python-3.13.0-linux-24.04-x64.tar.gz"},
    }
    origins = read_published(store).provenance.files["3.13.1"]
    assert origins["python-3.13.1-linux-24.04-x64.tar.gz"].commit == x_last
    assert origins["python-3.13.1-linux-24.04-arm64.tar.gz"].lane == "arm64"
    assert_fsck_clean(store.path)


def test_fold_keeps_the_config_blob_and_changes_only_manifest_and_provenance(store: Store) -> None:
    before = store.repo[_public(store)].peel(pygit2.Commit)
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    after = store.repo[fold_store(store).commit or ""].peel(pygit2.Commit)
    diff = before.tree.diff_to_tree(after.tree)
    assert sorted(d.new_file.path for d in diff.deltas) == [
        PROVENANCE_PATH,
        "versions-manifest.json",
    ]


def test_fold_with_nothing_pending_writes_no_commit(store: Store) -> None:
    before = all_refs(store.repo)
    objects = object_count(store.repo)
    outcome = fold_store(store)
    assert outcome.commit is None and outcome.report.consumed == {}
    assert all_refs(store.repo) == before
    assert object_count(store.repo) == objects
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    fold_store(store)
    before = all_refs(store.repo)
    assert fold_store(store).commit is None
    assert all_refs(store.repo) == before


def test_dry_run_reports_the_fold_but_writes_nothing(store: Store) -> None:
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={})
    before = all_refs(store.repo)
    objects = object_count(store.repo)
    dry = fold_store(store, dry_run=True)
    assert dry.dry_run and dry.commit is None
    assert all_refs(store.repo) == before
    assert object_count(store.repo) == objects
    real = fold_store(store)
    assert real.commit is not None
    assert dry.report.consumed == real.report.consumed
    assert dry.report.changed == real.report.changed == ["3.13.1"]


def test_public_ref_only_fast_forwards_one_fold_commit_at_a_time(store: Store) -> None:
    tips = [str(_public(store))]
    for i in range(5):
        submit(store, "x64", partial_bytes("x64", f"3.13.{i}"), env={})
        if i % 2:
            submit(store, "arm64", partial_bytes("arm64", f"3.13.{i}"), env={})
        outcome = fold_store(store)
        assert outcome.commit is not None and outcome.previous == tips[-1]
        tips.append(outcome.commit)
    chain = [str(c.id) for c in first_parent_chain(store.repo, tips[-1])]
    assert chain == list(reversed(tips))


def _bad_partials() -> dict[str, dict[str, bytes]]:
    valid = partial_bytes("arm64", "3.13.1")
    return {
        "malformed-json": {PARTIAL_FILE: b'{"releases": ['},
        "schema": {PARTIAL_FILE: b'{"releases": [{"version": "3.13.1"}]}'},
        "wrong-arch": {PARTIAL_FILE: partial_bytes("x64", "3.13.1")},
        "sbom": {
            PARTIAL_FILE: json.dumps(
                partial_doc(
                    "arm64",
                    ["3.13.1"],
                    filename="python-3.13.1-linux-24.04-arm64.sbom.json",
                    download_url="https://github.com/actions/python-versions/releases/download/3.13.1-1/python-3.13.1-linux-24.04-arm64.sbom.json",
                )
            ).encode()
        },
        "two-files": {PARTIAL_FILE: valid, "extra.json": b"{}"},
        "wrong-name": {"manifest.json": valid},
        "empty-tree": {},
    }


@pytest.mark.parametrize("case", list(_bad_partials()))
def test_a_bad_partial_pushed_around_refold_holds_back_its_lane_while_others_publish(
    store: Store, case: str
) -> None:
    good_arm = submit(store, "arm64", partial_bytes("arm64", "3.12.8"), env={}).commit
    bad = str(write_lane_commit(store.repo, "arm64", _bad_partials()[case]))
    after_bad = submit(store, "arm64", partial_bytes("arm64", "3.13.2"), env={}).commit
    x64 = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    outcome = fold_store(store)
    assert outcome.commit is not None
    held = outcome.report.held_back["arm64"]
    assert held.commit == bad and held.kind in {"schema", "policy"} and held.reason
    assert held.waiting == 2
    assert outcome.report.consumed == {"arm64": good_arm, "x64": x64}
    assert _files(store) == {
        "3.13.1": {"python-3.13.1-linux-24.04-x64.tar.gz"},
        "3.12.8": {"python-3.12.8-linux-24.04-arm64.tar.gz"},
    }
    commit = store.repo[outcome.commit].peel(pygit2.Commit)
    assert f"Refold-Held-Back: arm64 {bad} {held.kind}: " in commit.message
    # it stays pending, with its reason, in every later fold; nothing is dropped
    before = all_refs(store.repo)
    again = fold_store(store)
    assert again.commit is None and all_refs(store.repo) == before
    assert again.report.held_back["arm64"] == held
    assert _pending(store) == {"arm64": [bad, after_bad]}


def test_a_merge_commit_on_a_lane_holds_back_that_lane(store: Store) -> None:
    first = submit(store, "arm64", partial_bytes("arm64", "3.13.0"), env={}).commit
    fold_store(store)
    side = write_lane_commit(
        store.repo, "arm64", {PARTIAL_FILE: partial_bytes("arm64", "3.13.1")}, parents=[]
    )
    merge = write_lane_commit(
        store.repo,
        "arm64",
        {PARTIAL_FILE: partial_bytes("arm64", "3.13.2")},
        parents=[pygit2.Oid(hex=first), side],
    )
    x64 = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    outcome = fold_store(store)
    held = outcome.report.held_back["arm64"]
    assert held.commit == str(merge) and "merge" in held.reason
    # the side branch's own valid partial is pending on the lane and folds; the merge does not
    assert outcome.report.consumed == {"arm64": str(side), "x64": x64}
    assert "3.13.2" not in _files(store)
    assert _pending(store) == {"arm64": [str(merge)]}


def test_a_lane_ref_at_a_non_commit_holds_back_that_lane_only(store: Store) -> None:
    blob = store.repo.create_blob(b"not a commit")
    store.repo.create_reference_direct("refs/partials/arm64", blob, False)
    x64 = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    outcome = fold_store(store)
    assert outcome.report.consumed == {"x64": x64}
    held = outcome.report.held_back["arm64"]
    assert held.kind == "schema" and "does not point at a commit" in held.reason


def _conflicting_store(store: Store) -> tuple[str, str, str]:
    """x64/linux owns a file; x64/darwin then writes the same file; arm64 is innocent."""
    owner = submit(store, "x64/linux", partial_bytes("x64", "3.13.1"), env={}).commit
    fold_store(store)
    thief = submit(store, "x64/darwin", partial_bytes("x64", "3.13.1", size=1), env={}).commit
    innocent = submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={}).commit
    return owner, thief, innocent


def test_fold_holds_back_lane_on_conflict(store: Store) -> None:
    owner, thief, innocent = _conflicting_store(store)
    outcome = fold_store(store)
    assert outcome.commit is not None
    held = outcome.report.held_back["x64/darwin"]
    assert held.kind == "conflict" and held.commit == thief
    assert "x64/linux" in held.reason
    assert outcome.report.consumed == {"arm64": innocent}
    origins = read_published(store).provenance.files["3.13.1"]
    assert origins["python-3.13.1-linux-24.04-x64.tar.gz"].commit == owner
    assert _pending(store) == {"x64/darwin": [thief]}


def test_strict_fold_publishes_nothing_when_any_lane_is_held_back(store: Store) -> None:
    _conflicting_store(store)
    before = all_refs(store.repo)
    objects = object_count(store.repo)
    outcome = fold_store(store, strict=True)
    assert outcome.commit is None and not outcome.report.published
    assert "x64/darwin" in outcome.report.held_back
    assert all_refs(store.repo) == before
    assert object_count(store.repo) == objects
    assert fold_store(store).commit is not None


def test_strict_fold_publishes_everything_when_nothing_is_held_back(store: Store) -> None:
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={})
    outcome = fold_store(store, strict=True)
    assert outcome.commit is not None and len(outcome.report.consumed) == 2


def test_an_explicit_rejection_lets_a_held_back_lane_move_on_and_is_recorded(store: Store) -> None:
    _, thief, _ = _conflicting_store(store)
    fold_store(store)
    later = submit(
        store,
        "x64/darwin",
        partial_bytes("x64", "3.13.2", platform="darwin", platform_version=None),
        env={},
    )
    outcome = fold_store(store, rejections={thief: "duplicate upload, see issue 42"})
    assert outcome.commit is not None
    assert outcome.report.lanes["x64/darwin"].rejected == [thief]
    assert outcome.report.consumed == {"x64/darwin": later.commit}
    commit = store.repo[outcome.commit].peel(pygit2.Commit)
    assert f"Refold-Rejected: x64/darwin {thief}" in commit.message
    rejection = read_published(store).provenance.rejected[thief]
    assert rejection.lane == "x64/darwin" and "issue 42" in rejection.reason
    assert _pending(store) == {}


def test_within_a_lane_a_later_partial_supersedes_an_earlier_one(store: Store) -> None:
    submit(store, "x64", partial_bytes("x64", "3.13.1", size=1), env={})
    fold_store(store)
    last = submit(store, "x64", partial_bytes("x64", "3.13.1", size=2), env={}).commit
    fold_store(store)
    (release,) = read_published(store).manifest
    assert [f.size for f in release.files] == [2]
    origin = read_published(store).provenance.files["3.13.1"][
        "python-3.13.1-linux-24.04-x64.tar.gz"
    ]
    assert origin.commit == last


def test_a_retraction_removes_the_lanes_own_file(store: Store) -> None:
    submit(store, "x64", partial_bytes("x64", "3.13.1", "3.13.0"), env={})
    fold_store(store)
    retract = {
        "retract": [{"version": "3.13.0", "filename": "python-3.13.0-linux-24.04-x64.tar.gz"}]
    }
    submit(store, "x64", json.dumps(retract).encode(), env={})
    outcome = fold_store(store)
    assert outcome.report.changed == ["3.13.0"]
    assert _files(store) == {"3.13.1": {"python-3.13.1-linux-24.04-x64.tar.gz"}}


def _competing_fold_at(
    monkeypatch: pytest.MonkeyPatch, path: str, then_submit: tuple[str, ...] = ()
) -> list[Any]:
    """At the fold's fault point (once), another process folds (and maybe submits) first."""
    ran: list[Any] = []

    def hook(name: str) -> None:
        if name == "fold.objects-written" and not ran:
            proc = run_helper("fold", path)
            assert proc.returncode == 0, proc.stderr
            ran.append(json.loads(proc.stdout))
            if then_submit:
                proc = run_helper("submit", path, *then_submit)
                assert proc.returncode == 0, proc.stderr
                ran.append(json.loads(proc.stdout))

    monkeypatch.setattr(compact_module, "fault_point", hook)
    return ran


def test_a_fold_that_loses_its_race_recomputes_from_the_new_tip(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={}).commit
    start = str(_public(store))
    ran = _competing_fold_at(monkeypatch, store.path, ("arm64", "3.13.1"))
    outcome = fold_store(store)
    theirs, late = ran[0], ran[1]
    assert theirs["previous"] == start and theirs["commit"] is not None
    assert outcome.retries == 1 and outcome.previous == theirs["commit"]
    assert outcome.report.consumed == {"arm64": late["commit"]}
    ours = store.repo[outcome.commit or ""].peel(pygit2.Commit)
    assert [str(p.id) for p in ours.parents] == [theirs["commit"], late["commit"]]
    chain = [str(c.id) for c in first_parent_chain(store.repo, outcome.commit or "")]
    assert chain[:3] == [outcome.commit, theirs["commit"], start]
    assert newly_reachable(store.repo, store.repo[theirs["commit"]].peel(pygit2.Commit)) == {first}
    assert _files(store) == {
        "3.13.1": {"python-3.13.1-linux-24.04-arm64.tar.gz", "python-3.13.1-linux-24.04-x64.tar.gz"}
    }
    assert_fsck_clean(store.path)


def test_a_fold_that_loses_its_race_to_the_same_work_publishes_nothing_more(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    ran = _competing_fold_at(monkeypatch, store.path)
    outcome = fold_store(store)
    assert outcome.commit is None and outcome.retries == 1
    assert all_refs(store.repo)["refs/heads/main"] == ran[0]["commit"]


def test_a_fold_that_keeps_losing_gives_up_with_a_contention_error(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(store, "x64", partial_bytes("x64", "3.13.0"), env={})
    versions = iter(f"3.14.{i}" for i in range(10))

    def hook(name: str) -> None:
        if name == "fold.objects-written":
            assert run_helper("fold", store.path).returncode == 0
            assert run_helper("submit", store.path, "arm64", next(versions)).returncode == 0

    monkeypatch.setattr(compact_module, "fault_point", hook)
    with pytest.raises(ContentionError) as info:
        fold_store(store, max_retries=1)
    assert info.value.location == "refs/heads/main"
    # every fold that did land was a fast-forward of the one before
    chain = first_parent_chain(store.repo, all_refs(store.repo)["refs/heads/main"])
    assert len(chain) == 3


def test_fold_of_the_real_python_versions_pz_partials(tmp_path: Path) -> None:
    folder = shared_data() / "python-versions-pz" / "versions-manifests"
    store = init_store(tmp_path / "store")
    expected: dict[str, set[str]] = {}
    refused = 0
    for path in sorted(folder.glob("*.json")):
        lane = path.stem.rsplit("-", 1)[1]
        data = path.read_bytes()
        if lane not in ("ppc64le", "s390x"):
            # the published alpha partials have their fields shifted (arch "22.04",
            # platform "alpha.1"); refold must refuse them and change nothing
            before = all_refs(store.repo)
            with pytest.raises(PolicyError, match="says platform 'linux'"):
                submit(store, "s390x", data, location=path.name, env={})
            assert all_refs(store.repo) == before
            refused += 1
            continue
        submit(store, lane, data, location=path.name, env={})
        for release in json.loads(data):
            expected.setdefault(release["version"], set()).update(
                f["filename"] for f in release["files"]
            )
    assert refused < len(expected)
    outcome = fold_store(store)
    assert outcome.commit is not None and set(outcome.report.consumed) == {"ppc64le", "s390x"}
    assert not outcome.report.held_back
    assert _files(store) == expected
    # a second, independent fold of the same inputs in one go gives the same bytes
    published = read_published(store)
    again = fold_store(store)
    assert again.commit is None
    assert published.manifest_bytes == read_published(store).manifest_bytes
    for lane_tip in (
        store.repo.references[f"refs/partials/{lane}"].target for lane in ("ppc64le", "s390x")
    ):
        blob = blob_at(store.repo, store.repo[lane_tip].peel(pygit2.Commit), PARTIAL_FILE)
        assert blob is not None
        decode_stored_partial(blob)


def test_fold_adds_to_an_imported_real_manifest_without_touching_other_entries(
    tmp_path: Path,
) -> None:
    data = (shared_data() / "python-versions" / "versions-manifest.json").read_bytes()
    store = init_store(tmp_path / "store", import_data=data)
    doc = partial_doc("x64", ["3.99.0"])
    doc["releases"][0]["files"].append(python_file("3.99.0", "x64", "win32", None))
    submit(store, "x64", json.dumps(doc).encode(), env={})
    outcome = fold_store(store)
    assert outcome.report.changed == ["3.99.0"]
    published = read_published(store).manifest_bytes
    original = json.loads(data)
    assert json.loads(published)[1:] == original
