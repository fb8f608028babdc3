"""refold.store.submit: one immutable partial per commit, appended by compare-and-swap."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pygit2
import pytest

from refold.manifests.config import StoreConfig
from refold.manifests.errors import PolicyError, RefoldError, SchemaError
from refold.manifests.partial import decode_stored_partial
from refold.store import submit as submit_module
from refold.store.compact import fold_store
from refold.store.init import init_store
from refold.store.repo import PARTIAL_FILE, Store, all_refs, blob_at, open_store
from refold.store.submit import SubmitResult, submit

from .helpers import (
    assert_fsck_clean,
    partial_bytes,
    partial_doc,
    python_file,
    python_release,
    run_helper,
    write_lane_commit,
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return init_store(tmp_path / "store")


def _commit(store: Store, oid: str) -> pygit2.Commit:
    commit = store.repo[oid].peel(pygit2.Commit)
    assert isinstance(commit, pygit2.Commit)
    return commit


def _stored(store: Store, oid: str) -> dict[str, Any]:
    data = blob_at(store.repo, _commit(store, oid), PARTIAL_FILE)
    assert data is not None
    decode_stored_partial(data)
    result: dict[str, Any] = json.loads(data)
    return result


def test_submit_appends_one_commit_holding_only_partial_json_onto_the_lane_tip(
    store: Store,
) -> None:
    first = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    assert not first.noop and first.retries == 0
    assert _commit(store, first.commit).parents == []
    before = all_refs(store.repo)
    second = submit(store, "x64", partial_bytes("x64", "3.13.2"), env={})
    after = all_refs(store.repo)
    assert after == {**before, "refs/partials/x64": second.commit}
    commit = _commit(store, second.commit)
    assert [str(p.id) for p in commit.parents] == [first.commit]
    assert [entry.name for entry in commit.tree] == [PARTIAL_FILE]
    assert _stored(store, second.commit)["releases"][0]["version"] == "3.13.2"
    assert_fsck_clean(store.path)


def test_submit_never_touches_the_public_ref_or_other_lanes(store: Store) -> None:
    submit(store, "arm64", partial_bytes("arm64", "3.13.1"), env={})
    before = all_refs(store.repo)
    result = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    assert all_refs(store.repo) == {**before, "refs/partials/x64": result.commit}


def test_submit_message_trailers_carry_lane_versions_and_env_provenance(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "999")
    env = {
        "GITHUB_RUN_ID": "12345",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "actions/python-versions",
        "RUNNER_NAME": "runner-7",
    }
    result = submit(store, "x64", partial_bytes("x64", "3.13.1", "3.12.8"), env=env)
    message = _commit(store, result.commit).message
    trailers = message.rstrip("\n").split("\n\n")[-1].splitlines()
    assert trailers == [
        "Refold-Lane: x64",
        "Refold-Version: 3.13.1",
        "Refold-Version: 3.12.8",
        "Refold-Run-Id: 12345",
        "Refold-Repository: actions/python-versions",
        "Refold-Source-Commit: 0123456789abcdef0123456789abcdef01234567",
        "Refold-Builder: runner-7",
        "Refold-Run-Url: https://github.com/actions/python-versions/actions/runs/12345",
    ]
    assert message.startswith("partial x64: 3.13.1, 3.12.8\n")
    provenance = _stored(store, result.commit)["provenance"]
    assert provenance["run_id"] == "12345"
    assert provenance["source_commit"] == env["GITHUB_SHA"]
    assert "999" not in message


def test_submit_takes_the_commit_author_from_the_env_parameter(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "someone-else")
    result = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={"GITHUB_ACTOR": "octocat"})
    assert _commit(store, result.commit).author.name == "octocat"
    assert _commit(store, result.commit).author.email == "octocat@refold.invalid"


def test_submit_reads_os_environ_when_no_env_is_given(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "777")
    result = submit(store, "x64", partial_bytes("x64", "3.13.1"))
    assert "Refold-Run-Id: 777" in _commit(store, result.commit).message


def test_submit_keeps_provenance_the_document_states_over_the_environment(store: Store) -> None:
    doc = partial_doc("x64", ["3.13.1"])
    doc["provenance"] = {"run_id": "from-doc"}
    result = submit(store, "x64", json.dumps(doc).encode(), env={"GITHUB_RUN_ID": "from-env"})
    assert _stored(store, result.commit)["provenance"]["run_id"] == "from-doc"
    assert "Refold-Run-Id: from-doc" in _commit(store, result.commit).message


def test_identical_resubmission_is_a_noop_returning_the_same_commit(store: Store) -> None:
    data = partial_bytes("x64", "3.13.1")
    first = submit(store, "x64", data, env={"GITHUB_RUN_ID": "1"})
    before = all_refs(store.repo)
    again = submit(store, "x64", data, env={"GITHUB_RUN_ID": "2"})
    assert again == SubmitResult(lane="x64", commit=first.commit, noop=True)
    assert all_refs(store.repo) == before


def test_resubmission_in_another_input_shape_is_still_a_noop(store: Store) -> None:
    doc = partial_doc("x64", ["3.13.1"])
    first = submit(store, "x64", json.dumps(doc).encode(), env={})
    as_manifest = json.dumps(doc["releases"]).encode()
    release = doc["releases"][0]
    flat = [
        {
            "version": release["version"],
            "stable": release["stable"],
            "release_url": release["release_url"],
            **release["files"][0],
        }
    ]
    for data in (as_manifest, json.dumps(flat).encode(), json.dumps(doc, indent=7).encode()):
        again = submit(store, "x64", data, env={})
        assert again.noop and again.commit == first.commit


def test_a_changed_partial_after_a_noop_appends(store: Store) -> None:
    first = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    changed = submit(store, "x64", partial_bytes("x64", "3.13.1", size=10), env={})
    assert not changed.noop
    assert [str(p.id) for p in _commit(store, changed.commit).parents] == [first.commit]


def test_submit_accepts_qualified_lanes_bound_to_their_first_component(store: Store) -> None:
    result = submit(store, "x64/linux-24.04", partial_bytes("x64", "3.13.1"), env={})
    assert all_refs(store.repo)["refs/partials/x64/linux-24.04"] == result.commit


def test_submit_follows_lane_arches_from_the_store_config(tmp_path: Path) -> None:
    store = init_store(
        tmp_path / "store", config=StoreConfig(lane_arches={"intel": ["x64", "x86"]})
    )
    doc = partial_doc("x64", ["3.13.1"])
    doc["releases"][0]["files"].append(python_file("3.13.1", "x86", "win32", None))
    result = submit(store, "intel", json.dumps(doc).encode(), env={})
    assert not result.noop
    before = all_refs(store.repo)
    with pytest.raises(PolicyError, match="arch 'arm64' may not be published"):
        submit(store, "intel", partial_bytes("arm64", "3.13.1"), env={})
    assert all_refs(store.repo) == before


def _sbom() -> bytes:
    doc = partial_doc("x64", ["3.13.1"])
    file = doc["releases"][0]["files"][0]
    file["filename"] = "python-3.13.1-linux-24.04-x64.sbom.spdx.json"
    file["download_url"] = (
        f"https://github.com/actions/python-versions/releases/download/3.13.1-1/{file['filename']}"
    )
    return json.dumps(doc).encode()


def _edited(change: Callable[[dict[str, Any]], None], lane: str = "x64") -> bytes:
    doc = partial_doc(lane, ["3.13.1"])
    change(doc)
    return json.dumps(doc).encode()


def _file(doc: dict[str, Any]) -> dict[str, Any]:
    file: dict[str, Any] = doc["releases"][0]["files"][0]
    return file


BAD_INPUTS: list[tuple[str, str, bytes, type[RefoldError], str]] = [
    ("malformed-json", "x64", b'{"releases": [', SchemaError, "malformed JSON"),
    (
        "bom",
        "x64",
        b"\xef\xbb\xbf" + partial_bytes("x64", "3.13.1"),
        SchemaError,
        "byte-order mark",
    ),
    ("empty", "x64", b"", SchemaError, "empty"),
    ("scalar", "x64", b"42", SchemaError, "must be a JSON object or array"),
    ("empty-array", "x64", b"[]", SchemaError, "empty array"),
    ("missing-field", "x64", _edited(lambda d: _file(d).pop("arch")), SchemaError, "arch"),
    ("unknown-field", "x64", _edited(lambda d: _file(d).update(extra=1)), SchemaError, "extra"),
    (
        "wrong-type",
        "x64",
        _edited(lambda d: d["releases"][0].update(stable="yes")),
        SchemaError,
        "stable",
    ),
    (
        "duplicate-key",
        "x64",
        b'{"releases": [], "releases": []}',
        SchemaError,
        "duplicate key",
    ),
    ("wrong-arch", "x64", partial_bytes("arm64", "3.13.1"), PolicyError, "arch 'arm64'"),
    ("wrong-arch-qualified", "x64/linux", partial_bytes("arm64", "3.13.1"), PolicyError, "arch"),
    ("sbom", "x64", _sbom(), PolicyError, "sbom"),
    (
        "filename-disagrees",
        "x64",
        _edited(lambda d: _file(d).update(platform_version="22.04")),
        PolicyError,
        "platform_version",
    ),
    (
        "duplicate-entry",
        "x64",
        _edited(lambda d: d["releases"][0]["files"].append(dict(_file(d)))),
        PolicyError,
        "duplicate entry",
    ),
    (
        "duplicate-release",
        "x64",
        _edited(lambda d: d["releases"].append(dict(d["releases"][0]))),
        PolicyError,
        "appears twice",
    ),
    (
        "http-url",
        "x64",
        _edited(
            lambda d: _file(d).update(
                download_url=_file(d)["download_url"].replace("https", "http")
            )
        ),
        PolicyError,
        "https",
    ),
    ("bad-semver", "x64", partial_bytes("x64", "3.13"), PolicyError, ""),
    ("nothing", "x64", b'{"releases": []}', PolicyError, "no releases"),
    (
        "doc-lane-differs",
        "x64",
        _edited(lambda d: d.update(lane="arm64")),
        PolicyError,
        "partial says lane",
    ),
    (
        "lane-three-components",
        "x64/linux/extra",
        partial_bytes("x64", "3.13.1"),
        PolicyError,
        "components",
    ),
    ("lane-dotdot", "x64..y", partial_bytes("x64", "3.13.1"), PolicyError, "'..'"),
    ("lane-lock", "x64.lock", partial_bytes("x64", "3.13.1"), PolicyError, ".lock"),
    ("lane-empty", "", partial_bytes("x64", "3.13.1"), PolicyError, "empty component"),
    ("lane-space", "x64 linux", partial_bytes("x64", "3.13.1"), PolicyError, "' '"),
    ("lane-trailing-slash", "x64/", partial_bytes("x64", "3.13.1"), PolicyError, "empty component"),
]


@pytest.mark.parametrize(
    ("lane", "data", "error", "needle"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_submit_refuses_bad_input_and_changes_no_ref(
    store: Store, lane: str, data: bytes, error: type[RefoldError], needle: str
) -> None:
    submit(store, "x64", partial_bytes("x64", "3.12.8"), env={})
    submit(store, "arm64", partial_bytes("arm64", "3.12.8"), env={})
    fold_store(store)
    before = all_refs(store.repo)
    with pytest.raises(error) as info:
        submit(store, lane, data, location="job.json", env={})
    assert type(info.value) is error
    assert needle.lower() in str(info.value).lower()
    assert all_refs(store.repo) == before


def test_bad_input_errors_name_the_file_and_json_path(store: Store) -> None:
    before = all_refs(store.repo)
    with pytest.raises(PolicyError) as info:
        submit(store, "x64", partial_bytes("arm64", "3.13.1"), location="job.json", env={})
    assert info.value.location == "job.json: $.releases[0].files[0].arch"
    assert info.value.hint
    with pytest.raises(SchemaError) as schema:
        submit(store, "x64", _edited(lambda d: _file(d).pop("arch")), location="job.json", env={})
    assert schema.value.location.startswith("job.json: $.releases[0].files[0]")
    assert all_refs(store.repo) == before


def test_submit_refuses_a_download_url_outside_the_url_policy(tmp_path: Path) -> None:
    store = init_store(
        tmp_path / "store",
        config=StoreConfig(
            url_prefix="https://github.com/actions/python-versions/releases/download/{version}-"
        ),
    )
    good = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    before = all_refs(store.repo)
    foreign = _edited(
        lambda d: _file(d).update(
            download_url="https://evil.example/python-3.13.1-linux-24.04-x64.tar.gz"
        )
    )
    with pytest.raises(PolicyError, match="outside the store's URL policy"):
        submit(store, "x64", foreign, env={})
    assert all_refs(store.repo) == before == {**before, "refs/partials/x64": good.commit}


@pytest.mark.parametrize(("existing", "clashing"), [("x64", "x64/linux"), ("x64/linux", "x64")])
def test_submit_refuses_a_lane_that_clashes_with_an_existing_lane_ref(
    store: Store, existing: str, clashing: str
) -> None:
    submit(store, existing, partial_bytes("x64", "3.13.1"), env={})
    before = all_refs(store.repo)
    with pytest.raises(PolicyError, match="clashes with existing lane") as info:
        submit(store, clashing, partial_bytes("x64", "3.13.2"), env={})
    assert info.value.location == "--lane"
    assert all_refs(store.repo) == before


def test_submit_refuses_a_partial_over_the_size_limit(store: Store) -> None:
    before = all_refs(store.repo)
    with pytest.raises(SchemaError, match="over the"):
        submit(store, "x64", b" " * (8 * 1024 * 1024 + 1), env={})
    assert all_refs(store.repo) == before


def test_submit_on_a_lane_holding_a_foreign_commit_still_appends(store: Store) -> None:
    foreign = write_lane_commit(store.repo, "x64", {PARTIAL_FILE: b"not json"})
    result = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    assert not result.noop
    assert [p.id for p in _commit(store, result.commit).parents] == [foreign]


def _competing_submit_at(
    monkeypatch: pytest.MonkeyPatch, point: str, *args: str
) -> list[dict[str, Any]]:
    """At ``point`` (once), run a real submit in another process before this one moves on."""
    ran: list[dict[str, Any]] = []

    def hook(name: str) -> None:
        if name == point and not ran:
            proc = run_helper("submit", *args)
            assert proc.returncode == 0, proc.stderr
            ran.append(json.loads(proc.stdout))

    monkeypatch.setattr(submit_module, "fault_point", hook)
    return ran


def test_a_lost_race_reparents_the_same_tree_onto_the_new_lane_tip(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = submit(store, "x64", partial_bytes("x64", "3.13.0"), env={})
    ran = _competing_submit_at(monkeypatch, "submit.objects-written", store.path, "x64", "3.13.1")
    data = partial_bytes("x64", "3.13.2")
    result = submit(store, "x64", data, env={})
    assert len(ran) == 1 and not result.noop
    assert result.retries == 1
    theirs = ran[0]["commit"]
    ours = _commit(store, result.commit)
    assert [str(p.id) for p in ours.parents] == [theirs]
    assert [str(p.id) for p in _commit(store, theirs).parents] == [base.commit]
    assert all_refs(store.repo)["refs/partials/x64"] == result.commit
    assert _stored(store, result.commit)["releases"][0]["version"] == "3.13.2"
    # the re-parented commit holds exactly the tree a race-free submit would have written
    monkeypatch.undo()
    other = init_store(store.path + "-clean")
    clean = submit(other, "x64", data, env={})
    assert ours.tree_id == _commit(other, clean.commit).tree_id


def test_a_lost_race_against_the_same_content_becomes_a_noop(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = _competing_submit_at(monkeypatch, "submit.objects-written", store.path, "x64", "3.13.1")
    result = submit(store, "x64", partial_bytes("x64", "3.13.1"), env={})
    assert result.noop and result.commit == ran[0]["commit"]
    assert all_refs(store.repo)["refs/partials/x64"] == result.commit


def test_a_clashing_lane_created_during_submit_is_refused_as_a_clash(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = _competing_submit_at(monkeypatch, "submit.objects-written", store.path, "x64", "3.13.1")
    with pytest.raises(PolicyError, match="clashes with existing lane 'x64'"):
        submit(store, "x64/linux", partial_bytes("x64", "3.13.2"), env={})
    assert all_refs(store.repo) == {
        "refs/heads/main": all_refs(store.repo)["refs/heads/main"],
        "refs/partials/x64": ran[0]["commit"],
    }


def test_a_lane_created_during_submit_below_this_one_is_refused_as_a_clash(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _competing_submit_at(monkeypatch, "submit.objects-written", store.path, "x64/linux", "3.13.1")
    with pytest.raises(PolicyError, match="clashes with existing lane 'x64/linux'"):
        submit(store, "x64", partial_bytes("x64", "3.13.2"), env={})
    assert "refs/partials/x64" not in all_refs(store.repo)


def test_threads_submitting_to_one_lane_all_land_in_one_linear_history(store: Store) -> None:
    barrier = threading.Barrier(6)

    def job(n: int) -> list[SubmitResult]:
        mine = open_store(store.path)
        barrier.wait()
        return [submit(mine, "x64", partial_bytes("x64", f"3.{n}.{i}"), env={}) for i in range(3)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = [r for batch in pool.map(job, range(6)) for r in batch]
    assert len(results) == 18 and not any(r.noop for r in results)
    repo = store.repo
    history = [str(c.id) for c in repo.walk(repo.references["refs/partials/x64"].target)]
    assert sorted(history) == sorted(r.commit for r in results)
    for oid in history:
        assert len(_commit(store, oid).parents) <= 1
    assert_fsck_clean(store.path)


def test_a_submitted_release_with_several_files_keeps_them_sorted(store: Store) -> None:
    files = [
        python_file("3.13.1", "x64", "win32", None),
        python_file("3.13.1", "x64", "linux", "24.04"),
        python_file("3.13.1", "x64", "darwin", None),
    ]
    doc = {"releases": [python_release("3.13.1", files)]}
    result = submit(store, "x64", json.dumps(doc).encode(), env={})
    names = [f["filename"] for f in _stored(store, result.commit)["releases"][0]["files"]]
    assert names == sorted(names)
