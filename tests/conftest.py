"""Shared fixtures: keep every test away from the user's git config and home directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


SOAK_SECONDS = 600.0
"""How long ``--soak`` without a value runs the sustained-load test."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run long concurrency/crash/soak tests")
    parser.addoption(
        "--soak",
        nargs="?",
        type=float,
        const=SOAK_SECONDS,
        default=None,
        metavar="SECONDS",
        help=f"run the sustained-load test for SECONDS (default {SOAK_SECONDS:.0f}) "
        "instead of its CI size",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _isolated_git_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Empty libgit2's config search path so a developer's own git config never applies."""
    from pygit2 import enums, settings

    empty = str(tmp_path_factory.mktemp("gitconfig"))
    levels = (enums.ConfigLevel.GLOBAL, enums.ConfigLevel.XDG, enums.ConfigLevel.SYSTEM)
    saved = {level: settings.search_path[level] for level in levels}
    for level in levels:
        settings.search_path[level] = empty
    yield
    for level, value in saved.items():
        settings.search_path[level] = value


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in list(__import__("os").environ):
        if var.startswith(("GITHUB_", "REFOLD_", "RUNNER_")) or var == "CI":
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))


def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (conformance data is optional)")
    return SHARED_DATA


_ = pygit2
