"""The command's start-up: rich made only when the command prints through it (with the same
answer on terminals as rich's own), and the garbage collector paused while the command
imports its modules and reads the pipeline file, then left as it was found."""

from __future__ import annotations

import gc
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from geocarbon import cli
from tests.conftest import REPO
from tests.hostile.conftest import make_tiny_inputs, tiny_pipeline_data


class _Stream(io.StringIO):
    """A text stream that says whether it is a terminal."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        return self.tty


@pytest.fixture
def fresh_console() -> Iterator[None]:
    """The command's console made again after the test (it keeps the colours of the
    environment it was made in)."""
    cli._console.cache_clear()
    yield
    cli._console.cache_clear()


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize(
    "env",
    [
        {},
        {"FORCE_COLOR": "1"},
        {"FORCE_COLOR": ""},
        {"TTY_COMPATIBLE": "1"},
        {"TTY_COMPATIBLE": "0"},
        {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"},
    ],
)
def test_terminal_answer_is_rich_s(
    monkeypatch: pytest.MonkeyPatch, fresh_console: None, tty: bool, env: dict[str, str]
) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stderr", _Stream(tty))
    assert cli._is_terminal() == Console(stderr=True, soft_wrap=True).is_terminal


def test_a_closed_or_missing_stderr_is_no_terminal(
    monkeypatch: pytest.MonkeyPatch, fresh_console: None
) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    closed = _Stream(True)
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    assert cli._is_terminal() is False
    monkeypatch.setattr(sys, "stderr", None)
    assert cli._is_terminal() is False


def test_the_command_module_does_not_import_rich() -> None:
    code = "import sys, geocarbon.cli; print('rich' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.strip() == "False"


def test_messages_still_go_through_rich_to_stderr(tmp_path: Path, fresh_console: None) -> None:
    result = CliRunner().invoke(cli.main, ["run", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "missing.yaml" in result.stderr


def _tiny_pipeline(tmp_path: Path) -> Path:
    from tests.conftest import write_pipeline

    make_tiny_inputs(tmp_path)
    return write_pipeline(tmp_path / "pipeline.yaml", tiny_pipeline_data())


@pytest.mark.parametrize("collecting", [True, False])
@pytest.mark.parametrize("command", ["run", "validate", "missing"])
def test_collector_left_as_found(tmp_path: Path, collecting: bool, command: str) -> None:
    pipeline = _tiny_pipeline(tmp_path)
    args = ["-q", "run", str(tmp_path / "missing.yaml")]
    if command != "missing":
        args = ["-q", command, str(pipeline)]
    frozen = gc.get_freeze_count()
    was = gc.isenabled()
    try:
        if not collecting:
            gc.disable()
        result = CliRunner().invoke(cli.main, args)
        assert result.exit_code == (2 if command == "missing" else 0), result.output
        assert gc.isenabled() is collecting
        assert gc.get_freeze_count() == frozen
    finally:
        if was:
            gc.enable()


def test_start_up_uncollected_pauses_then_freezes() -> None:
    frozen = gc.get_freeze_count()
    was = gc.isenabled()
    gc.enable()
    try:
        with cli._start_up_uncollected() as started:
            assert not gc.isenabled()
            kept = [[] for _ in range(1_000)]  # made during the start-up
            started()
            assert gc.isenabled()
            assert gc.get_freeze_count() >= frozen + len(kept)
        assert gc.isenabled()
        assert gc.get_freeze_count() == frozen
    finally:
        if not was:
            gc.disable()
