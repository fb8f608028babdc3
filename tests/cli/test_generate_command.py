"""refold generate and refold submit --generate: from a build's output directory or a
release asset list to a submitted partial, with binary checks and GitHub Actions output."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tarfile
import zipfile
from pathlib import Path

import pygit2
import pytest

from ._helpers import cli, refs, the_json, write

EM_X86_64, EM_PPC64 = 62, 21
PZ = ["--owner", "IBM", "--repo", "python-versions-pz", "--tag", "3.13.1"]
DOWNLOAD = "https://github.com/IBM/python-versions-pz/releases/download/3.13.1/"


def elf(machine: int) -> bytes:
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    return (ident + struct.pack("<HHI", 2, machine, 1)).ljust(64, b"\0")


def python_tarball(path: Path, machine: int) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in (("bin/python3.13", elf(machine)), ("bin/pip3", b"#!/bin/sh\n")):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            archive.addfile(info, io.BytesIO(data))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """What a ppc64le python build job leaves behind: two archives and their by-products."""
    folder = tmp_path / "dist"
    folder.mkdir()
    python_tarball(folder / "python-3.13.1-linux-22.04-ppc64le.tar.gz", EM_PPC64)
    python_tarball(folder / "python-3.13.1-linux-24.04-ppc64le.tar.gz", EM_PPC64)
    (folder / "python-3.13.1-linux-22.04-ppc64le.sbom.json").write_text("{}")
    (folder / "build.log").write_text("ok\n")
    (folder / "trivy-python-3.13.1.json").write_text("[]")
    (folder / "logs").mkdir()
    return folder


EXCLUDED_STDERR = (
    "refold: excluded: 'build.log' is a build log, not a release artifact\n"
    "refold: excluded: 'logs' is a directory, not a file\n"
    "refold: excluded: 'python-3.13.1-linux-22.04-ppc64le.sbom.json' is an SBOM, not a release artifact\n"
    "refold: excluded: 'trivy-python-3.13.1.json' is a vulnerability scan report, not a release artifact\n"
)


def expected_partial(dist: Path) -> dict[str, object]:
    files = []
    for pv in ("22.04", "24.04"):
        name = f"python-3.13.1-linux-{pv}-ppc64le.tar.gz"
        files.append(
            {
                "filename": name,
                "arch": "ppc64le",
                "platform": "linux",
                "platform_version": pv,
                "download_url": DOWNLOAD + name,
                "sha256": sha256(dist / name),
                "size": (dist / name).stat().st_size,
            }
        )
    release = {
        "version": "3.13.1",
        "stable": True,
        "release_url": "https://github.com/IBM/python-versions-pz/releases/tag/3.13.1",
        "files": files,
    }
    return {"lane": "ppc64le", "releases": [release], "retract": [], "provenance": {}}


def test_generate_prints_the_partial_and_lists_each_exclusion_on_stderr(
    capsys: pytest.CaptureFixture[str], dist: Path
) -> None:
    ran = cli(capsys, "generate", "--dir", str(dist), "--lane", "ppc64le", *PZ)
    assert ran.code == 0, ran.err
    assert json.loads(ran.out) == expected_partial(dist)
    assert ran.out.startswith('{\n  "lane": "ppc64le",\n')  # canonical, 2-space indent
    assert ran.err == EXCLUDED_STDERR


def test_generated_file_submits_and_folds_with_sha256_and_size(
    capsys: pytest.CaptureFixture[str], dist: Path, store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "partial.json"
    ran = cli(capsys, "generate", "--dir", str(dist), "--lane", "ppc64le", *PZ, "-o", str(out))
    assert (ran.code, ran.out) == (0, f"wrote 2 files to {out}\n")
    assert json.loads(out.read_bytes()) == expected_partial(dist)
    assert cli(capsys, "--store", str(store), "submit", "--lane", "ppc64le", str(out)).code == 0
    assert cli(capsys, "--store", str(store), "fold").code == 0
    manifest = json.loads(cli(capsys, "--store", str(store), "show").out)
    assert manifest == [{k: v for k, v in expected_partial(dist)["releases"][0].items()}]  # type: ignore[index]


def test_generate_from_a_github_asset_list_file_and_from_stdin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = "https://github.com/actions/node-versions/releases/download/24.18.0-555/"
    assets = [
        {"name": n, "browser_download_url": base + n, "size": 10, "id": 7}
        for n in ("node-24.18.0-linux-arm64.tar.gz", "node-24.18.0-win32-arm64.7z", "node-24.18.0-linux-x64.tar.gz", "sbom.spdx.json")
    ]
    source = write(tmp_path / "assets.json", json.dumps(assets).encode())
    from_file = cli(capsys, "generate", "--assets", source, "--lane", "arm64")
    assert from_file.code == 0, from_file.err
    (release,) = json.loads(from_file.out)["releases"]
    assert release["release_url"] == "https://github.com/actions/node-versions/releases/tag/24.18.0-555"
    assert [f["filename"] for f in release["files"]] == ["node-24.18.0-linux-arm64.tar.gz", "node-24.18.0-win32-arm64.7z"]
    assert all(f["size"] == 10 and "sha256" not in f for f in release["files"])
    assert from_file.err == (
        "refold: excluded: 'node-24.18.0-linux-x64.tar.gz' is for arch 'x64'; lane 'arm64' publishes arm64\n"
        "refold: excluded: 'sbom.spdx.json' is an SBOM, not a release artifact\n"
    )
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(json.dumps({"assets": assets}).encode())))
    from_stdin = cli(capsys, "generate", "--assets", "-", "--lane", "arm64")
    assert (from_stdin.code, from_stdin.out) == (0, from_file.out)


def test_check_binary_refuses_an_x86_64_build_on_the_ppc64le_lane(
    capsys: pytest.CaptureFixture[str], dist: Path, tmp_path: Path
) -> None:
    python_tarball(dist / "python-3.13.1-linux-24.04-ppc64le.tar.gz", EM_X86_64)
    out = tmp_path / "partial.json"
    ran = cli(capsys, "generate", "--dir", str(dist), "--lane", "ppc64le", *PZ, "--check-binary", "-o", str(out))
    assert ran.code == 2
    assert not out.exists()
    assert (
        "refold: error: python-3.13.1-linux-24.04-ppc64le.tar.gz: bin/python3.13 is ELF x86-64 (x64),"
        " not built for ppc64le\n"
    ) in ran.err
    assert "hint:  the job's arch label and the runner's real architecture disagree" in ran.err


def test_check_binary_reports_what_it_checked(
    capsys: pytest.CaptureFixture[str], dist: Path
) -> None:
    ran = cli(capsys, "generate", "--dir", str(dist), "--lane", "ppc64le", *PZ, "--check-binary")
    assert ran.code == 0, ran.err
    assert ran.err == EXCLUDED_STDERR + "".join(
        f"refold: checked python-3.13.1-linux-{pv}-ppc64le.tar.gz: 1 executable for ppc64le"
        " (bin/python3.13: ELF PowerPC64 little-endian (ppc64le))\n"
        for pv in ("22.04", "24.04")
    )


def test_check_binary_needs_local_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = write(tmp_path / "assets.json", b"[]")
    ran = cli(capsys, "generate", "--assets", source, "--check-binary")
    assert ran.code == 2
    assert "refold: error: --check-binary needs the files themselves" in ran.err


def test_generate_json_reports_partial_files_exclusions_and_checks(
    capsys: pytest.CaptureFixture[str], dist: Path
) -> None:
    ran = cli(capsys, "--json", "generate", "--dir", str(dist), "--lane", "ppc64le", *PZ, "--check-binary")
    assert ran.code == 0, ran.err
    doc = the_json(ran.out)
    assert doc["partial"] == expected_partial(dist)
    assert doc["files"] == ["python-3.13.1-linux-22.04-ppc64le.tar.gz", "python-3.13.1-linux-24.04-ppc64le.tar.gz"]
    assert [e["filename"] for e in doc["excluded"]] == ["build.log", "logs", "python-3.13.1-linux-22.04-ppc64le.sbom.json", "trivy-python-3.13.1.json"]
    assert [c["checked"][0]["binary"]["arches"] for c in doc["checked"]] == [["ppc64le"], ["ppc64le"]]
    assert ran.err == ""


def test_owner_and_repo_default_to_github_repository(
    capsys: pytest.CaptureFixture[str], dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "IBM/python-versions-pz")
    ran = cli(capsys, "generate", "--dir", str(dist), "--lane", "ppc64le", "--tag", "3.13.1")
    assert ran.code == 0, ran.err
    assert json.loads(ran.out) == expected_partial(dist)


def test_a_directory_without_release_files_is_an_error_after_listing_what_it_held(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "build.log").write_text("x")
    ran = cli(capsys, "generate", "--dir", str(tmp_path), *PZ)
    assert ran.code == 2
    assert ran.err.startswith("refold: excluded: 'build.log' is a build log, not a release artifact\n")
    assert "refold: error: no release artifacts to describe (1 file(s) excluded, listed above)" in ran.err


def test_submit_generate_appends_the_generated_partial_to_the_lane(
    capsys: pytest.CaptureFixture[str], dist: Path, store: Path
) -> None:
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "ppc64le", "--generate", "--dir", str(dist), *PZ, "--check-binary")
    assert ran.code == 0, ran.err
    tip = refs(store)["refs/partials/ppc64le"]
    assert ran.out == f"lane ppc64le: submitted {tip[:12]}\n"
    repo = pygit2.Repository(str(store))
    blob = repo.revparse_single(f"{tip}:partial.json")
    assert isinstance(blob, pygit2.Blob)
    stored = json.loads(blob.data)
    assert stored["releases"] == expected_partial(dist)["releases"]
    again = cli(capsys, "--store", str(store), "submit", "--lane", "ppc64le", "--generate", "--dir", str(dist), *PZ)
    assert again.out == f"lane ppc64le: already holds this partial at {tip[:12]} (nothing to do)\n"


def test_submit_generate_with_a_wrong_binary_changes_nothing(
    capsys: pytest.CaptureFixture[str], dist: Path, store: Path
) -> None:
    python_tarball(dist / "python-3.13.1-linux-22.04-ppc64le.tar.gz", EM_X86_64)
    before = refs(store)
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "ppc64le", "--generate", "--dir", str(dist), *PZ, "--check-binary")
    assert ran.code == 2
    assert "bin/python3.13 is ELF x86-64 (x64), not built for ppc64le" in ran.err
    assert refs(store) == before


def test_submit_generate_follows_the_store_url_policy(
    capsys: pytest.CaptureFixture[str], dist: Path, tmp_path: Path
) -> None:
    path = tmp_path / "policy.git"
    assert cli(capsys, "init", str(path), "--url-prefix", "https://github.com/actions/python-versions/").code == 0
    before = refs(path)
    ran = cli(capsys, "--store", str(path), "submit", "--lane", "ppc64le", "--generate", "--dir", str(dist), *PZ)
    assert ran.code == 2
    assert "outside the store's URL policy" in ran.err
    assert refs(path) == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["p.json", "--generate", "--dir", "dist"], "give FILE or --generate, not both"),
        (["--generate"], "--generate needs --dir or --assets"),
        (["--dir", "dist"], "--dir needs --generate"),
        (["p.json", "--check-binary"], "--check-binary needs --generate"),
        ([], "no partial given"),
    ],
)
def test_submit_refuses_mixed_or_missing_inputs(
    capsys: pytest.CaptureFixture[str], store: Path, argv: list[str], message: str
) -> None:
    before = refs(store)
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "x64", *argv)
    assert ran.code == 2
    assert f"refold: error: {message}\n" in ran.err
    assert refs(store) == before


def test_generate_in_github_actions_writes_summary_and_outputs(
    capsys: pytest.CaptureFixture[str], dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    out = tmp_path / "partial.json"
    ran = cli(capsys, "generate", "--dir", str(dist), "--lane", "ppc64le", *PZ, "--check-binary", "-o", str(out))
    assert ran.code == 0, ran.err
    assert summary.read_text() == (
        "### refold generate\n"
        "\n"
        "| file | version | arch | binary check |\n"
        "| --- | --- | --- | --- |\n"
        "| python-3.13.1-linux-22.04-ppc64le.tar.gz | 3.13.1 | ppc64le | ok |\n"
        "| python-3.13.1-linux-24.04-ppc64le.tar.gz | 3.13.1 | ppc64le | ok |\n"
        "\n"
        "| excluded | reason |\n"
        "| --- | --- |\n"
        "| build.log | 'build.log' is a build log, not a release artifact |\n"
        "| logs | 'logs' is a directory, not a file |\n"
        "| python-3.13.1-linux-22.04-ppc64le.sbom.json | 'python-3.13.1-linux-22.04-ppc64le.sbom.json' is an SBOM, not a release artifact |\n"
        "| trivy-python-3.13.1.json | 'trivy-python-3.13.1.json' is a vulnerability scan report, not a release artifact |\n"
    )
    assert output.read_text() == (
        f"partial<<refold_EOF\n{out}\nrefold_EOF\n"
        "files<<refold_EOF\n2\nrefold_EOF\n"
        "excluded<<refold_EOF\n4\nrefold_EOF\n"
    )


def test_submit_generate_in_github_actions_summarises_both_steps(
    capsys: pytest.CaptureFixture[str], store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "win"
    folder.mkdir()
    with zipfile.ZipFile(folder / "python-3.12.4-win32-x86.zip", "w") as archive:
        stub = bytearray(b"MZ".ljust(0x80, b"\0"))
        struct.pack_into("<I", stub, 0x3C, 0x80)
        archive.writestr("python.exe", bytes(stub) + b"PE\0\0" + struct.pack("<H", 0x014C))
    (folder / "python-3.12.4-win32-x86.zip.sha256").write_text("x\n")
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    ran = cli(capsys, "--store", str(store), "submit", "--lane", "x86", "--generate", "--dir", str(folder), "--owner", "actions", "--repo", "python-versions", "--tag", "3.12.4-1", "--check-binary")
    assert ran.code == 0, ran.err
    tip = refs(store)["refs/partials/x86"]
    assert summary.read_text() == (
        "### refold submit\n"
        "\n"
        f"Lane `x86`: submitted `{tip}`\n"
        "\n"
        "| file | version | arch | binary check |\n"
        "| --- | --- | --- | --- |\n"
        "| python-3.12.4-win32-x86.zip | 3.12.4 | x86 | ok |\n"
        "\n"
        "| excluded | reason |\n"
        "| --- | --- |\n"
        "| python-3.12.4-win32-x86.zip.sha256 | 'python-3.12.4-win32-x86.zip.sha256' is a checksum file, not a release artifact |\n"
    )
    assert output.read_text() == (
        f"commit<<refold_EOF\n{tip}\nrefold_EOF\n"
        "lane<<refold_EOF\nx86\nrefold_EOF\n"
        "noop<<refold_EOF\nfalse\nrefold_EOF\n"
    )
