"""Deterministic crash points for the crash-injection tests (a no-op in normal runs).

``REFOLD_FAULT=name`` makes the process SIGKILL itself when it reaches the point of that
name, so a test can stop refold exactly between two steps (say, after the fold commit is
written and before the ref moves) and check nothing is lost. ``name@N`` fires on the Nth
time the point is reached.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def fault_point(name: str) -> None:
    wanted = os.environ.get("REFOLD_FAULT")
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
