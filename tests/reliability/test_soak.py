"""Sustained load: writers submit continuously to a store behind a loopback git server while
two compactors fold; afterwards nothing acknowledged is lost or published twice.

CI runs it for CI_SECONDS; ``pytest tests/reliability --soak [SECONDS]`` (or
``python -m bench.soak``) runs it longer. Fold latency percentiles are printed in the
summary's "reliability figures" section. Latency is reported, never asserted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from . import harness

CI_SECONDS = 20.0


def test_sustained_load_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, request: pytest.FixtureRequest, reliability_figures: Callable[[str, str], None]
) -> None:
    seconds = request.config.getoption("--soak") or CI_SECONDS
    remote = harness.has_git_daemon()
    figures = harness.run_soak(tmp_path, seconds, remote=remote)
    reliability_figures("sustained load", figures.summary())
    if not remote:
        reliability_figures("sustained load", "no git daemon here: ran on a local store instead")
    print(f"sustained load: {figures.summary()}")
    assert figures.problems == []
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert figures.acknowledged >= figures.writers
    assert figures.folds >= 1
