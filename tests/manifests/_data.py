"""The optional conformance data (../shared/data), as tests/conftest.py finds it.

tests/ is not a package, so its conftest cannot be imported from here; this is the same
three-line helper.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (conformance data is optional)")
    return SHARED_DATA
