"""Work in forked processes (geocarbon.io.background) and what a run imports: the report
drawn beside the other outputs gives the same page as drawn in the process, a notice added
while writing reaches the report, and a carbon-only run imports neither the PV, charging and
cluster libraries, nor boto3, nor (in its main process) matplotlib."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from geocarbon.cli import main
from geocarbon.errors import InputError
from geocarbon.io.background import Background, Worker, fork_available
from tests.conftest import REPO, write_pipeline
from tests.hostile.conftest import make_tiny_inputs, tiny_pipeline_data

needs_fork = pytest.mark.skipif(not fork_available(), reason="no 'fork' start method here")

#: Set in the worker only, by its preparation.
_PREPARED: list[int] = []


def _prepare() -> None:
    _PREPARED.append(os.getpid())


def _prepared_here() -> tuple[int, list[int]]:
    return os.getpid(), list(_PREPARED)


def _fail(text: str) -> None:
    raise InputError(text)


@needs_fork
def test_background_gives_the_value_computed_in_another_process() -> None:
    with Background(os.getpid) as job:
        assert job.result() != os.getpid()


@needs_fork
def test_background_raises_the_childs_exception_here() -> None:
    with Background(lambda: _fail("bad value in column x")) as job, pytest.raises(InputError) as err:
        job.result()
    assert "bad value in column x" in str(err.value)


def test_without_fork_the_work_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOCARBON_FORK", "0")
    assert not fork_available()
    with Background(os.getpid) as job:
        assert job.result() == os.getpid()
    with Worker(_prepare) as worker:
        assert not worker.submit(_prepared_here)
    assert _PREPARED == []


@needs_fork
def test_worker_prepares_then_runs_the_pickled_job() -> None:
    with Worker(_prepare) as worker:
        assert worker.submit(_prepared_here)
        pid, prepared = worker.result()
    assert pid != os.getpid()
    assert prepared == [pid]  # prepared in the worker, before its job
    assert _PREPARED == []  # not here


def _scaled(value: int, *, factor: int = 1) -> tuple[int, int]:
    return os.getpid(), value * factor


@needs_fork
def test_worker_runs_several_jobs_in_order_and_goes_on_after_an_error() -> None:
    big = list(range(200_000))  # more than a pipe holds: sent by the sender thread
    with Worker(_prepare) as worker:
        assert worker.submit(_scaled, 2, factor=3)
        assert worker.submit(_fail, "bad value in column y")
        assert worker.submit(len, big)
        assert worker.submit(_scaled, 5)
        pid, value = worker.result()
        assert value == 6 and pid != os.getpid()
        with pytest.raises(InputError, match="bad value in column y"):
            worker.result()
        assert worker.result() == len(big)
        assert worker.result() == (pid, 5)  # the same process ran every job
        with pytest.raises(RuntimeError, match="no such job"):
            worker.result()
        # by ticket: a later job's value taken first, the earlier one kept meanwhile
        first, second = worker.send(_scaled, 7), worker.send(_scaled, 8)
        assert first is not None and second is not None
        assert worker.result(second) == (pid, 8)
        assert worker.result() == (pid, 7)
        with pytest.raises(RuntimeError, match="already taken"):
            worker.result(first)


def _pids_of_a_forking_job() -> tuple[int, int]:
    with Background(os.getpid) as job:
        return os.getpid(), job.result()


def _fork_and_wait(pid_file: str) -> None:
    with Background(lambda: __import__("time").sleep(60)) as job:
        Path(pid_file).write_text(str(job._process.pid))
        job.result()


def _running(pid: int) -> bool:
    """Whether the process ``pid`` runs (a zombie waiting for its parent does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@needs_fork
def test_a_job_of_the_worker_may_fork_its_own_helper() -> None:
    with Worker(_prepare) as worker:
        assert worker.submit(_pids_of_a_forking_job)
        assert worker.submit(_pids_of_a_forking_job)
        (job_pid, helper_pid), (again, other_helper) = worker.result(), worker.result()
    assert job_pid == again != os.getpid()
    assert len({os.getpid(), job_pid, helper_pid, other_helper}) == 4


def _report_drawn_where_no_child_may_be_forked(pipeline_path: str) -> tuple[bool, bool]:
    """In a worker that may not fork (as if ``multiprocessing`` kept its daemonic flag
    elsewhere): the report drawn in the worker alone, equal to the report drawn whole."""
    from geocarbon import pipeline as pl
    from geocarbon.config import load_config
    from geocarbon.io import background, report_files

    allowed = background.children_allowed()  # a worker: its flag can be lifted
    report_files.children_allowed = lambda: False  # as if it could not (in this worker only)
    cfg = load_config(Path(pipeline_path))
    results = pl.compute(cfg, pl.read_inputs(cfg))
    facts = report_files.input_facts(results.files)
    body, _ = report_files._draw_in_two(cfg, results, facts)
    return allowed, body == report_files._draw_body(cfg, results, facts)[0]


@needs_fork
def test_a_worker_that_may_not_fork_draws_the_report_alone(tmp_path: Path) -> None:
    from geocarbon.demo import write_demo_territory

    write_demo_territory(tmp_path / "data_raw" / "demo")
    (tmp_path / "pipelines").mkdir()
    pipeline_file = tmp_path / "pipelines" / "demo.yaml"
    shutil.copy(REPO / "pipelines" / "demo.yaml", pipeline_file)
    with Worker(_prepare) as worker:
        assert worker.submit(_report_drawn_where_no_child_may_be_forked, str(pipeline_file))
        allowed, same = worker.result()
    assert allowed and same


def test_children_allowed_but_in_a_daemonic_process_without_its_flag(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import multiprocessing
    from types import SimpleNamespace

    from geocarbon.io.background import children_allowed

    assert children_allowed()  # this process
    cases = [
        (SimpleNamespace(daemon=False), True),
        (SimpleNamespace(daemon=True, _config={"daemon": True}), True),
        (SimpleNamespace(daemon=True, _config=()), False),
        (SimpleNamespace(daemon=True), False),
    ]
    for process, allowed in cases:
        monkeypatch.setattr(multiprocessing, "current_process", lambda p=process: p)
        assert children_allowed() is allowed


@needs_fork
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="no /proc here")
def test_ending_the_worker_ends_the_helper_its_job_forked(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    with Worker(_prepare) as worker:
        assert worker.submit(_fork_and_wait, str(pid_file))
        for _ in range(600):  # the job starts its helper
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.05)
        helper = int(pid_file.read_text())
        assert _running(helper)
    for _ in range(600):  # ended by the worker as it ends
        if not _running(helper):
            break
        time.sleep(0.05)
    assert not _running(helper)


def _remember(value: int) -> None:
    _PREPARED.append(value)


@needs_fork
def test_a_posted_job_prepares_the_next_ones_and_its_error_is_dropped() -> None:
    with Worker(_prepare) as worker:
        assert worker.post(_fail, "not wanted")
        assert worker.post(_remember, 7)
        assert worker.submit(_prepared_here)
        pid, prepared = worker.result()
    assert prepared == [pid, 7]
    with pytest.raises(RuntimeError, match="no such job"):
        worker.result()


@needs_fork
def test_worker_refuses_a_job_that_cannot_be_pickled() -> None:
    with Worker(_prepare) as worker:
        assert not worker.submit(lambda: 1)


@needs_fork
def test_leaving_the_block_ends_the_child() -> None:
    with Worker(_prepare) as worker:
        child = worker._process
        assert child is not None and child.is_alive()
    assert child.exitcode is not None
    with Background(lambda: __import__("time").sleep(60)) as job:
        child = job._process
    assert child.exitcode is not None


#: A process with the command's kind of SIGTERM handler (it prints and exits through
#: Python) that ends its forked children at once, many times.
_END_AT_ONCE = """
import signal, sys, time
from geocarbon.io.background import Background, Worker

def handler(signum, frame):
    sys.stderr.write("parent handler ran\\n")
    sys.exit(128 + signum)

signal.signal(signal.SIGTERM, handler)
codes = []
for _ in range(15):
    with Background(lambda: time.sleep(60)) as job:
        child = job._process
    codes.append(child.exitcode)
    with Worker(lambda: None) as worker:
        child = worker._process
    codes.append(child.exitcode)
print(sorted(set(codes)))
"""


@pytest.mark.skipif(not fork_available(), reason="no fork on this system")
def test_a_child_ended_at_once_never_runs_the_parents_signal_handler() -> None:
    """SIGINT and SIGTERM are held back across the fork: a child ended before it set its
    own handlers dies by the default action (exit code -15) or ends normally, silently, instead of running
    the parent's handler (which printed "terminated: nothing was written" and a traceback
    beside the parent's own error message)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _END_AT_ONCE], capture_output=True, text=True, env=env, timeout=90
    )
    assert done.returncode == 0, done.stderr
    assert "parent handler ran" not in done.stderr
    # ended by the default action (-15), or, for a worker that saw its job pipe close
    # first, a normal end (0); never the parent handler's exit (128 + 15)
    codes = set(json.loads(done.stdout))
    assert codes <= {-15, 0} and -15 in codes, codes


@pytest.fixture
def tiny_pipeline(tmp_path: Path) -> Path:
    make_tiny_inputs(tmp_path)
    return write_pipeline(tmp_path / "pipeline.yaml", tiny_pipeline_data())


def _run(pipeline: Path, out: Path) -> None:
    result = CliRunner().invoke(main, ["-q", "run", str(pipeline), "--output-dir", str(out)])
    assert result.exit_code == 0, result.output


@needs_fork
def test_report_drawn_beside_equals_report_drawn_here(
    tiny_pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tiny_pipeline.parent
    _run(tiny_pipeline, out / "forked")
    monkeypatch.setenv("GEOCARBON_FORK", "0")
    _run(tiny_pipeline, out / "here")
    made = sorted(
        str(f.relative_to(out / "forked")) for f in (out / "forked").rglob("*") if f.is_file()
    )
    assert {"report.html", "geocarbon.gpkg", "maps/carbon_stocks.html"} <= set(made)
    for name in made:
        if name != "run.json":  # timings
            assert (out / "forked" / name).read_bytes() == (out / "here" / name).read_bytes(), name


def _no_static_maps(cfg: object, results: object, facts: object) -> list[str]:
    return []


@needs_fork
def test_static_maps_that_do_not_match_the_charts_give_the_report_drawn_here(
    tiny_pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import geocarbon.io.report_files as report_files

    out = tiny_pipeline.parent
    monkeypatch.setattr(report_files, "_draw_static_maps", _no_static_maps)
    _run(tiny_pipeline, out / "mismatch")
    monkeypatch.undo()
    monkeypatch.setenv("GEOCARBON_FORK", "0")
    _run(tiny_pipeline, out / "here")
    page = (out / "mismatch" / "report.html").read_bytes()
    assert b"geocarbon static map" not in page
    assert page == (out / "here" / "report.html").read_bytes()


def _pages(name: str, text: str) -> dict[str, str | bytes]:
    if not text:
        raise InputError(f"nothing to put in {name}")
    return {f"maps/{name}": text, f"{name}.bin": text.encode()}


@pytest.mark.parametrize("fork", [True, False])
def test_deferred_files_are_written_in_the_folder_and_errors_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork: bool
) -> None:
    from geocarbon.io.deferred import DeferredFiles, files_worker

    if not fork:
        monkeypatch.setenv("GEOCARBON_FORK", "0")
    with files_worker() as worker:
        later = DeferredFiles(tmp_path, maps=worker, workbooks=worker)
        later.add_map(_pages, "a.html", "é")
        later.add_workbook(_pages, name="b.html", text="<b>")
        written = later.finish()
        assert (tmp_path / "maps" / "a.html").read_text(encoding="utf-8") == "é"
        assert (tmp_path / "b.html.bin").read_bytes() == b"<b>"
        assert len(written) == (4 if fork and fork_available() else 0)  # else written at once
        with pytest.raises(InputError, match=r"nothing to put in c\.html"):
            later.add_map(_pages, "c.html", "")
            later.finish()
    assert not (tmp_path / "maps" / "c.html").exists()


@needs_fork
def test_notice_added_while_writing_reaches_the_report(
    tiny_pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geocarbon.capabilities.carbon import CarbonCapability
    from geocarbon.notices import Notice

    original = CarbonCapability.write_files

    def write_files(self, cfg, inputs, results, communes, folder, later) -> None:  # type: ignore[no-untyped-def]
        original(self, cfg, inputs, results, communes, folder, later)
        results.notices.append(Notice("late_notice", "a notice added while writing <late>"))

    monkeypatch.setattr(CarbonCapability, "write_files", write_files)
    out = tiny_pipeline.parent / "late"
    _run(tiny_pipeline, out)
    assert "a notice added while writing &lt;late&gt;" in (out / "report.html").read_text()
    notices = json.loads((out / "run.json").read_text())["notices"]
    assert [n["code"] for n in notices].count("late_notice") == 1


#: Imported by the PV and charging steps and by cluster runs only; boto3 (and botocore), which
#: rasterio would import for the AWS sessions geocarbon does not use.
NOT_FOR_CARBON = ("pvlib", "dask", "distributed", "numba", "scipy", "sklearn", "boto3", "botocore")

_RUN_AND_LIST = """
import json, sys
from geocarbon.cli import main
try:
    main(["-q", "run", sys.argv[1], "--output-dir", sys.argv[2]])
except SystemExit as end:
    assert not end.code, end.code
loaded = [name for name, module in sys.modules.items() if module is not None]
print(json.dumps(sorted({name.split(".")[0] for name in loaded})))
"""


def _modules_of_a_run(pipeline: Path, out: Path, **env: str) -> set[str]:
    """Top-level modules in the main process after ``geocarbon run`` (a fresh process)."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, str(pipeline), str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_carbon_run_imports_no_pv_charging_or_cluster_library(tiny_pipeline: Path) -> None:
    modules = _modules_of_a_run(tiny_pipeline, tiny_pipeline.parent / "a")
    assert {"geocarbon", "rasterio"} <= modules  # the run did run
    assert modules.isdisjoint(NOT_FOR_CARBON), sorted(modules & set(NOT_FOR_CARBON))
    assert (tiny_pipeline.parent / "a" / "maps" / "carbon_stocks.html").is_file()
    drawing = {"matplotlib", "openpyxl"}
    if fork_available():  # the report and the workbook are made by forked processes
        assert modules.isdisjoint(drawing), sorted(modules & drawing)
    # without fork, the main process makes them
    alone = _modules_of_a_run(tiny_pipeline, tiny_pipeline.parent / "b", GEOCARBON_FORK="0")
    assert {"matplotlib", "folium"} <= alone


def test_run_without_maps_imports_no_folium(tiny_pipeline: Path) -> None:
    text = tiny_pipeline.read_text() + "maps:\n  enabled: false\n"
    tiny_pipeline.write_text(text)
    modules = _modules_of_a_run(tiny_pipeline, tiny_pipeline.parent / "c")
    assert "geocarbon" in modules
    assert modules.isdisjoint({"folium", "branca"}), sorted(modules & {"folium", "branca"})
