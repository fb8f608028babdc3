"""refold.store.rebuild: after a bad manual commit, republish what the history says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from refold.manifests.errors import UsageError
from refold.manifests.fold import fold
from refold.manifests.provenance import encode_provenance
from refold.manifests.render import render_manifest
from refold.store.compact import fold_store
from refold.store.history import REBUILD_TRAILER
from refold.store.init import init_store
from refold.store.pending import pending_partials
from refold.store.rebuild import rebuild_store
from refold.store.repo import PROVENANCE_PATH, Store, all_refs, read_published
from refold.store.submit import submit
from refold.store.verify import verify_store

from .helpers import partial_bytes
from .test_history import LongHistory, long_history, restoring_refs
from .test_verify import MANIFEST, hand_commit


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> LongHistory:
    return long_history(tmp_path_factory)


def _next_fold_bytes(store: Store) -> tuple[bytes, bytes]:
    """What the next fold publishes from the current tip, by the pure fold."""
    published = read_published(store)
    pending = pending_partials(store.repo, pygit2.Oid(hex=published.commit))
    result = fold(published.manifest, published.provenance, published.config, pending)
    return render_manifest(result.manifest, published.config), encode_provenance(result.provenance)


@pytest.fixture
def long_store(history: LongHistory) -> Iterator[Store]:
    with restoring_refs(history.store()) as store:
        yield store


def test_rebuild_after_a_hand_edit_restores_the_manifest_verify_expects(long_store: Store) -> None:
    store = long_store
    submit(store, "s390x", partial_bytes("s390x", "3.16.0"), env={})
    good = all_refs(store.repo)[store.public_ref]
    expected_manifest, expected_provenance = _next_fold_bytes(store)
    published = read_published(store)
    victim = published.manifest[0].files[0].download_url
    edited = published.manifest_bytes.replace(victim.encode(), b"https://example.invalid/" + victim[-30:].encode())
    edit = hand_commit(store, {MANIFEST: edited})
    built_on_edit = fold_store(store).commit
    assert read_published(store).manifest_bytes != expected_manifest
    outcome = rebuild_store(store)
    assert outcome.base == good
    assert outcome.previous == built_on_edit and outcome.commit is not None
    assert [(r.version, [f.filename for f in r.files]) for r in outcome.diff.releases] == [
        (published.manifest[0].version, [published.manifest[0].files[0].filename])
    ]
    after = read_published(store)
    assert after.manifest_bytes == expected_manifest
    assert after.provenance == read_published(store, built_on_edit).provenance
    assert encode_provenance(after.provenance) == expected_provenance
    commit = store.repo[outcome.commit].peel(pygit2.Commit)
    assert commit.parent_ids == [pygit2.Oid(hex=built_on_edit)]
    assert f"{REBUILD_TRAILER}: {good}" in commit.message
    report = verify_store(store)
    assert report.ok and report.last_good == outcome.commit
    assert {d.commit for d in report.discrepancies} == {edit}
    assert all(d.repaired_by == outcome.commit for d in report.discrepancies)


@pytest.fixture
def small(tmp_path: Path) -> Store:
    store = init_store(tmp_path / "small.git")
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    fold_store(store)
    submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={})
    fold_store(store)
    return store


def test_rebuild_on_a_clean_store_publishes_nothing(small: Store) -> None:
    before = all_refs(small.repo)
    outcome = rebuild_store(small)
    assert outcome.commit is None and outcome.diff.empty and not outcome.provenance
    assert all_refs(small.repo) == before


def test_rebuild_dry_run_shows_the_diff_and_writes_nothing(small: Store) -> None:
    published = read_published(small)
    hand_commit(small, {MANIFEST: published.manifest_bytes.replace(b"3.13.1-1/python-3.13.1-linux-24.04-x64", b"x/python-3.13.1-linux-24.04-x64")})
    before = all_refs(small.repo)
    outcome = rebuild_store(small, dry_run=True)
    assert outcome.dry_run and outcome.commit is None
    [release] = outcome.diff.releases
    [file] = release.files
    [field] = file.fields
    assert (release.version, file.filename, field.field) == (
        "3.13.1",
        "python-3.13.1-linux-24.04-x64.tar.gz",
        "download_url",
    )
    assert "/x/" in field.old and "/3.13.1-1/" in field.new
    assert all_refs(small.repo) == before


def test_rebuild_restores_a_tampered_provenance_and_removes_files_added_by_hand(small: Store) -> None:
    good = read_published(small)
    hand_commit(small, {PROVENANCE_PATH: b'{"schema": 1}\n', "notes.txt": b"hello\n"})
    outcome = rebuild_store(small)
    assert outcome.commit is not None
    assert outcome.removed_files == ["notes.txt"]
    assert {c.path.split(".", 1)[0] for c in outcome.provenance} == {"files", "claims"}
    after = read_published(small)
    assert after.provenance == good.provenance and after.manifest_bytes == good.manifest_bytes
    assert "notes.txt" not in small.repo[outcome.commit].peel(pygit2.Commit).tree
    assert verify_store(small).ok


def test_rebuild_from_an_earlier_publication_gives_the_same_result(small: Store) -> None:
    first_fold = str(small.repo.references[small.public_ref].peel(pygit2.Commit).parent_ids[0])
    hand_commit(small, {MANIFEST: b"[]\n"})
    outcome = rebuild_store(small, from_rev=first_fold, dry_run=True)
    default = rebuild_store(small, dry_run=True)
    assert outcome.base == first_fold and default.base != first_fold
    assert outcome.diff == default.diff
    published = rebuild_store(small, from_rev=first_fold)
    assert published.commit is not None
    assert verify_store(small).ok


def test_rebuild_from_a_revision_off_the_public_history_is_a_usage_error(small: Store) -> None:
    before = all_refs(small.repo)
    with pytest.raises(UsageError) as error:
        rebuild_store(small, from_rev="refs/partials/x64")
    assert error.value.location == "--from"
    assert all_refs(small.repo) == before


def test_rebuild_folds_nothing_new_and_leaves_pending_partials_pending(small: Store) -> None:
    hand_commit(small, {MANIFEST: b"[]\n"})
    pending = submit(small, "x64", partial_bytes("x64", "3.13.2"), env={}).commit
    outcome = rebuild_store(small)
    assert outcome.commit is not None
    assert [r.version for r in read_published(small).manifest] == ["3.13.1"]
    tip = small.repo.references[small.public_ref].target
    assert not small.repo.descendant_of(tip, pygit2.Oid(hex=pending))
    assert fold_store(small).commit is not None
    assert [r.version for r in read_published(small).manifest] == ["3.13.2", "3.13.1"]
    assert verify_store(small).ok
