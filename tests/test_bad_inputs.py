"""Invariant 7 over a corpus: every bad input to ``refold submit`` gets exit 2, a message
naming what is wrong, and changes nothing in the store.

Each case is one file in ``tests/data/bad/``: its first line is the expectation (JSON),
every byte after that line is the input exactly as a build job would hand it over (see
the README there). Adding a case is adding a file.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from refold.cli.main import main
from refold.manifests.config import StoreConfig
from refold.store.init import init_store
from refold.store.repo import Store, all_refs
from refold.store.submit import submit

CASES = Path(__file__).parent / "data" / "bad"
SRC = Path(__file__).resolve().parents[1] / "src"
DOWNLOAD = "https://github.com/actions/python-versions/releases/download"


class Limits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Run the case in its own process and hold it to these (generous) bounds."""

    rss_mb: int
    seconds: float


class Expect(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    lane: str
    kind: str
    """schema, policy or usage: the ``kind`` of the --json error document."""
    message: str
    """A fragment the error on stderr must contain."""
    where: str = ""
    """A fragment its location must contain: a JSON path, ``--lane``."""
    exit: int = 2
    config: dict[str, Any] = {}
    """StoreConfig fields for the store the case runs against (say, a url_prefix)."""
    lanes: list[str] = []
    """Lanes that already hold a partial before the case runs (ref-name clashes)."""
    generate: list[tuple[str, int]] = []
    """Input built at test time as (text, repeat) pieces, for inputs too big to commit."""
    limits: Limits | None = None
    stdin: bool = False
    note: str = ""


def load_case(path: Path) -> tuple[Expect, bytes]:
    head, _, body = path.read_bytes().partition(b"\n")
    expect = msgspec.json.decode(head, type=Expect)
    if expect.generate:
        assert not body, f"{path.name}: give either input bytes or a generate spec"
        body = "".join(text * times for text, times in expect.generate).encode()
    return expect, body


def valid_partial(lane: str, version: str) -> bytes:
    arch = lane.split("/", 1)[0]
    filename = f"python-{version}-linux-24.04-{arch}.tar.gz"
    entry = {
        "filename": filename,
        "arch": arch,
        "platform": "linux",
        "platform_version": "24.04",
        "download_url": f"{DOWNLOAD}/{version}-1/{filename}",
    }
    release = {"version": version, "stable": True, "release_url": "", "files": [entry]}
    return json.dumps({"releases": [release]}).encode()


def store_for(expect: Expect, path: Path) -> Store:
    store = init_store(path, config=StoreConfig(**expect.config))
    for lane in expect.lanes:
        submit(store, lane, valid_partial(lane, "3.12.0"), env={})
    return store


def store_files(store: Store) -> dict[str, bytes]:
    """Every file in the git directory: refs, objects, logs; nothing may appear or change."""
    root = Path(store.path)
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


class Ran(msgspec.Struct, frozen=True):
    code: int
    out: str
    err: str


def run_in_process(
    argv: list[str],
    stdin: bytes | None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Ran:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    return Ran(code=code, out=captured.out, err=captured.err)


_MEASURED = """\
import json, resource, sys, time
from refold.cli.main import main

def peak_kb():
    # VmHWM is this process image's own peak; ru_maxrss on Linux also counts the parent
    # (pytest) the child was forked from.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

before = peak_kb()
start = time.perf_counter()
code = main(sys.argv[2:])
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "rss_growth_kb": peak_kb() - before, "seconds": seconds}, out)
"""


def run_measured(argv: list[str], limits: Limits, tmp_path: Path) -> tuple[Ran, dict[str, Any]]:
    """``refold ARGV`` in its own interpreter, reporting its peak RSS growth and time."""
    figures = tmp_path / "figures.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(figures), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=limits.seconds * 2,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(figures.read_text())
    return Ran(code=measured["code"], out=done.stdout, err=done.stderr), measured


@pytest.mark.parametrize("case", sorted(CASES.glob("*.case")), ids=lambda path: path.stem)
def test_a_bad_input_exits_2_with_its_message_and_changes_nothing(
    case: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expect, data = load_case(case)
    store = store_for(expect, tmp_path / "store")
    refs_before = all_refs(store.repo)
    files_before = store_files(store)
    source = "-"
    if not expect.stdin:
        source = str(tmp_path / "partial.json")
        Path(source).write_bytes(data)
    argv = ["--store", store.path, "--json", "submit", "--lane", expect.lane, source]

    if expect.limits is None:
        ran = run_in_process(argv, data if expect.stdin else None, capsys, monkeypatch)
    else:
        ran, measured = run_measured(argv, expect.limits, tmp_path)
        assert measured["rss_growth_kb"] < expect.limits.rss_mb * 1024, measured
        assert measured["seconds"] < expect.limits.seconds, measured

    assert ran.code == expect.exit, ran.err
    error = json.loads(ran.out)["error"]
    assert error["kind"] == expect.kind, error
    assert expect.message in ran.err, ran.err
    assert expect.where in error["location"], error
    assert ran.err.startswith("refold: error: "), ran.err
    assert "Traceback" not in ran.err
    assert all_refs(store.repo) == refs_before
    assert store_files(store) == files_before


def test_the_corpus_covers_at_least_forty_cases() -> None:
    cases = [load_case(path)[0] for path in CASES.glob("*.case")]
    assert len(cases) >= 40
    assert all(case.message for case in cases), "every case names its expected message"
