"""refold init: new stores, adopting today's manifest, branch and manifest path, refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pygit2
import pytest

from refold.store.repo import open_store, read_published

from ._helpers import (
    cli,
    manifest_bytes,
    python_file,
    refold,
    refs,
    release,
    shared_data,
    the_json,
    write,
)


def _generated_manifest() -> bytes:
    """A small upstream-style manifest that is already canonical: newest release first,
    files by filename, platform_version absent on darwin and win32."""
    return manifest_bytes(
        [
            release("3.14.0-rc.1", [python_file("3.14.0-rc.1", "x64", "linux", "24.04")]),
            release(
                "3.13.1",
                [
                    python_file("3.13.1", "arm64", "darwin", None),
                    python_file("3.13.1", "x64", "linux", "22.04"),
                    python_file("3.13.1", "x64", "linux", "24.04"),
                    python_file("3.13.1", "x64", "win32", None),
                ],
            ),
            release("3.12.8", [python_file("3.12.8", "x64", "win32", None)]),
        ]
    )


def _tree_paths(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> list[str]:
    out = []
    for entry in tree:
        obj = repo[entry.id]
        if isinstance(obj, pygit2.Tree):
            out += _tree_paths(repo, obj, f"{prefix}{entry.name}/")
        else:
            out.append(f"{prefix}{entry.name}")
    return sorted(out)


def test_init_creates_a_store_with_an_empty_manifest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "new.git"
    ran = cli(capsys, "init", str(path))
    assert ran.code == 0, ran.err
    assert ran.out.startswith(f"created store {path} (main at ")
    assert "0 releases, 0 files" in ran.out
    assert list(refs(path)) == ["refs/heads/main"]
    ran = cli(capsys, "--store", str(path), "show")
    assert ran.out == "[]\n"


def test_init_import_then_show_prints_the_imported_manifest_byte_for_byte(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _generated_manifest()
    source = write(tmp_path / "versions-manifest.json", data)
    path = tmp_path / "store.git"
    ran = cli(capsys, "--json", "init", str(path), "--import", source)
    assert ran.code == 0, ran.err
    doc = the_json(ran.out)
    assert doc == {
        "store": str(path),
        "branch": "main",
        "commit": refs(path)["refs/heads/main"],
        "releases": 3,
        "files": 6,
    }
    shown = cli(capsys, "--store", str(path), "show")
    assert shown.code == 0
    assert shown.out.encode() == data


def test_init_import_of_the_real_python_versions_manifest_round_trips_byte_for_byte(
    tmp_path: Path,
) -> None:
    source = shared_data() / "python-versions" / "versions-manifest.json"
    path = tmp_path / "store.git"
    created = refold("init", str(path), "--import", str(source))
    assert created.returncode == 0, created.stderr.decode()
    assert b"248 releases, 2237 files" in created.stdout
    shown = refold("--store", str(path), "show")
    assert shown.returncode == 0, shown.stderr.decode()
    assert shown.stdout == source.read_bytes()


def test_init_import_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = _generated_manifest()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    ran = cli(capsys, "init", str(tmp_path / "s.git"), "--import", "-")
    assert ran.code == 0, ran.err
    assert cli(capsys, "--store", str(tmp_path / "s.git"), "show").out.encode() == data


def test_init_branch_makes_that_branch_the_public_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "store.git"
    source = write(tmp_path / "m.json", _generated_manifest())
    ran = cli(capsys, "init", str(path), "--branch", "release", "--import", source)
    assert ran.code == 0, ran.err
    assert "(release at " in ran.out
    assert list(refs(path)) == ["refs/heads/release"]
    assert open_store(path).public_ref == "refs/heads/release"
    assert cli(capsys, "--store", str(path), "show").out.encode() == _generated_manifest()
    status = the_json(cli(capsys, "--store", str(path), "--json", "status").out)
    assert status["public_ref"] == "refs/heads/release"


def test_init_manifest_path_nests_the_manifest_and_show_still_finds_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "store.git"
    source = write(tmp_path / "m.json", _generated_manifest())
    ran = cli(
        capsys,
        "init",
        str(path),
        "--manifest-path",
        "data/versions-manifest.json",
        "--import",
        source,
    )
    assert ran.code == 0, ran.err
    repo = pygit2.Repository(str(path))
    tree = repo.revparse_single("main").peel(pygit2.Commit).tree
    assert "data/versions-manifest.json" in _tree_paths(repo, tree)
    assert "versions-manifest.json" not in _tree_paths(repo, tree)
    shown = cli(capsys, "--store", str(path), "--json", "show")
    assert the_json(shown.out)["path"] == "data/versions-manifest.json"
    assert cli(capsys, "--store", str(path), "show").out.encode() == _generated_manifest()


def test_init_indent_and_url_prefix_go_into_the_store_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "store.git"
    prefix = "https://github.com/actions/python-versions/releases/download/"
    ran = cli(capsys, "init", str(path), "--indent", "4", "--url-prefix", prefix)
    assert ran.code == 0, ran.err
    config = read_published(open_store(path)).config
    assert (config.indent, config.url_prefix) == (4, prefix)


def test_init_takes_the_store_from_store_flag_or_refold_store(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert cli(capsys, "--store", str(tmp_path / "a.git"), "init").code == 0
    monkeypatch.setenv("REFOLD_STORE", str(tmp_path / "b.git"))
    assert cli(capsys, "init").code == 0
    assert list(refs(tmp_path / "a.git")) == list(refs(tmp_path / "b.git")) == ["refs/heads/main"]


def test_init_into_a_non_empty_directory_is_refused_and_leaves_it_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("keep me\n")
    ran = cli(capsys, "init", str(target))
    assert ran.code == 2
    assert "is not an empty git repository" in ran.err
    assert "hint:" in ran.err
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "keep me\n"


def test_init_over_an_existing_store_is_refused_and_changes_no_ref(
    capsys: pytest.CaptureFixture[str], two_folds_store: Path
) -> None:
    before = refs(two_folds_store)
    ran = cli(capsys, "init", str(two_folds_store), "--branch", "other")
    assert ran.code == 2
    assert "already has refs" in ran.err
    assert refs(two_folds_store) == before


def test_init_adopts_an_empty_repository(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "empty.git"
    pygit2.init_repository(str(path), bare=True)
    ran = cli(capsys, "init", str(path))
    assert ran.code == 0, ran.err
    assert list(refs(path)) == ["refs/heads/main"]


@pytest.mark.parametrize(
    ("flags", "flag"),
    [
        (["--indent", "12"], "--indent"),
        (["--manifest-path", "../outside.json"], "--manifest-path"),
        (["--manifest-path", ".refold/x.json"], "--manifest-path"),
        (["--url-prefix", "http://example.com/"], "--url-prefix"),
        (["--branch", "a..b"], "--branch"),
        (["--indent", "two"], "--indent"),
    ],
)
def test_bad_init_options_name_the_flag_and_create_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], flag: str
) -> None:
    path = tmp_path / "new.git"
    ran = cli(capsys, "init", str(path), *flags)
    assert ran.code == 2
    what, where, _hint = ran.err.splitlines()[-3:]
    assert where.startswith("  where: ")
    assert flag in what + where
    assert not path.exists()


def test_init_import_of_an_invalid_manifest_exits_2_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = json.loads(_generated_manifest())
    broken[1]["files"][0]["arch"] = 64
    source = write(tmp_path / "m.json", json.dumps(broken).encode())
    path = tmp_path / "new.git"
    ran = cli(capsys, "--json", "init", str(path), "--import", source)
    assert ran.code == 2
    error = the_json(ran.out)["error"]
    assert error["kind"] == "schema"
    assert error["location"].startswith(source)
    assert "$[1].files[0].arch" in error["location"]
    assert not path.exists()


def test_init_import_of_a_missing_file_exits_2_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "new.git"
    ran = cli(capsys, "init", str(path), "--import", str(tmp_path / "absent.json"))
    assert ran.code == 2
    assert "does not exist" in ran.err
    assert not path.exists()
