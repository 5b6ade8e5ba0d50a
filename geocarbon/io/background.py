"""Work done in a forked process while this one goes on (the report's charts drawn while the
maps and tables are written).

The child is a fork: it sees the parent's memory as it was (nothing is pickled on the way
in), computes one function, sends its result back through a pipe and exits without running
the parent's clean-up (``os._exit``). It writes no file. Where ``fork`` is not available
(Windows) or not wanted (``GEOCARBON_FORK=0``), the function runs in this process when its
result is asked for: same result, one after the other.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def fork_available() -> bool:
    """Whether work can go to a forked process (POSIX, not disabled by ``GEOCARBON_FORK=0``)."""
    if os.environ.get("GEOCARBON_FORK", "1").strip() in ("0", "false", "no"):
        return False
    return "fork" in multiprocessing.get_all_start_methods()


def _child(send: Connection, function: Callable[[], Any]) -> None:
    """In the forked process: compute, send ``("ok", value)`` or ``("error", exception)``."""
    # the parent handles interruption and termination (and ends this process)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        message: tuple[str, Any] = ("ok", function())
    except BaseException as err:  # sent to the parent, raised there
        message = ("error", err)
    try:
        try:
            send.send(message)
        except (OSError, EOFError):  # the parent is gone
            return
        except Exception as err:  # an unpicklable result or exception
            send.send(("error", RuntimeError(f"{type(err).__name__}: {err}")))
    except (OSError, EOFError):
        return
    finally:
        send.close()


class Background(Generic[T]):
    """``function()`` computed in a forked process from now on (with ``fork`` and
    :func:`fork_available`; else in this process by :meth:`result`); :meth:`result` waits
    for it.

    Use as a context manager: leaving the block before :meth:`result` (an error in the
    parent) ends the child.
    """

    def __init__(self, function: Callable[[], T], *, fork: bool = True) -> None:
        self._function = function
        self._process: Any = None
        self._receive: Connection | None = None
        if fork and fork_available():
            context = multiprocessing.get_context("fork")
            self._receive, send = context.Pipe(duplex=False)
            self._process = context.Process(target=_child, args=(send, function), daemon=True)
            self._process.start()
            send.close()

    def result(self) -> T:
        """The function's value (computed here when no child runs); its exception raised."""
        if self._process is None:
            return self._function()
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
        """End the child (if still running) and release the pipe."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._process = None
            self._function = _gone
        if self._receive is not None:
            self._receive.close()
            self._receive = None

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _gone() -> Any:
    msg = "the background result was already taken"
    raise RuntimeError(msg)
