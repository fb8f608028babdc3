"""refold reject, import, config and resolve from the command line, and the fold's guard."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest

from refold.store.repo import open_store

from ._helpers import cli, manifest_bytes, partial_json, python_file, refs, release, the_json, write

# --- reject -----------------------------------------------------------------------------------


def _held_commit(store: Path) -> str:
    return str(open_store(store).repo.references["refs/partials/x64/b"].target)


def test_reject_records_the_rejection_and_status_shows_it(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    s = str(held_back_store)
    commit = _held_commit(held_back_store)
    ran = cli(
        capsys, "--store", s, "reject", "x64/b", commit[:10], "--reason", "duplicate of x64/a"
    )
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[0] == f"lane x64/b: rejected {commit[:12]} (duplicate of x64/a)"
    assert "published" in ran.out.splitlines()[1]
    status = the_json(cli(capsys, "--store", s, "status", "--json").out)
    lanes = {lane["lane"]: lane for lane in status["lanes"]}
    assert lanes["x64/b"]["rejected"] == {commit: "duplicate of x64/a"}
    assert lanes["x64/b"]["held_back"] is None
    text = cli(capsys, "--store", s, "status").out
    assert f"rejected {commit[:12]}: duplicate of x64/a" in text


def test_reject_json_names_the_rejected_commit_and_the_fold(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    commit = _held_commit(held_back_store)
    ran = cli(
        capsys,
        "--store",
        str(held_back_store),
        "--json",
        "reject",
        "x64/b",
        commit,
        "--reason",
        "dup",
    )
    data = the_json(ran.out)
    assert ran.code == 0
    assert data["rejected"] == [commit] and data["reason"] == "dup"
    assert data["commit"] == refs(held_back_store)["refs/heads/main"]
    assert data["folded"] == {"arm64": 1, "x64/a": 1}


def test_reject_of_a_commit_that_is_not_pending_changes_nothing(
    capsys: pytest.CaptureFixture[str], held_back_store: Path
) -> None:
    before = refs(held_back_store)
    tip = before["refs/heads/main"]
    ran = cli(
        capsys, "--store", str(held_back_store), "--json", "reject", "x64/b", tip, "--reason", "x"
    )
    assert ran.code == 2
    error = the_json(ran.out)["error"]
    assert "is not pending on lane x64/b" in error["message"]
    assert "(held back: conflict:" in error["hint"]
    assert refs(held_back_store) == before


def test_reject_needs_a_reason(capsys: pytest.CaptureFixture[str], held_back_store: Path) -> None:
    before = refs(held_back_store)
    ran = cli(
        capsys, "--store", str(held_back_store), "reject", "x64/b", _held_commit(held_back_store)
    )
    assert ran.code == 2 and "--reason" in ran.err
    assert refs(held_back_store) == before


# --- import -----------------------------------------------------------------------------------


def _manifest(*versions: str) -> bytes:
    return manifest_bytes(
        [release(v, [python_file(v, arch) for arch in ("arm64", "x64")]) for v in versions]
    )


def test_import_adopts_a_manifest_as_the_base(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    data = _manifest("3.13.1", "3.12.8")
    path = write(tmp_path / "versions-manifest.json", data)
    ran = cli(capsys, "--store", str(store), "--json", "import", path)
    assert ran.code == 0, ran.err
    outcome = the_json(ran.out)
    assert (outcome["mode"], outcome["releases"], outcome["files"]) == ("base", 2, 4)
    capsys.readouterr()
    assert cli(capsys, "--store", str(store), "show").out.encode() == data


def test_import_into_a_publishing_store_needs_as_lanes(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path, tmp_path: Path
) -> None:
    path = write(tmp_path / "m.json", _manifest("3.12.8"))
    before = refs(two_folds_store)
    ran = cli(capsys, "--store", str(two_folds_store), "import", path)
    assert ran.code == 2 and "--as-lanes" in ran.err
    assert refs(two_folds_store) == before
    ran = cli(capsys, "--store", str(two_folds_store), "--json", "import", path, "--as-lanes")
    assert ran.code == 0, ran.err
    assert the_json(ran.out)["lanes"] == {"arm64": 1, "x64": 1}
    shown = json.loads(cli(capsys, "--store", str(two_folds_store), "show").out)
    assert [r["version"] for r in shown] == ["3.14.0", "3.13.1", "3.12.8"]


def test_import_of_a_directory_reports_every_invalid_file_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "versions-manifests"
    folder.mkdir()
    for version in ("3.13.1", "3.13.2"):
        for arch in ("ppc64le", "s390x"):
            write(folder / f"{version}-{arch}.json", partial_json(version, arch))
    write(
        folder / "3.13.3-s390x.json",
        partial_json("3.13.3", "s390x").replace(b"https://", b"http://"),
    )
    write(folder / "3.13.4-s390x.json", b"[")
    before = refs(store)
    ran = cli(capsys, "--store", str(store), "--json", "import", str(folder))
    assert ran.code == 2
    message = the_json(ran.out)["error"]["message"]
    assert message.startswith("2 of 6 files are invalid; nothing was imported")
    assert "3.13.3-s390x.json" in message and "3.13.4-s390x.json" in message
    assert refs(store) == before
    (folder / "3.13.3-s390x.json").unlink()
    (folder / "3.13.4-s390x.json").unlink()
    ran = cli(capsys, "--store", str(store), "import", str(folder))
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[0].endswith("4 partials on 2 lanes (ppc64le 2, s390x 2)")
    assert set(refs(store)) == {"refs/heads/main", "refs/partials/ppc64le", "refs/partials/s390x"}


# --- config -----------------------------------------------------------------------------------


def test_config_show_prints_the_published_config_file(
    capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    repo = open_store(store).repo
    tip = repo.references["refs/heads/main"].peel(pygit2.Commit)
    ran = cli(capsys, "--store", str(store), "config", "show")
    assert ran.code == 0
    assert ran.out.encode() == repo[tip.tree[".refold/config.json"].id].data
    data = the_json(cli(capsys, "config", "show", "--store", str(store), "--json").out)
    assert data["config"]["indent"] == 2 and data["commit"] == str(tip.id)


def test_config_set_publishes_the_change_and_re_renders(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path
) -> None:
    s = str(two_folds_store)
    ran = cli(capsys, "--store", s, "config", "set", "indent", "4", "--json")
    assert ran.code == 0, ran.err
    change = the_json(ran.out)
    assert (change["key"], change["old"], change["new"]) == ("indent", 2, 4)
    assert change["commit"] == refs(two_folds_store)["refs/heads/main"]
    assert cli(capsys, "--store", s, "show").out.startswith('[\n    {\n        "version"')
    again = cli(capsys, "--store", s, "config", "set", "indent", "4")
    assert again.code == 0 and "already 4 (nothing to do)" in again.out


@pytest.mark.parametrize(
    ("key", "value"), [("indent", "12"), ("colour", "red"), ("manifest_path", "/abs.json")]
)
def test_config_set_with_a_bad_key_or_value_changes_nothing(
    capsys: pytest.CaptureFixture[str], store: Path, key: str, value: str
) -> None:
    before = refs(store)
    ran = cli(capsys, "--store", str(store), "config", "set", key, value)
    assert ran.code == 2 and ran.err.startswith("refold: error:")
    assert refs(store) == before


# --- resolve ----------------------------------------------------------------------------------


def test_resolve_prints_the_release_and_file_setup_python_would_pick(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path
) -> None:
    s = str(two_folds_store)
    query = ["--arch", "x64", "--platform", "linux", "--platform-version", "24.04"]
    ran = cli(capsys, "--store", s, "resolve", "3", *query)
    assert ran.code == 0
    assert ran.out.splitlines()[0] == "3.14.0 python-3.14.0-linux-24.04-x64.tar.gz"
    older = cli(capsys, "--store", s, "--json", "resolve", "3", *query, "--rev", "main~1")
    data = the_json(older.out)
    assert data["match"]["version"] == "3.13.1"
    assert data["match"]["file"]["filename"] == "python-3.13.1-linux-24.04-x64.tar.gz"


def test_resolve_without_a_match_exits_2_and_says_what_it_searched(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path
) -> None:
    before = refs(two_folds_store)
    ran = cli(
        capsys,
        "--store",
        str(two_folds_store),
        "resolve",
        "3.13",
        "--arch",
        "arm64",
        "--platform",
        "linux",
        "--platform-version",
        "24.04",
    )
    assert ran.code == 2
    assert ran.out.splitlines()[0].startswith("no match for '3.13' on arm64/linux 24.04 at ")
    assert "1 satisfy '3.13'" in ran.out and "none has a file for arm64/linux" in ran.out
    data = the_json(
        cli(
            capsys,
            "--store",
            str(two_folds_store),
            "--json",
            "resolve",
            "3.99",
            "--arch",
            "x64",
            "--platform",
            "linux",
        ).out
    )
    assert data["match"] is None and data["searched"] == ["searched 2 releases; 0 satisfy '3.99'"]
    assert refs(two_folds_store) == before


def test_resolve_with_an_invalid_spec_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path
) -> None:
    ran = cli(
        capsys,
        "--store",
        str(two_folds_store),
        "resolve",
        "3.x.y.z",
        "--arch",
        "x64",
        "--platform",
        "linux",
    )
    assert ran.code == 2 and "not a valid version range" in ran.err


# --- the fold's guard -------------------------------------------------------------------------


def test_a_strict_fold_refuses_a_retraction_that_lowers_resolution_and_a_plain_fold_warns(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path, tmp_path: Path
) -> None:
    s = str(two_folds_store)
    path = write(
        tmp_path / "retract.json", json.dumps({"retract": [{"version": "3.14.0"}]}).encode()
    )
    assert cli(capsys, "--store", s, "submit", "--lane", "x64", path).code == 0
    before = refs(two_folds_store)
    strict = cli(capsys, "--store", s, "fold", "--strict")
    assert strict.code == 3
    expected = (
        "resolve guard: spec '3' would resolve to 3.13.1 instead of 3.14.0 on x64/linux 24.04"
    )
    assert expected in strict.out
    assert refs(two_folds_store) == before
    plain = cli(capsys, "--store", s, "--json", "fold")
    assert plain.code == 0
    data = the_json(plain.out)
    assert data["published"] is True
    assert data["warnings"] == [
        expected,
        expected.replace("spec '3' would resolve to 3.13.1", "spec '3.14' would match nothing"),
    ]
    ran = cli(
        capsys,
        "--store",
        s,
        "resolve",
        "3",
        "--arch",
        "x64",
        "--platform",
        "linux",
        "--platform-version",
        "24.04",
    )
    assert ran.out.startswith("3.13.1 ")


@pytest.mark.parametrize("command", ["reject", "import", "config", "resolve"])
def test_each_operator_command_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    ran = cli(capsys, command, "--help")
    assert ran.code == 0 and f"usage: refold {command}" in ran.out
