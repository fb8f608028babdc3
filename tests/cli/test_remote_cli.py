"""The refold command against remote stores, and ``refold hook``."""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path

import pygit2
import pytest
from store.daemon import Served, empty_repository, git_server, refusing_server, served_store

from refold.store.init import init_store
from refold.store.repo import all_refs, open_repository

from ._helpers import cli, partial_json, refold, the_json

__all__ = ["git_server", "refusing_server"]


def _served_refs(served: Served, name: str = "store.git") -> dict[str, str]:
    return all_refs(open_repository(str(served.path(name))))


def test_init_submit_fold_and_show_work_with_a_git_url(
    git_server: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = empty_repository(git_server, "store.git")
    assert cli(capsys, "init", url).code == 0
    partial = tmp_path / "x64.json"
    partial.write_bytes(partial_json("3.13.1", "x64"))
    submitted = cli(capsys, "submit", "--store", url, "--lane", "x64", str(partial), "--json")
    assert submitted.code == 0, submitted.err
    record = the_json(submitted.out)
    assert record["retries"] == 0 and record["noop"] is False
    folded = cli(capsys, "fold", "--store", url, "--json")
    assert folded.code == 0, folded.err
    fold = the_json(folded.out)
    assert fold["retries"] == 0 and fold["folded"] == {"x64": 1}
    assert _served_refs(git_server) == {
        "refs/heads/main": fold["commit"],
        "refs/partials/x64": record["commit"],
    }
    shown = cli(capsys, "show", "--store", url)
    assert shown.code == 0 and "python-3.13.1-linux-24.04-x64.tar.gz" in shown.out


def test_refold_store_may_name_a_file_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "store.git"
    init_store(target)
    monkeypatch.setenv("REFOLD_STORE", target.as_uri())
    partial = tmp_path / "arm64.json"
    partial.write_bytes(partial_json("3.13.1", "arm64"))
    assert cli(capsys, "submit", "--lane", "arm64", str(partial)).code == 0
    assert cli(capsys, "fold").code == 0
    assert set(all_refs(open_repository(str(target)))) == {
        "refs/heads/main",
        "refs/partials/arm64",
    }


def test_an_unreachable_store_is_exit_2_with_a_clear_message_and_no_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran = cli(capsys, "status", "--store", "git://127.0.0.1:1/store.git", "--json")
    assert ran.code == 2
    assert "refold: error: cannot reach 127.0.0.1" in ran.err and "Traceback" not in ran.err
    assert the_json(ran.out)["error"]["kind"] == "remote"


def test_a_missing_repository_on_the_server_is_exit_2(
    git_server: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = cli(capsys, "status", "--store", git_server.url("absent.git"))
    assert ran.code == 2 and "no repository at" in ran.err and "Traceback" not in ran.err


TOKEN = "cli-T0KEN-never-printed-41f7"


def test_a_refused_token_is_never_printed_by_the_command(
    refusing_server: tuple[str, list[str | None]], tmp_path: Path
) -> None:
    url, seen = refusing_server
    env = {"REFOLD_TOKEN": TOKEN, "REFOLD_STORE": url}
    for argv in (["status"], ["fold", "--json"], ["submit", "--lane", "x64", "-"]):
        ran = refold(*argv, env={**os.environ, **env}, stdin=partial_json("3.13.1", "x64"))
        out, err = ran.stdout.decode(), ran.stderr.decode()
        assert ran.returncode == 2, err
        assert "refused the credentials" in err and "Traceback" not in err
        assert TOKEN not in out and TOKEN not in err
    assert any(seen)
    cache = tmp_path / "cache"
    assert not [p for p in cache.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]


def test_hook_install_writes_an_executable_pre_receive_hook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init_store(tmp_path / "store.git")
    ran = cli(capsys, "hook", "install", str(tmp_path / "store.git"), "--json")
    assert ran.code == 0, ran.err
    hook = Path(the_json(ran.out)["hook"])
    assert hook == tmp_path / "store.git" / "hooks" / "pre-receive"
    assert hook.stat().st_mode & stat.S_IXUSR and sys.executable in hook.read_text()


def test_hook_install_refuses_a_checkout_and_a_foreign_hook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pygit2.init_repository(str(tmp_path / "checkout"), bare=False)
    ran = cli(capsys, "hook", "install", str(tmp_path / "checkout"))
    assert ran.code == 2 and "not a bare repository" in ran.err
    init_store(tmp_path / "store.git")
    foreign = tmp_path / "store.git" / "hooks" / "pre-receive"
    foreign.parent.mkdir(exist_ok=True)
    foreign.write_text("#!/bin/sh\nexit 0\n")
    ran = cli(capsys, "hook", "install", str(tmp_path / "store.git"))
    assert ran.code == 2 and "--force" in ran.err
    assert foreign.read_text() == "#!/bin/sh\nexit 0\n"
    assert cli(capsys, "hook", "install", str(tmp_path / "store.git"), "--force").code == 0


def test_hook_run_refuses_input_that_is_not_pre_receive_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init_store(tmp_path / "store.git")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "store.git"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("hello\n"))
    ran = cli(capsys, "hook", "run")
    assert ran.code == 2 and "not '<old> <new> <ref>'" in ran.err


def test_hook_run_prints_each_refusal_for_git_to_relay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = init_store(tmp_path / "store.git")
    tip = str(store.repo.references["refs/heads/main"].target)
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "store.git"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{tip} {'0' * 40} refs/heads/main\n"))
    ran = cli(capsys, "hook", "run")
    assert ran.code == 2
    assert ran.err == "refold: rejected refs/heads/main: the public ref is never deleted\n"


def test_a_push_refused_by_the_server_hook_is_exit_2_naming_the_reason(
    git_server: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = served_store(git_server)
    before = _served_refs(git_server)
    partial = tmp_path / "x64.json"
    partial.write_bytes(partial_json("3.13.1", "x64"))
    # a server whose own policy refuses what the client found valid
    hook = git_server.path("store.git") / "hooks" / "pre-receive"
    refuse = "echo 'refold: rejected refs/partials/x64: closed for maintenance' >&2; exit 1\n"
    hook.write_text(hook.read_text().replace("exec ", refuse + "exec "))
    ran = cli(capsys, "submit", "--store", url, "--lane", "x64", str(partial))
    assert ran.code == 2, ran.err
    assert "refused to update refs/partials/x64" in ran.err and "closed for maintenance" in ran.err
    assert _served_refs(git_server) == before
