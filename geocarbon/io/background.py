"""Work done in a forked process while this one goes on (the report's charts drawn while the
maps and tables are written).

Two forms:

* :class:`Background`: a fork that computes one function at once; it sees this process's
  memory as it was (nothing is pickled on the way in);
* :class:`Worker`: a fork started early, which prepares (imports the modules its job will
  need) while this process reads and computes, then receives its job pickled
  (:meth:`Worker.submit`).

The child sends its result back through a pipe and exits without running this process's
clean-up (``os._exit``); it writes no file. Where ``fork`` is not available (Windows) or not
wanted (``GEOCARBON_FORK=0``), the work runs in this process when its result is asked for:
same result, one after the other.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, Self, TypeVar

try:
    import fcntl
except ImportError:  # Windows: no fork, no pipes to widen
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")


def fork_available() -> bool:
    """Whether work can go to a forked process (POSIX, not disabled by ``GEOCARBON_FORK=0``)."""
    if os.environ.get("GEOCARBON_FORK", "1").strip().lower() in ("0", "false", "no"):
        return False
    return "fork" in multiprocessing.get_all_start_methods()


def _computed(function: Callable[[], Any]) -> tuple[str, Any]:
    """``("ok", value)`` or ``("error", exception)`` of ``function()``."""
    try:
        return ("ok", function())
    except BaseException as err:  # sent to the parent, raised there
        return ("error", err)


def _send(send: Connection, message: tuple[str, Any]) -> bool:
    """Send ``message`` to the parent (an unpicklable value or exception as a RuntimeError);
    False when the parent is gone."""
    try:
        try:
            send.send(message)
        except (OSError, EOFError):  # the parent is gone
            return False
        except Exception as err:  # an unpicklable result or exception
            send.send(("error", RuntimeError(f"{type(err).__name__}: {err}")))
    except (OSError, EOFError):
        return False
    return True


def _in_child(send: Connection, function: Callable[[], Any]) -> None:
    """In the forked process: compute, send ``("ok", value)`` or ``("error", exception)``."""
    try:
        _send(send, _computed(function))
    finally:
        send.close()


def _import_modules(names: list[str]) -> None:
    """Import the modules ``names`` not imported yet (those that fail are left out)."""
    for name in names:
        if name not in sys.modules:
            with contextlib.suppress(Exception):
                importlib.import_module(name)


#: Signals held back while forking: a child ended before it has set its own handlers
#: must not run the parent's (which print "terminated" and exit through Python).
_HELD = {signal.SIGINT, signal.SIGTERM}


def _child_signals() -> None:
    # the parent handles interruption and termination (and ends its child); the signals
    # were held back across the fork (Forked._start): a SIGTERM that came meanwhile is
    # delivered once released, with the default action (the child ends quietly)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)


def _background_child(function: Callable[[], Any], send: Connection) -> None:
    _child_signals()
    _in_child(send, function)


def _end_with_children(signum: int, frame: Any) -> None:
    """A worker's SIGTERM: end the processes its jobs forked, then itself (the default
    action)."""
    for child in multiprocessing.active_children():
        child.terminate()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _worker_child(
    jobs: Connection, parent_end: Connection, prepare: Callable[[], Any], send: Connection
) -> None:
    _child_signals()
    signal.signal(signal.SIGTERM, _end_with_children)
    parent_end.close()  # so that the job pipe ends when the parent's end closes
    with contextlib.suppress(Exception):  # else the jobs import it
        prepare()
    try:
        while True:
            try:
                job = jobs.recv()
            except (OSError, EOFError):  # no more jobs: the parent is done or gone
                return
            if job is None:
                return
            # what the worker holds (its modules, the job's data) is not garbage: the
            # collector leaves it aside instead of walking it again in every full collection
            gc.freeze()
            function, args, kwargs, reply = job
            outcome = _computed(functools.partial(function, *args, **kwargs))
            if reply and not _send(send, outcome):
                return
    finally:
        send.close()


#: Bytes a pipe to or from a forked process holds (Linux: at most the system's
#: ``fs.pipe-max-size``, 1 MiB by default). A job or result larger than a pipe is sent in
#: pieces, each waiting for the sending thread to get the interpreter back from a busy
#: process: a Lot's results (~2 MB) took 0.1-0.2 s to reach the worker with 64 KiB pipes.
PIPE_BYTES = 1 << 20


def _widen(connection: Connection) -> None:
    """Let the pipe under ``connection`` hold :data:`PIPE_BYTES` where the system allows it
    (Linux); otherwise leave it as it is."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None:
        return
    with contextlib.suppress(OSError):  # above the system's limit: the default size stays
        fcntl.fcntl(connection.fileno(), set_size, PIPE_BYTES)


def children_allowed() -> bool:
    """Whether this process may fork a :class:`Background` helper: any process but a
    daemonic one (a :class:`Worker`), unless its flag can be lifted while the helper starts
    (:func:`_start_process`; ``multiprocessing`` keeps it in the process's ``_config``). A
    job that cannot fork computes its part in its own process (``fork=False``)."""
    process = multiprocessing.current_process()
    return not process.daemon or isinstance(getattr(process, "_config", None), dict)


def _start_process(process: Any) -> None:
    """Start the ``multiprocessing`` ``process``, from a :class:`Worker` too (a daemonic
    process, which ``multiprocessing`` lets have no children): a job of a worker may fork
    its own helper (e.g. a :class:`Background`), ended with its job or with the worker
    (:func:`_end_with_children`; a worker that finishes ends its daemonic children)."""
    config = getattr(multiprocessing.current_process(), "_config", None)
    daemon = config.pop("daemon", None) if isinstance(config, dict) else None
    try:
        process.start()
    finally:
        if daemon is not None:
            assert isinstance(config, dict)
            config["daemon"] = daemon


class Forked(Generic[T]):
    """A forked child and the pipe its result comes back through."""

    def __init__(self) -> None:
        self._process: Any = None
        self._receive: Connection | None = None
        self._local: Callable[[], T] | None = None

    def _start(self, target: Callable[..., None], *args: Any) -> Connection:
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        _widen(send)
        self._process = context.Process(target=target, args=(*args, send), daemon=True)
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        try:
            _start_process(self._process)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        send.close()
        return send

    def result(self) -> T:
        """The function's value (computed here when no child runs); its exception raised."""
        if self._process is None:
            if self._local is None:
                msg = "no work was given, or its result was already taken"
                raise RuntimeError(msg)
            local, self._local = self._local, None
            return local()
        assert self._receive is not None
        try:
            status, value = self._receive.recv()
        except EOFError:
            code = self._process.exitcode
            self.close()
            msg = f"the background process ended without a result (exit code {code})"
            raise RuntimeError(msg) from None
        self.close()
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """End the child (if still running) and release the pipes."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._process = None
        if self._receive is not None:
            self._receive.close()
            self._receive = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Background(Forked[T]):
    """``function()`` computed in a forked process from now on (with ``fork`` and
    :func:`fork_available`; else in this process by :meth:`result`); :meth:`result` waits
    for it. Use as a context manager: leaving the block before :meth:`result` (an error in
    the parent) ends the child.
    """

    def __init__(self, function: Callable[[], T], *, fork: bool = True) -> None:
        super().__init__()
        if fork and fork_available():
            self._start(_background_child, function)
        else:
            self._local = function


class Worker(Forked[Any]):
    """A process forked now (when :func:`fork_available`) that runs ``prepare()`` (imports)
    while this one goes on, then runs the jobs given to it (:meth:`send`, :meth:`submit`,
    :meth:`post`), one after the other, in the order given; :meth:`result` gives the value
    of a job (by its ticket), or of the oldest job whose value was not taken. A job may fork
    a helper of its own (:class:`Background`). Use as a context manager: leaving the block
    ends it (and the helpers of its jobs), whether its jobs are done or not.
    """

    def __init__(self, prepare: Callable[[], Any]) -> None:
        super().__init__()
        self._jobs: Connection | None = None
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._sender: threading.Thread | None = None
        self._sent = 0  # tickets given: the jobs sent that give a result, in order
        self._arrived = 0  # results received
        self._kept: dict[int, tuple[str, Any]] = {}  # received, not taken yet
        self._untaken: list[int] = []  # tickets whose result was not taken, in order
        if fork_available():
            context = multiprocessing.get_context("fork")
            jobs, self._jobs = context.Pipe(duplex=False)
            _widen(self._jobs)
            self._start(_worker_child, jobs, self._jobs, prepare)
            jobs.close()

    def submit(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Send the job ``function(*args, **kwargs)`` (pickled; ``function`` defined at module
        level); False when there is no worker or the job cannot be pickled (then run it
        otherwise)."""
        return self.send(function, *args, **kwargs) is not None

    def send(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> int | None:
        """Send the job ``function(*args, **kwargs)`` (as :meth:`submit`); its ticket for
        :meth:`result`, or None when it was not sent."""
        if self._jobs is None or not self._send(function, args, kwargs, reply=True):
            return None
        ticket, self._sent = self._sent, self._sent + 1
        self._untaken.append(ticket)
        return ticket

    def post(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Send the job ``function(*args, **kwargs)`` (as :meth:`submit`) whose value is not
        wanted: it prepares the worker for later jobs (nothing comes back, an exception
        is dropped); False when it was not sent."""
        return self._jobs is not None and self._send(function, args, kwargs, reply=False)

    def alive(self) -> bool:
        """Whether the worker process exists and takes jobs."""
        return self._jobs is not None

    def follow_imports(self) -> None:
        """Have the worker import, before its next job, the modules this process holds and it
        does not (those imported since the fork: the inputs' readers, the modules the
        results are made of), so that unpickling a job finds them. Nothing comes back."""
        if self._jobs is None:
            return
        names = sorted(name for name, module in sys.modules.items() if module is not None)
        self._send(_import_modules, (names,), {}, reply=False)

    def _send(
        self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *,
        reply: bool,
    ) -> bool:  # fmt: skip
        """Queue a job for the sending thread; False when it cannot be pickled."""
        assert self._jobs is not None
        job = (function, args, kwargs, reply)
        try:
            data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # e.g. a result holding an open file
            return False
        if self._sender is None:  # sends while the worker prepares: this process goes on
            self._sender = threading.Thread(
                target=self._send_jobs, args=(self._jobs,), name="geocarbon-jobs", daemon=True
            )
            self._sender.start()
        self._queue.put(data)
        return True

    def _send_jobs(self, jobs: Connection) -> None:
        with contextlib.suppress(OSError):  # the worker is gone: result() says so
            while (data := self._queue.get()) is not None:
                jobs.send_bytes(data)

    def result(self, ticket: int | None = None) -> Any:
        """The value of the job of ``ticket`` (:meth:`send`), or of the oldest job whose value
        was not taken; its exception raised."""
        if ticket is None and self._untaken:
            ticket = self._untaken[0]
        if self._process is None or self._receive is None or ticket not in self._untaken:
            msg = "no such job was given to the worker, or its result was already taken"
            raise RuntimeError(msg)
        while ticket not in self._kept:  # the results come back in the order sent
            try:
                self._kept[self._arrived] = self._receive.recv()
            except EOFError:
                code = self._process.exitcode
                self.close()
                msg = f"the background process ended without a result (exit code {code})"
                raise RuntimeError(msg) from None
            self._arrived += 1
        self._untaken.remove(ticket)
        status, value = self._kept.pop(ticket)
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """End the worker and release the pipes."""
        if self._sender is not None:
            self._queue.put(None)
        super().close()  # a worker still reading a job is ended: the sender then fails
        if self._sender is not None:
            self._sender.join()
            self._sender = None
        if self._jobs is not None:
            self._jobs.close()
            self._jobs = None
