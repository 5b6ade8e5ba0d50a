"""A fork server for the hostile tests: ``python -m geocarbon.cli ARGS`` in a new process
without paying the imports each time.

Started once per test process (:func:`tests.hostile.conftest.cli_server`), it imports the
libraries the CLI needs, then reads one JSON request per line on stdin and, for each, forks
a child that does what ``python -m geocarbon.cli ARGS`` does after start-up: its own working
folder, environment, stdin from /dev/null, stdout and stderr to files, ``geocarbon.cli`` run
as ``__main__`` (a fresh module, its console created in the child's environment), uncaught
exceptions printed as Python prints them, exit code as Python sets it. The server answers
``{"pid": ...}`` at once and ``{"returncode": ...}`` when the child ends. The server itself is
single-threaded, so forking it is safe.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import runpy
import signal
import sys
import traceback

#: Modules imported once by the server: geocarbon's own (``geocarbon.report_charts`` first:
#: it points matplotlib's configuration folder to a temporary folder before importing it)
#: and the libraries they use. ``geocarbon.cli`` is not among them.
PRELOAD = (
    "geocarbon.report_charts",
    "geocarbon.pipeline",
    "geocarbon.report",
    "geocarbon.maps",
    "pvlib",
    "folium",
    "openpyxl",
    "pyogrio",
)


def _preload() -> dict[str, str]:
    """Import :data:`PRELOAD`; return the environment variables the imports set (a child
    sets them again, as its own imports would have)."""
    before = dict(os.environ)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:
            continue
    return {k: v for k, v in os.environ.items() if before.get(k) != v}


def _child(request: dict, set_by_imports: dict[str, str]) -> None:
    """In the forked child: become ``python -m geocarbon.cli ARGS`` and exit."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for key, value in set_by_imports.items():
            os.environ.setdefault(key, value)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for fd, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.argv = ["geocarbon", *request["args"]]
        sys.path[0] = request["cwd"]  # as ``python -m`` puts the working folder first
        try:
            runpy.run_module("geocarbon.cli", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as stop:
            if stop.code is None:
                code = 0
            elif isinstance(stop.code, int):
                code = stop.code
            else:
                print(stop.code, file=sys.stderr)
                code = 1
        except BaseException:  # what Python does with an uncaught exception
            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _answer(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> None:
    set_by_imports = _preload()
    _answer({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, set_by_imports)
        _answer({"pid": pid})
        _, status = os.waitpid(pid, 0)
        _answer({"returncode": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    main()
