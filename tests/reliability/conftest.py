"""The figures the reliability suite prints after every run (``--soak`` is in tests/conftest.py).

The crash and soak tests record what they measured (kills survived, partials lost, fold
latency) through the ``reliability_figures`` fixture; they are printed in their own
section of the terminal summary, so a plain ``pytest -q`` shows them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

_FIGURES = pytest.StashKey[dict[str, list[str]]]()

@pytest.fixture
def reliability_figures(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """``record(title, line)``: a line for the reliability section of the summary."""

    def record(title: str, line: str) -> None:
        request.config.stash.setdefault(_FIGURES, {}).setdefault(title, []).append(line)

    return record


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    figures = config.stash.get(_FIGURES, {})
    if not figures:
        return
    terminalreporter.section("reliability figures")
    for title, lines in figures.items():
        terminalreporter.write_line(f"{title}:")
        for line in lines:
            terminalreporter.write_line(f"  {line}")
