"""The command line: -v/-q after the sub-command, --help, and progress of every step."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from geocarbon.cli import main
from geocarbon.config import load_config
from geocarbon.pipeline import run
from tests.hostile.conftest import Sandbox


def test_verbosity_before_or_after_the_command(sandbox: Sandbox) -> None:
    pipeline = sandbox.write_pipeline()
    after = sandbox.run("run", "-v", pipeline)
    assert after.returncode == 0, after.stderr
    assert "step zonal" in after.stderr  # -v after the command: steps are logged
    again = sandbox.run("run", pipeline, "--overwrite", "-q")
    assert again.returncode == 0 and again.stderr == ""  # -q after the command: errors only
    for args in (("-q", "validate", pipeline), ("validate", "-q", pipeline)):
        result = sandbox.run(*args)
        assert result.returncode == 0, result.stderr


def test_help_describes_every_capability() -> None:
    text = CliRunner().invoke(main, ["--help"]).output
    for needle in ("carbon stocks and flows", "rooftop photovoltaic", "charging", "geocarbon demo"):
        assert needle in text
    for command in ("run", "validate", "demo"):
        sub = CliRunner().invoke(main, [command, "--help"]).output
        assert "-v, --verbose" in sub and "-q, --quiet" in sub


def test_progress_reports_every_step_and_every_output(sandbox: Sandbox, tmp_path: Path) -> None:
    cfg = load_config(sandbox.write_pipeline())
    cfg = cfg.model_copy(update={"output_dir": tmp_path / "out"})
    seen: list[tuple[str, int, int]] = []
    run(cfg, progress=lambda step, done, total: seen.append((step, done, total)))
    steps = [s for s, _, _ in seen]
    for step in (
        "reading inputs",
        "zonal",
        "stocks",
        "writing geocarbon.gpkg",
        "writing carbon tables, rasters and maps",
        "writing report.html",
    ):
        assert step in steps, step
        # every step starts and ends
        assert (step, 1, 1) in seen or any(s == step and d == t for s, d, t in seen), step
    assert steps.index("reading inputs") < steps.index("zonal") < steps.index("writing report.html")
