"""The ``geocarbon`` command's exit (geocarbon.cli.command): its output all written, its exit
code kept, the exit handlers run, though the process ends without tearing down its modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from geocarbon.cli import main
from tests.conftest import REPO


def _command(*args: str, prelude: str = "") -> subprocess.CompletedProcess[bytes]:
    code = f"import sys\n{prelude}\nfrom geocarbon.cli import command\ncommand()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, cwd=REPO, check=False, timeout=120
    )


def test_long_output_is_written_whole_before_the_exit() -> None:
    done = _command("schema")
    assert done.returncode == 0, done.stderr
    expected = CliRunner().invoke(main, ["schema"]).stdout_bytes
    assert len(expected) > 65_536  # more than a pipe's buffer
    assert done.stdout == expected


def test_exit_code_and_message_of_a_failure_are_kept(tmp_path: Path) -> None:
    done = _command("run", str(tmp_path / "missing.yaml"))
    assert done.returncode == 2, done.stderr
    assert b"missing.yaml" in done.stderr


def test_exit_handlers_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    prelude = (
        "import atexit, pathlib\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'exit handler ran')"
    )
    done = _command("--version", prelude=prelude)
    assert done.returncode == 0, done.stderr
    assert b"geocarbon" in done.stdout
    assert marker.read_text() == "exit handler ran"
