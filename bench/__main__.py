"""``python -m bench``: run the scenarios, print their tables, optionally write JSON.

Scenarios (see docs/benchmarks.md): ``model`` (decode + fold + render against msgspec),
``fanin`` (N jobs against retry-and-rebase), ``floor`` (one fold against the least git
work), ``growth`` (fold/status as manifest, pending work and history grow) and
``profile`` (cProfile of the slowest in-process paths). ``--quick`` fits in two minutes
on two cores; ``--smoke`` is the smallest run that still checks every correctness figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from bench import decode_fold_render, fanin, floor, growth, profiling, remote
from bench.common import QUICK, SMOKE, Sizes, machine

SCENARIOS = ("model", "fanin", "floor", "growth", "remote", "profile")


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part.replace("_", "")) for part in text.split(",") if part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes: under two minutes on 2 cores")
    mode.add_argument("--smoke", action="store_true", help="smallest sizes: the CI correctness check")
    parser.add_argument("--out", metavar="FILE", help="write all results as JSON to FILE")
    parser.add_argument(
        "--only", metavar="NAMES", default=",".join(SCENARIOS),
        help=f"comma-separated scenarios to run (default: all of {', '.join(SCENARIOS)})",
    )
    parser.add_argument("--reps", type=int, help="repetitions per timing")
    parser.add_argument("--fanin-jobs", type=_ints, metavar="N,N", help="fan-in job counts (default 4,16,64)")
    parser.add_argument("--fanin-repeat", type=int, help="runs per fan-in variant for N <= 16 (default 3)")
    parser.add_argument("--git-attempts", type=int, help="push attempts before a baseline job gives up")
    parser.add_argument("--compactors", type=int, help="compactors in the concurrent-fold variant")
    parser.add_argument("--growth-files", type=_ints, metavar="N,N", help="manifest sizes (files)")
    parser.add_argument("--growth-pending", type=_ints, metavar="N,N", help="pending partial counts")
    parser.add_argument("--growth-history", type=_ints, metavar="N,N", help="history sizes (partial commits)")
    parser.add_argument("--growth-reps", type=int, help="repetitions per growth point")
    parser.add_argument("--workdir", help="where to create scratch repositories (default: the temp dir)")
    return parser


def sizes_from(args: argparse.Namespace) -> Sizes:
    sizes = QUICK if args.quick else SMOKE if args.smoke else Sizes()
    overrides = {
        "reps": args.reps,
        "fanin_jobs": args.fanin_jobs,
        "fanin_repeat": args.fanin_repeat,
        "git_attempts": args.git_attempts,
        "compactors": args.compactors,
        "growth_files": args.growth_files,
        "growth_pending": args.growth_pending,
        "growth_history": args.growth_history,
        "growth_reps": args.growth_reps,
    }
    return msgspec.structs.replace(sizes, **{k: v for k, v in overrides.items() if v is not None})


def correctness(results: dict[str, object]) -> dict[str, object]:
    """The figures a smoke run asserts: never timings, only whether everything arrived."""
    out: dict[str, object] = {}
    model = results.get("model")
    if isinstance(model, dict):
        out["model"] = model["correctness"]
    fan = results.get("fanin")
    if isinstance(fan, dict):
        rows = fan["summary"]
        assert isinstance(rows, list)
        out["fanin"] = [
            {k: r[k] for k in ("method", "jobs", "lost_updates", "other_entries_lost", "failed_jobs", "manifest_valid")}
            for r in rows
        ]
    flo = results.get("floor")
    if isinstance(flo, dict):
        out["floor"] = {kind: flo[kind]["correctness"] for kind in floor.KINDS}
    gro = results.get("growth")
    if isinstance(gro, dict):
        curves = gro["curves"]
        assert isinstance(curves, list)
        out["growth"] = {c["axis"]: c["correct"] for c in curves}
    rem = results.get("remote")
    if isinstance(rem, dict):
        modes = rem["modes"]
        assert isinstance(modes, dict)
        out["remote"] = {mode: row["correct"] for mode, row in modes.items()}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        sys.stderr.write(f"bench: unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}\n")
        return 2
    sizes = sizes_from(args)
    workdir = Path(args.workdir) if args.workdir else None
    runners: dict[str, tuple[Callable[[], dict[str, object]], Callable[[dict[str, object]], str]]] = {
        "model": (
            lambda: decode_fold_render.run(sizes.reps, batch_seconds=sizes.batch_seconds),
            decode_fold_render.render_table,
        ),
        "fanin": (
            lambda: fanin.run(
                sizes.fanin_jobs,
                attempts=sizes.git_attempts,
                compactors=sizes.compactors,
                repeat=sizes.fanin_repeat,
                workdir=workdir,
            ),
            fanin.render_table,
        ),
        "floor": (lambda: floor.run(sizes.reps, workdir=workdir), floor.render_table),
        "growth": (
            lambda: growth.run(
                files=sizes.growth_files,
                pending=sizes.growth_pending,
                history_sizes=sizes.growth_history,
                reps=sizes.growth_reps,
                workdir=workdir,
            ),
            growth.render_table,
        ),
        "remote": (lambda: remote.run(max(sizes.reps, 3), workdir=workdir), remote.render_table),
        "profile": (
            lambda: profiling.run(max(sizes.growth_pending), workdir=workdir),
            profiling.render_table,
        ),
    }
    started = time.perf_counter()
    info = machine()
    print(
        f"machine: {info['nproc']} x {info['cpu']}; Python {info['python']}, pygit2 {info['pygit2']} "
        f"(libgit2 {info['libgit2']}), {info['git']}",
        flush=True,
    )
    results: dict[str, object] = {}
    timings: dict[str, float] = {}
    load: dict[str, list[float]] = {"start": list(os.getloadavg())}
    for name in SCENARIOS:
        if name not in chosen:
            continue
        run, render = runners[name]
        begun = time.perf_counter()
        result = results[name] = run()
        timings[name] = time.perf_counter() - begun
        load[name] = list(os.getloadavg())
        print(
            f"\n{render(result)}\n[{name}: {timings[name]:.1f} s; load average after: "
            f"{' '.join(f'{x:.1f}' for x in load[name])}]",
            flush=True,
        )
    total = time.perf_counter() - started
    mode = "quick" if args.quick else "smoke" if args.smoke else "full"
    print(f"\ntotal: {total:.1f} s ({mode} mode)")
    document = {
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "mode": mode,
        "machine": info,
        "sizes": msgspec.to_builtins(sizes),
        "scenario_seconds": timings,
        "load_average": load,
        "total_seconds": total,
        "correctness": correctness(results),
        "results": results,
    }
    if args.out:
        Path(args.out).write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
