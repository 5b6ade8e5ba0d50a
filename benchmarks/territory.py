"""Benchmark of a territory run (default: the Lot), whole command and phase by phase.

Every round runs the pipeline in a fresh Python process (files already in the system's
cache after a first unmeasured run), as ``geocarbon run`` does, and records:

* the wall time of the whole command (``geocarbon -q run PIPELINE``), seen from outside;
* in a process running the pipeline as the command does (:func:`geocarbon.pipeline.run`): start-up (interpreter and the imports before the run starts), loading
  the pipeline file, reading the inputs, each computing step, each output written (as the
  run announces them to its progress display), the rest (``run.json``, moving the folder
  into place, the summary);
* the CPU time of each phase in that process (on a busy machine, closer to what the phase
  costs than its wall time), of the whole process (from its start: interpreter included) and
  of its forked helper (the report's drawing);
* the import share: the time a fresh process takes to import every module the run's
  process ended with (in the order the run imported them);
* with ``--against OTHER_CHECKOUT``: the whole command of this checkout and of another
  (e.g. the code of an earlier commit, ``git worktree add ../before <commit>``) run
  alternately, and the ratio of their medians. The machine's speed drifts (a virtual
  machine with neighbours): only runs taken at the same moment compare.

The package's modules are compiled to bytecode first, as ``pip install`` does (a checkout
where ``PYTHONDONTWRITEBYTECODE`` is set would compile them in every run).
It prints the median of each over the rounds and a Markdown table for
``benchmarks/RESULTS.md``. Usage::

    GEOCARBON_DATA=/path/to/data python benchmarks/territory.py [pipelines/lot.yaml] [--rounds 5] [--against DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _trace_workers(trace: Path) -> None:
    """Record when each forked worker prepares (imports) and runs each job, and its CPU
    time, as JSON lines in ``trace`` (the clock is the system's monotonic clock, shared by
    the processes). Older versions without workers are left as they are."""
    import geocarbon.io.background as bg

    if not hasattr(bg, "_computed"):
        return
    worker_child, computed = bg._worker_child, bg._computed

    def note(what: str, start: float, cpu: float) -> None:
        end, used = time.perf_counter(), time.process_time() - cpu
        with trace.open("a") as fh:
            fh.write(json.dumps([os.getpid(), what, start, end, used]) + "\n")

    def traced_child(jobs: Any, parent_end: Any, prepare: Any, *rest: Any) -> None:
        def prepared() -> None:
            start, cpu = time.perf_counter(), time.process_time()
            try:
                prepare()
            finally:
                note(f"imports ({prepare.__name__.strip('_')})", start, cpu)

        worker_child(jobs, parent_end, prepared, *rest)

    def traced_computed(function: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return computed(function)
        finally:
            inner = getattr(function, "func", function)
            note(getattr(inner, "__name__", "job").strip("_"), start, cpu)

    bg._worker_child, bg._computed = traced_child, traced_computed


def child(pipeline: str, out_dir: str) -> None:
    """One run in this (fresh) process; its phase times as JSON on stdout."""
    started, cpu_started = time.perf_counter(), time.process_time()
    import geocarbon.cli as cli  # the command's own start-up imports

    # what the command does before running (older versions do not have it)
    getattr(cli, "_without_aws_sessions", lambda: None)()
    from geocarbon.config import load_config
    from geocarbon.pipeline import run

    marks: list[tuple[str, int, float, float]] = []

    def progress(step: str, done: int, total: int) -> None:
        if done == 0 or done >= total:
            marks.append((step, done, time.perf_counter(), time.process_time()))

    imported = (time.perf_counter(), time.process_time())
    trace = Path(out_dir).parent / "workers.jsonl"
    trace.unlink(missing_ok=True)
    _trace_workers(trace)
    cfg = load_config(Path(pipeline)).model_copy(update={"output_dir": Path(out_dir)})
    loaded = (time.perf_counter(), time.process_time())
    run(cfg, overwrite=True, progress=progress)
    ended = (time.perf_counter(), time.process_time())
    phases = {"start-up imports": imported[0] - started, "load pipeline": loaded[0] - imported[0]}
    cpu = {"start-up imports": imported[1] - cpu_started, "load pipeline": loaded[1] - imported[1]}
    opened: dict[str, tuple[float, float]] = {}
    last = loaded
    for step, done, at, cpu_at in marks:
        if done == 0:
            opened[step] = (at, cpu_at)
        elif step in opened:
            was = opened.pop(step)
            phases[step] = phases.get(step, 0.0) + at - was[0]
            cpu[step] = cpu.get(step, 0.0) + cpu_at - was[1]
            last = (at, cpu_at)
    phases["run.json, rename, rest"] = ended[0] - last[0]
    cpu["run.json, rename, rest"] = ended[1] - last[1]
    times = os.times()
    spans = [json.loads(line) for line in trace.read_text().splitlines()] if trace.exists() else []
    timeline = [("main", step, at - started) for step, done, at, _ in marks]
    print(
        json.dumps(
            {
                "phases": phases,
                "cpu": cpu,
                "cpu_before_start": cpu_started,
                "in_process": ended[0] - started,
                "cpu_parent": times.user + times.system,
                "cpu_children": times.children_user + times.children_system,
                "modules": list(sys.modules),
                "timeline": timeline,
                "workers": [
                    [pid, what, a - started, b - started, c] for pid, what, a, b, c in spans
                ],
            }
        )
    )


def import_time(modules: list[str]) -> float:
    """Seconds a fresh process takes to import ``modules`` (top-level ones, in order)."""
    tops = [m for m in dict.fromkeys(m.split(".")[0] for m in modules) if m.isidentifier()]
    code = (
        "import importlib, time, sys\nt = time.perf_counter()\n"
        f"for m in {tops!r}:\n"
        "    try:\n        importlib.import_module(m)\n    except Exception:\n        pass\n"
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    return float(out.stdout.strip().splitlines()[-1])


def command_wall(pipeline: str, out_dir: str, repo: Path = REPO) -> float:
    """Seconds of ``geocarbon -q run PIPELINE --output-dir OUT --overwrite`` (a fresh process),
    with the code of the checkout ``repo`` (older versions without ``cli.command`` through
    ``cli.main``)."""
    code = (
        "import sys; from geocarbon import cli; "
        "sys.exit(cli.command() if hasattr(cli, 'command') else cli.main())"
    )
    command = [sys.executable, "-c", code, "-q", "run", pipeline, "--output-dir", out_dir]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    start = time.perf_counter()
    subprocess.run([*command, "--overwrite"], check=True, cwd=repo, env=env)
    return time.perf_counter() - start


def compile_package(repo: Path) -> None:
    """Compile the package's modules to bytecode, as ``pip install`` does: a checkout run
    where ``PYTHONDONTWRITEBYTECODE`` is set would otherwise compile every module of the
    package in every run (about 0.2 s for the Lot's run and its workers)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-m", "compileall", "-q", str(repo / "geocarbon")]
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)


def side_by_side(pipeline: str, other: Path, rounds: int, tmp: str) -> None:
    """The whole command with this checkout's code and with ``other``'s, alternately (the
    machine's speed drifts: only runs taken at the same moment compare), median of each and
    their ratio."""
    compile_package(other)
    pairs = []
    for i in range(rounds + 1):  # the first pair warms the file cache, unmeasured
        this = command_wall(pipeline, f"{tmp}/this", REPO)
        that = command_wall(pipeline, f"{tmp}/other", other)
        if i:
            pairs.append((this, that))
    med = statistics.median
    here, there = [p[0] for p in pairs], [p[1] for p in pairs]
    print(
        f"\nwhole command, {rounds} alternated rounds: this checkout {med(here):.2f} s "
        f"({min(here):.2f} – {max(here):.2f}), {other} {med(there):.2f} s "
        f"({min(there):.2f} – {max(there):.2f}): {med(there) / med(here):.2f} × faster"
    )


def one_round(pipeline: str, out_dir: str) -> dict[str, Any]:
    """One run in a fresh process (:func:`child`): its phases, CPU times and modules."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", pipeline, out_dir],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    wall = time.perf_counter() - start
    record: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    record["wall"] = wall
    return record


def print_timeline(record: dict[str, Any]) -> None:
    """When each process did what, in the round of median wall time (seconds from the start
    of the run's process, after the interpreter's start)."""
    print("\ntimeline of the median round (s from the process start, interpreter start excluded):")
    print("\n| process | what | from | to | CPU |\n|---|---|---:|---:|---:|")
    opened: dict[str, float] = {}
    for _, step, at in record["timeline"]:
        if step in opened:
            print(f"| main | {step} | {opened.pop(step):.2f} | {at:.2f} | |")
        else:
            opened[step] = at
    names: dict[int, str] = {}
    for pid, what, start, end, cpu in sorted(record["workers"], key=lambda w: w[2]):
        names.setdefault(pid, f"worker {len(names) + 1}")
        print(f"| {names[pid]} | {what} | {start:.2f} | {end:.2f} | {cpu:.2f} s |")
    print(f"| main | process ends | | {record['in_process']:.2f} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", nargs="?", default="pipelines/lot.yaml")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument(
        "--against",
        type=Path,
        help="another checkout (e.g. `git worktree add ../before <commit>`) whose whole "
        "command is run alternately with this one's",
    )
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    compile_package(REPO)
    with tempfile.TemporaryDirectory(prefix="geocarbon-bench-") as tmp:
        out_dir = str(Path(tmp) / "out")
        one_round(args.pipeline, out_dir)  # warms the file cache (and the font cache)
        walls = [command_wall(args.pipeline, out_dir) for _ in range(args.rounds)]
        rounds = [one_round(args.pipeline, out_dir) for _ in range(args.rounds)]
    imports = [import_time(r["modules"]) for r in rounds[:3]]
    med = statistics.median
    load = os.getloadavg()[0]
    print(f"{args.pipeline}: {args.rounds} rounds, load average {load:.2f} at the end")
    print("\n| phase | wall, median (min – max) | CPU of the main process, median |")
    print("|---|---:|---:|")

    def row(name: str, values: list[float], cpu: list[float] | None = None) -> None:
        wall = f"{med(values):.2f} s ({min(values):.2f} – {max(values):.2f})"
        print(f"| {name} | {wall} | {f'{med(cpu):.2f} s' if cpu else ''} |")

    row("**whole command `geocarbon -q run`**", walls)
    row("pipeline run in a fresh process", [r["wall"] for r in rounds])
    row(
        "interpreter start and exit (the process around the run)",
        [r["wall"] - r["in_process"] for r in rounds],
        [r["cpu_before_start"] for r in rounds],
    )
    for name in rounds[0]["phases"]:
        row(
            name,
            [r["phases"].get(name, 0.0) for r in rounds],
            [r["cpu"].get(name, 0.0) for r in rounds],
        )
    row("CPU of the main process, whole run", [r["cpu_parent"] for r in rounds])
    row("CPU of the forked report process", [r["cpu_children"] for r in rounds])
    row("import share: the run's modules imported alone", imports)
    middle = sorted(rounds, key=lambda r: r["wall"])[len(rounds) // 2]
    print_timeline(middle)
    modules = rounds[0]["modules"]
    if args.against:
        with tempfile.TemporaryDirectory(prefix="geocarbon-bench-") as tmp:
            side_by_side(args.pipeline, args.against.resolve(), args.rounds, tmp)
    heavy = ("matplotlib", "folium", "openpyxl", "pvlib", "scipy", "dask", "distributed", "numba")
    loaded = [m for m in heavy if m in modules]
    print(f"\nheavy modules in the main process: {', '.join(loaded) or 'none'}")


if __name__ == "__main__":
    main()
