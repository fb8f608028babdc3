"""A git server on loopback for the remote-store tests.

``git daemon --enable=receive-pack`` serves a directory of bare repositories on
127.0.0.1 at a free port (found by binding port 0), started and stopped by the
``git_server`` fixture; ``served_store`` creates a store in it with refold's pre-receive
hook installed, as an operator would on a real server.

Also runnable as a module (``python -m store.daemon ROLE ...`` from ``tests/``) so the concurrency test can start real writer and compactor processes that talk
to the server only through refold's API.
"""

from __future__ import annotations

import http.server
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pygit2
import pytest

from refold.store.compact import fold_store
from refold.store.hook import install_hook
from refold.store.init import init_store
from refold.store.remote import LoopbackServer, git_daemon
from refold.store.repo import open_store
from refold.store.submit import submit

from .helpers import partial_bytes

TESTS = Path(__file__).resolve().parents[1]


class Served(msgspec.Struct, frozen=True):
    """A running server: where its repositories live and how clients address them."""

    server: LoopbackServer
    base: Path
    log: Path

    def url(self, name: str) -> str:
        return self.server.url(name)

    def path(self, name: str) -> Path:
        return self.base / name

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[Served]:
    base = tmp_path / "served"
    base.mkdir()
    log = tmp_path / "git-daemon.log"
    with git_daemon(base, log=log) as server:
        yield Served(server=server, base=base, log=log)


def served_store(served: Served, name: str = "store.git", *, hook: bool = True, **init: Any) -> str:
    """Create a store on the server side (as its operator would) and return its URL."""
    path = served.path(name)
    init_store(path, **init)
    if hook:
        install_hook(path)
    return served.url(name)


def empty_repository(served: Served, name: str = "empty.git", *, hook: bool = True) -> str:
    path = served.path(name)
    pygit2.init_repository(str(path), bare=True, initial_head="main")
    if hook:
        install_hook(path)
    return served.url(name)


class _Refusing(http.server.BaseHTTPRequestHandler):
    """An https-like git server that wants credentials and refuses every one it gets."""

    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="store"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[tuple[str, list[str | None]]]:
    seen: ClassVar[list[str | None]] = []
    handler = type("Handler", (_Refusing,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/org/store.git", seen
    finally:
        server.shutdown()
        server.server_close()


def start_role(*args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """This module as a separate process (a build job or a compactor on another runner)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "store.daemon", *args],
        cwd=TESTS,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


# --- script roles ----------------------------------------------------------------------


def _emit(record: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def role_writer(url: str, lane: str, writer: str, count: str, pause: str) -> None:
    """Submit ``count`` distinct partials on ``lane`` over the network."""
    rng = random.Random(int(writer))
    store = open_store(url, lanes=False)
    for i in range(int(count)):
        version = f"3.{10 + int(writer)}.{i}"
        env = {"GITHUB_RUN_ID": f"{writer}-{i}"}
        result = submit(store, lane, partial_bytes(lane, version), env=env)
        _emit(
            {"lane": lane, "commit": result.commit, "noop": result.noop, "retries": result.retries}
        )
        time.sleep(rng.uniform(0, float(pause)))


def role_compactor(url: str, stop_file: str, pause: str) -> None:
    """Fold until ``stop_file`` exists, resting ``pause`` s when there was nothing to fold."""
    store = open_store(url)
    stop = Path(stop_file)
    while not stop.exists():
        outcome = fold_store(store)
        if outcome.commit is not None:
            _emit(
                {"commit": outcome.commit, "previous": outcome.previous, "retries": outcome.retries}
            )
        else:
            time.sleep(float(pause))


ROLES = {"writer": role_writer, "compactor": role_compactor}

if __name__ == "__main__":
    levels = (
        pygit2.enums.ConfigLevel.GLOBAL,
        pygit2.enums.ConfigLevel.XDG,
        pygit2.enums.ConfigLevel.SYSTEM,
    )
    for level in levels:
        pygit2.settings.search_path[level] = os.devnull
    ROLES[sys.argv[1]](*sys.argv[2:])
