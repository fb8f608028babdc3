"""refold submit: files and stdin, the JSON result, no-op resubmission, refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pygit2
import pytest

from ._helpers import cli, partial_json, refold, refs, the_json, write


def _lane_partial(store: Path, lane: str) -> dict[str, object]:
    repo = pygit2.Repository(str(store))
    blob = repo.revparse_single(f"refs/partials/{lane}:partial.json")
    assert isinstance(blob, pygit2.Blob)
    result: dict[str, object] = json.loads(blob.data)
    return result


def test_submit_appends_the_partial_to_its_lane_and_prints_the_commit(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "p.json", partial_json("3.13.1", "x64"))
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "x64", source)
    assert ran.code == 0, ran.err
    tip = refs(store)["refs/partials/x64"]
    assert ran.out == f"lane x64: submitted {tip[:12]}\n"
    stored = _lane_partial(store, "x64")
    assert stored["releases"] == json.loads(partial_json("3.13.1", "x64"))


def test_submit_json_prints_lane_commit_and_noop(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "p.json", partial_json("3.13.1", "x64"))
    ran = cli(
        capsys, "--store", str(store), "submit", "--lane", "x64/linux-24.04", source, "--json"
    )
    assert ran.code == 0, ran.err
    doc = the_json(ran.out)
    assert {"lane", "commit", "noop"} <= set(doc)
    assert doc["lane"] == "x64/linux-24.04"
    assert doc["commit"] == refs(store)["refs/partials/x64/linux-24.04"]
    assert doc["noop"] is False


def test_submit_dash_reads_the_partial_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(partial_json("3.13.1", "arm64"))))
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "arm64", "-")
    assert ran.code == 0, ran.err
    assert _lane_partial(store, "arm64")["releases"] == json.loads(partial_json("3.13.1", "arm64"))


def test_submit_dash_reads_stdin_in_a_real_process(store: Path) -> None:
    done = refold(
        "--store",
        str(store),
        "submit",
        "--lane",
        "ppc64le",
        "-",
        stdin=partial_json("3.13.1", "ppc64le"),
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("lane ppc64le: submitted ")
    assert "refs/partials/ppc64le" in refs(store)


def test_errors_in_a_partial_from_stdin_name_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path
) -> None:
    before = refs(store)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'[{"version": ')))
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "x64", "-")
    assert ran.code == 2
    assert "where: <stdin>" in ran.err
    assert refs(store) == before


def test_resubmitting_the_same_partial_is_a_noop_that_says_so(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "p.json", partial_json("3.13.1", "x64"))
    first = cli(capsys, "--store", str(store), "submit", "--lane", "x64", source)
    assert first.code == 0
    before = refs(store)
    again = cli(capsys, "--store", str(store), "submit", "--lane", "x64", source)
    assert again.code == 0
    tip = before["refs/partials/x64"]
    assert again.out == f"lane x64: already holds this partial at {tip[:12]} (nothing to do)\n"
    assert refs(store) == before
    doc = the_json(
        cli(capsys, "--store", str(store), "submit", "--lane", "x64", source, "--json").out
    )
    assert (doc["commit"], doc["noop"]) == (tip, True)
    assert refs(store) == before


def test_a_second_different_partial_extends_the_lane(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    first = write(tmp_path / "a.json", partial_json("3.13.1", "x64"))
    second = write(tmp_path / "b.json", partial_json("3.14.0", "x64"))
    assert cli(capsys, "--store", str(store), "submit", "--lane", "x64", first).code == 0
    old_tip = refs(store)["refs/partials/x64"]
    doc = the_json(
        cli(capsys, "--store", str(store), "--json", "submit", "--lane", "x64", second).out
    )
    assert doc["noop"] is False
    commit = pygit2.Repository(str(store))[doc["commit"]]
    assert isinstance(commit, pygit2.Commit)
    assert [str(p) for p in commit.parent_ids] == [old_tip]


def _sbom(tmp_path: Path) -> str:
    doc = json.loads(partial_json("3.13.1", "x64"))
    name = "python-3.13.1-linux-24.04-x64.sbom.json"
    doc[0]["files"][0]["filename"] = name
    doc[0]["files"][0]["download_url"] = (
        f"https://github.com/actions/python-versions/releases/download/3.13.1-1/{name}"
    )
    return write(tmp_path / "sbom.json", json.dumps(doc).encode())


@pytest.mark.parametrize(
    ("lane", "make", "kind", "says"),
    [
        ("x64", _sbom, "policy", "SBOM"),
        ("arm64", lambda t: write(t / "x.json", partial_json("3.13.1", "x64")), "policy", "arch"),
        ("x64", lambda t: write(t / "bad.json", b'{"releases": [}'), "schema", ""),
        ("x64", lambda t: write(t / "empty.json", b""), "schema", ""),
        ("x64", lambda t: str(t / "absent.json"), "usage", "does not exist"),
        ("x64", lambda t: str(t), "usage", "directory"),
        (
            "x64/../../heads/main",
            lambda t: write(t / "x.json", partial_json("3.13.1", "x64")),
            "policy",
            "lane",
        ),
    ],
    ids=["sbom", "wrong-arch", "malformed", "empty", "absent", "directory", "bad-lane"],
)
def test_bad_partials_exit_2_name_the_place_and_change_no_ref(
    capsys: pytest.CaptureFixture[str],
    store: Path,
    tmp_path: Path,
    lane: str,
    make: object,
    kind: str,
    says: str,
) -> None:
    assert callable(make)
    source = make(tmp_path)
    before = refs(store)
    ran = cli(capsys, "--store", str(store), "--json", "submit", "--lane", lane, source)
    assert ran.code == 2
    error = the_json(ran.out)["error"]
    assert error["kind"] == kind
    assert says.lower() in error["message"].lower()
    assert error["location"]
    assert refs(store) == before


def test_an_oversize_file_is_refused_by_its_size_before_it_is_read(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    from refold.manifests.partial import MAX_PARTIAL_BYTES

    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:  # sparse: the size is real, the bytes are never written
        handle.truncate(MAX_PARTIAL_BYTES * 4)
    before = refs(store)
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "x64", str(huge))
    assert ran.code == 2
    assert (
        f"partial is {MAX_PARTIAL_BYTES * 4:,} bytes, over the {MAX_PARTIAL_BYTES:,}-byte limit"
        in ran.err
    )
    assert str(huge) in ran.err
    assert refs(store) == before
