"""Fixtures for the command-line tests: stores built with the library, partials on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from refold.store.compact import fold_store
from refold.store.init import init_store
from refold.store.submit import submit

from ._helpers import partial_json


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A new, empty store."""
    path = tmp_path / "store.git"
    init_store(path)
    return path


@pytest.fixture
def held_back_store(tmp_path: Path) -> Path:
    """arm64 and x64/a pending and foldable; x64/b pending with a conflict: it resubmits
    the file x64/a wrote, so the fold holds x64/b back and publishes the other two."""
    path = tmp_path / "held.git"
    opened = init_store(path)
    submit(opened, "x64/a", partial_json("3.13.1", "x64"))
    submit(opened, "x64/b", partial_json("3.13.1", "x64"))
    submit(opened, "arm64", partial_json("3.13.1", "arm64"))
    return path


@pytest.fixture
def two_folds_store(tmp_path: Path) -> Path:
    """Two publications after init: 3.13.1 (x64), then 3.14.0 (x64)."""
    path = tmp_path / "history.git"
    opened = init_store(path)
    submit(opened, "x64", partial_json("3.13.1", "x64"))
    assert fold_store(opened).commit is not None
    submit(opened, "x64", partial_json("3.14.0", "x64"))
    assert fold_store(opened).commit is not None
    return path
