"""What every scenario shares: timing, curve fitting, the machine, tables, a quiet git.

Timings are wall-clock ``perf_counter`` medians over repetitions with the garbage
collector flushed before each one, because the question is "how long does a pipeline
wait", not "how many cycles": disk, fork and exec costs belong in the figure.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import version
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
"""The project checkout, so job processes can find ``bench`` whatever the caller's cwd."""
PYCACHE = Path(tempfile.gettempdir()) / "refold-bench-pycache"


class Sizes(msgspec.Struct, kw_only=True):
    """Every size a run uses; ``--quick`` and the command-line overrides edit one of these."""

    reps: int = 7
    batch_seconds: float = 0.05
    """How long each timed batch of a millisecond function runs (see per_call)."""
    fanin_jobs: tuple[int, ...] = (4, 16, 64)
    fanin_repeat: int = 3
    git_attempts: int = 100
    compactors: int = 2
    growth_files: tuple[int, ...] = (1_000, 3_000, 10_000, 30_000, 100_000)
    growth_pending: tuple[int, ...] = (1, 10, 100, 1_000)
    growth_history: tuple[int, ...] = (100, 1_000, 10_000)
    growth_reps: int = 3


QUICK = Sizes(
    reps=5,
    fanin_jobs=(4, 16),
    fanin_repeat=1,
    growth_files=(1_000, 3_000, 10_000),
    growth_pending=(1, 10, 100),
    growth_history=(100, 1_000),
    growth_reps=2,
)
SMOKE = Sizes(
    reps=1,
    batch_seconds=0.002,
    fanin_jobs=(4,),
    fanin_repeat=1,
    growth_files=(1_000,),
    growth_pending=(1, 4),
    growth_history=(8,),
    growth_reps=1,
)
"""The smallest sizes that still exercise every code path (the smoke test's)."""


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_time(fn: Callable[[], object], reps: int, *, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    return statistics.median(timed(fn) for _ in range(max(1, reps)))


def per_call(fn: Callable[[], object], reps: int, *, batch_seconds: float = 0.05) -> float:
    """Best per-call time over ``reps`` batches, each long enough to swamp timer noise.

    For millisecond functions a single call mostly measures page faults of fresh buffers
    and the collector; batches measure the code path itself, for refold and its floor
    alike. The best batch, not the median, because on a shared machine other processes
    only ever add time: the minimum is the figure least disturbed by them.
    """
    def batch(count: int) -> float:
        return timed(lambda: [fn() for _ in range(count)]) / count

    fn()
    number = 1
    while number < 1 << 16 and batch(number) * number < batch_seconds:
        number *= 2
    return min(batch(number) for _ in range(max(1, reps)))


def log_log_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of log(y) on log(x): the exponent k in y ~ x**k."""
    points = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if len(points) < 2:
        return None
    mx = statistics.fmean(p[0] for p in points)
    my = statistics.fmean(p[1] for p in points)
    den = sum((p[0] - mx) ** 2 for p in points)
    if den == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in points) / den


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """(fixed cost, cost per unit) of the least-squares line y = a + b * x."""
    if len(xs) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    if den == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den
    return my - slope * mx, slope


def _first_line(argv: Sequence[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    except OSError:
        return "unavailable"
    return out.strip().splitlines()[0] if out.strip() else "unavailable"


def machine() -> dict[str, object]:
    """What the figures were measured on, for docs/benchmarks.md."""
    from bench.floor import libgit2_version

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "pygit2": version("pygit2"),
        "libgit2": libgit2_version(),
        "msgspec": msgspec.__version__,
        "git": _first_line(["git", "--version"]),
        "platform": platform.platform(),
    }


def git_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment where no user or system git config can change what git does."""
    env = dict(os.environ if base is None else base)
    for var in list(env):
        if var.startswith(("GIT_", "REFOLD_", "GITHUB_")):
            del env[var]
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.invalid",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.invalid",
        GIT_TERMINAL_PROMPT="0",
    )
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    # Job processes keep compiled bytecode, as an installed package in CI does; the cache
    # lives outside the tree so the checkout stays clean.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def warm_up() -> None:
    """Fill the bytecode cache so no timed process pays for compiling refold."""
    env = git_env()
    subprocess.run(refold_argv("--version"), capture_output=True, env=env, check=True)
    code = "import refold.cli.main, refold.store.compact, json, subprocess, re"
    subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)


def refold_argv(*args: str) -> list[str]:
    """The ``refold`` command run the way a CI job runs it: a fresh process."""
    return [sys.executable, "-m", "refold", *args]


def run_git(argv: Sequence[str], *, cwd: str | os.PathLike[str] | None = None, data: bytes | None = None) -> bytes:
    out = subprocess.run(
        ["git", *argv], cwd=cwd, input=data, capture_output=True, env=git_env(), check=True
    )
    return out.stdout


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1e-3:
        return f"{value * 1e6:.0f} us"
    if value < 1:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, so the same text serves the terminal and docs/benchmarks.md."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)
