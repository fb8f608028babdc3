"""refold.store.verify: replaying the history finds every change made around refold.

The tamper tests run on the long history (2,000+ partials, 200 folds) and put every ref
back afterwards; the objects a test wrote stay behind unreachable, which verify, reading
only what refs reach, never sees. Narrower checks use small stores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pygit2
import pytest

from refold.manifests.provenance import Origin, decode_provenance, encode_provenance
from refold.store.compact import fold_store
from refold.store.config import set_config
from refold.store.imports import import_manifest
from refold.store.init import init_store
from refold.store.repo import (
    CONFIG_PATH,
    PROVENANCE_PATH,
    Store,
    all_refs,
    read_published,
    write_tree,
)
from refold.store.submit import submit
from refold.store.verify import Discrepancy, VerifyReport, verify_store

from .helpers import (
    FIXED_SIG,
    manifest_bytes,
    partial_bytes,
    python_file,
    python_release,
    write_lane_commit,
)
from .test_history import LongHistory, long_history, restoring_refs

MANIFEST = "versions-manifest.json"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> LongHistory:
    return long_history(tmp_path_factory)


@pytest.fixture
def long_store(history: LongHistory) -> Iterator[Store]:
    with restoring_refs(history.store()) as store:
        yield store


def hand_commit(store: Store, files: dict[str, bytes], message: str = "edited by hand\n") -> str:
    """A commit on the public branch made with pygit2 directly, around refold."""
    repo = store.repo
    tip = repo.references[store.public_ref].target
    tree = write_tree(repo, repo[tip].peel(pygit2.Commit).tree, files)
    return str(repo.create_commit(store.public_ref, FIXED_SIG, FIXED_SIG, message, tree, [tip]))


def unrepaired(report: VerifyReport) -> list[Discrepancy]:
    assert not report.ok
    return report.unrepaired


def test_verify_passes_on_the_clean_long_history(long_store: Store, history: LongHistory) -> None:
    report = verify_store(long_store)
    assert report.discrepancies == []
    assert report.ok
    assert (report.commits, report.folds, report.lanes) == (201, 200, 6)
    assert report.partials == len(history.submitted)
    assert report.last_good == report.tip == all_refs(long_store.repo)[long_store.public_ref]


def _edit_a_download_url(store: Store) -> tuple[str, str, str, str]:
    published = read_published(store)
    release = published.manifest[3]
    file = release.files[0]
    evil = file.download_url.replace("/releases/download/", "/releases/download/evil-")
    data = published.manifest_bytes.replace(file.download_url.encode(), evil.encode())
    assert data.count(evil.encode()) == 1
    return hand_commit(store, {MANIFEST: data}), f"{release.version}/{file.filename}", file.download_url, evil


def test_verify_reports_a_hand_edited_manifest_at_its_commit_and_field(long_store: Store) -> None:
    good = all_refs(long_store.repo)[long_store.public_ref]
    edit, entry, old, new = _edit_a_download_url(long_store)
    report = verify_store(long_store)
    [found] = unrepaired(report)
    assert (found.commit, found.field, found.path) == (edit, "manifest", f"{entry}.download_url")
    assert (found.expected, found.got) == (old, new)
    assert report.last_good == good


def test_verify_reports_a_rewritten_lane(long_store: Store) -> None:
    ref = "refs/partials/ppc64le"
    tip = long_store.repo.references[ref].target
    new = partial_bytes("ppc64le", "3.16.0")
    write_lane_commit(long_store.repo, "ppc64le", {"partial.json": new}, parents=[])
    report = verify_store(long_store)
    [found] = unrepaired(report)
    assert (found.field, found.ref) == ("lane", ref)
    assert "rewritten" in found.message
    assert found.expected == str(tip)


def test_verify_reports_a_raw_lane_commit_holding_an_invalid_document(long_store: Store) -> None:
    raw = str(write_lane_commit(long_store.repo, "x64", {"partial.json": b'{"releases": 5}\n'}))
    report = verify_store(long_store)
    [found] = unrepaired(report)
    assert (found.commit, found.field, found.ref) == (raw, "partial", "refs/partials/x64")
    assert "releases" in found.path


def test_verify_reports_a_tampered_provenance_index(long_store: Store, history: LongHistory) -> None:
    published = read_published(long_store)
    release = published.manifest[5]
    filename = release.files[0].filename
    origin = published.provenance.files[release.version][filename]
    other = next(s.commit for s in history.submitted if s.lane == origin.lane and s.commit != origin.commit)
    files = dict(published.provenance.files)
    files[release.version] = {**files[release.version], filename: Origin(lane=origin.lane, commit=other)}
    tampered = msgspec.structs.replace(published.provenance, files=files)
    edit = hand_commit(long_store, {PROVENANCE_PATH: encode_provenance(tampered)})
    [found] = unrepaired(verify_store(long_store))
    assert (found.commit, found.field, found.path) == (edit, "provenance", f"files.{release.version}/{filename}")
    assert found.expected == {"lane": origin.lane, "commit": origin.commit}
    assert found.got == {"lane": origin.lane, "commit": other}


# --- small stores -----------------------------------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> Store:
    store = init_store(tmp_path / "small.git")
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={})
    assert fold_store(store).commit is not None
    submit(store, "x64", partial_bytes("x64", "3.13.2"), env={})
    assert fold_store(store).commit is not None
    return store


def test_verify_reports_a_hand_edit_once_however_many_folds_build_on_it(small: Store) -> None:
    good = all_refs(small.repo)[small.public_ref]
    edit = hand_commit(small, {MANIFEST: read_published(small).manifest_bytes.replace(b"3.13.1-1", b"3.13.1-9")})
    later = []
    for n in range(2):
        submit(small, "s390x", partial_bytes("s390x", f"3.16.{n}"), env={})
        later.append(fold_store(small).commit)
    report = verify_store(small)
    found = unrepaired(report)
    assert {(d.commit, d.field) for d in found} == {(edit, "manifest")}
    assert {d.path for d in found} == {
        "3.13.1.release_url",
        "3.13.1/python-3.13.1-linux-24.04-arm64.tar.gz.download_url",
        "3.13.1/python-3.13.1-linux-24.04-x64.tar.gz.download_url",
    }
    assert not {d.commit for d in report.discrepancies} & set(later)
    assert report.last_good == good


def test_verify_reports_a_lane_moved_back_over_published_commits(small: Store) -> None:
    repo = small.repo
    tip = repo.references["refs/partials/x64"].peel(pygit2.Commit)
    repo.create_reference_direct("refs/partials/x64", tip.parent_ids[0], True)
    [found] = unrepaired(verify_store(small))
    assert (found.field, found.ref, found.expected) == ("lane", "refs/partials/x64", str(tip.id))


def test_verify_passes_on_an_imported_store_and_after_refold_config_changes(tmp_path: Path) -> None:
    data = manifest_bytes([python_release("3.12.1", [python_file("3.12.1", "x64")])])
    store = init_store(tmp_path / "s.git", import_data=data)
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    fold_store(store)
    assert set_config(store, "indent", "4").commit is not None
    assert set_config(store, "manifest_path", "manifests/python.json").commit is not None
    submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={})
    fold_store(store)
    report = verify_store(store)
    assert report.discrepancies == [] and report.commits == 5


def test_verify_replays_an_import_into_an_empty_store_and_catches_one_edited_on_the_way(
    tmp_path: Path,
) -> None:
    store = init_store(tmp_path / "s.git")
    data = manifest_bytes([python_release("3.12.1", [python_file("3.12.1", "x64")])])
    imported = import_manifest(store, data, location="versions-manifest.json")
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    fold_store(store)
    assert verify_store(store).discrepancies == []
    repo = store.repo
    assert imported.commit is not None
    import_commit = repo[imported.commit].peel(pygit2.Commit)
    provenance = read_published(store, imported.commit).provenance
    owned = {"3.12.1": {"python-3.12.1-linux-24.04-x64.tar.gz": Origin(lane="x64", commit="1" * 40)}}
    forged_provenance = encode_provenance(msgspec.structs.replace(provenance, files=owned))
    wrong = write_tree(repo, import_commit.tree, {PROVENANCE_PATH: forged_provenance})
    forged = repo.create_commit(
        None, FIXED_SIG, FIXED_SIG, import_commit.message, wrong, list(import_commit.parent_ids)
    )
    repo.create_reference_direct(store.public_ref, forged, True)
    [found] = unrepaired(verify_store(store))
    assert (found.commit, found.field) == (str(forged), "provenance")
    assert found.path == "files.3.12.1/python-3.12.1-linux-24.04-x64.tar.gz"
    assert found.expected == {"lane": ":import", "commit": None}


@pytest.mark.parametrize(
    "files",
    [
        {"partial.json": b"{not json"},
        {"partial.json": b'{"releases": [], "retract": [], "extra": 1}'},
        {"partial.json": b"{}", "notes.txt": b"hello"},
        {"other.json": b"{}"},
    ],
    ids=["malformed JSON", "unknown field", "two files", "no partial.json"],
)
def test_verify_reports_every_kind_of_lane_commit_without_one_valid_partial(
    small: Store, files: dict[str, bytes]
) -> None:
    raw = str(write_lane_commit(small.repo, "x64", files))
    [found] = unrepaired(verify_store(small))
    assert (found.commit, found.field, found.ref) == (raw, "partial", "refs/partials/x64")


def test_verify_reports_a_merge_on_a_lane(small: Store) -> None:
    repo = small.repo
    parents = [pygit2.Oid(hex=all_refs(repo)[f"refs/partials/{lane}"]) for lane in ("x64", "arm64")]
    merge = str(write_lane_commit(repo, "x64", {"partial.json": partial_bytes("x64", "3.13.5")}, parents=parents))
    found = unrepaired(verify_store(small))
    assert any((d.commit, d.field) == (merge, "lane") and "linear" in d.message for d in found)


def test_verify_excuses_an_invalid_partial_an_operator_rejected(small: Store) -> None:
    raw = str(write_lane_commit(small.repo, "arm64", {"partial.json": b"{not json"}))
    assert not verify_store(small).ok
    fold_store(small, rejections={raw: "pushed around refold"})
    assert verify_store(small).discrepancies == []


def test_verify_does_not_count_a_valid_held_back_partial(small: Store) -> None:
    wrong_arch = json.dumps(json.loads(partial_bytes("x64", "3.14.0"))).encode()
    write_lane_commit(small.repo, "arm64", {"partial.json": wrong_arch})
    outcome = fold_store(small)
    assert "arm64" in outcome.report.held_back
    assert verify_store(small).discrepancies == []


def test_verify_reports_a_malformed_config_committed_by_hand(small: Store) -> None:
    edit = hand_commit(small, {CONFIG_PATH: b'{"indent": "two"}\n'})
    found = unrepaired(verify_store(small))
    assert [(d.commit, d.field) for d in found] == [(edit, "config")]
    assert "does not decode" in found[0].message


def test_verify_reports_a_file_added_to_the_public_tree(small: Store) -> None:
    edit = hand_commit(small, {"NOTES.md": b"hello\n"})
    [found] = unrepaired(verify_store(small))
    assert (found.commit, found.field, found.path) == (edit, "tree", "NOTES.md")


def _amend_fold(store: Store, *, message: str | None = None, provenance: bytes | None = None) -> str:
    """Replace the last fold with a hand-made commit: same parents, something changed."""
    repo = store.repo
    fold = repo.references[store.public_ref].peel(pygit2.Commit)
    tree = fold.tree.id
    if provenance is not None:
        tree = write_tree(repo, fold.tree, {PROVENANCE_PATH: provenance})
    commit = repo.create_commit(
        None, FIXED_SIG, FIXED_SIG, message or fold.message, tree, list(fold.parent_ids)
    )
    repo.create_reference_direct(store.public_ref, commit, True)
    return str(commit)


def test_verify_reports_a_fold_whose_message_misstates_what_it_folded(small: Store) -> None:
    repo = small.repo
    fold = repo.references[small.public_ref].peel(pygit2.Commit)
    upto = str(fold.parent_ids[1])
    lied = fold.message.replace(f"Refold-Folded: x64 1 {upto}", f"Refold-Folded: x64 7 {upto}")
    assert lied != fold.message
    edit = _amend_fold(small, message=lied)
    [found] = unrepaired(verify_store(small))
    assert (found.commit, found.field, found.path) == (edit, "message", "Refold-Folded x64")
    assert (found.expected, found.got) == ([1, upto], [7, upto])


def test_verify_reports_provenance_tampered_inside_a_fold_commit(small: Store) -> None:
    published = read_published(small)
    provenance = decode_provenance(encode_provenance(published.provenance))
    claims = {**provenance.claims, "3.13.2": {}}
    edit = _amend_fold(small, provenance=encode_provenance(msgspec.structs.replace(provenance, claims=claims)))
    found = unrepaired(verify_store(small))
    assert {(d.commit, d.field) for d in found} == {(edit, "provenance")}
    assert all(d.path.startswith("claims.3.13.2/") for d in found)


def test_verify_reports_a_fold_whose_extra_parent_its_content_ignores(small: Store) -> None:
    repo = small.repo
    tip = repo.references[small.public_ref].target
    lane_commit = submit(small, "arm64", partial_bytes("arm64", "3.13.9"), env={}).commit
    tree = repo[tip].peel(pygit2.Commit).tree.id
    message = f"fold: by hand\n\nRefold-Folded: arm64 1 {lane_commit}\n"
    fake = repo.create_commit(
        small.public_ref, FIXED_SIG, FIXED_SIG, message, tree, [tip, pygit2.Oid(hex=lane_commit)]
    )
    found = unrepaired(verify_store(small))
    assert {d.commit for d in found} == {str(fake)}
    assert any(d.field == "manifest" and d.path.startswith("3.13.9") for d in found)


def test_verify_reports_progress_per_publication(small: Store) -> None:
    seen: list[tuple[int, int]] = []
    report = verify_store(small, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, report.commits) for i in range(1, report.commits)]


def test_verify_changes_no_ref(small: Store) -> None:
    hand_commit(small, {MANIFEST: b"[]\n"})
    before = all_refs(small.repo)
    verify_store(small)
    assert all_refs(small.repo) == before
