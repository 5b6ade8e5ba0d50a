"""The output folder: what geocarbon may replace, and how it replaces it safely.

A run writes into a temporary folder beside its output folder and moves it into place only
when everything succeeded. What may be replaced is decided here, once, for every command:

* A folder is replaced only when it is a **geocarbon result** -- its ``run.json`` carries
  :data:`RESULT_SIGNATURE` and lists every file geocarbon wrote -- **and** ``--overwrite`` is
  given; a result holding any file geocarbon did not write is refused (the list is shown).
* Whatever the flags, the run refuses ``/``, the home folder, the current folder, and any folder
  that is or holds the pipeline file or an input (:func:`check_output_dir`).
* A symlinked output folder is handled as its target (the link stays).
* One run at a time per output folder (:func:`reserve_output_dir` holds a lock file beside it;
  a second run is refused at once with the first run's process id).
* Temporary (``.NAME.tmp-*``) and set-aside (``.NAME.old-*``) folders left by a killed run are
  cleaned at the next run; a previous result that a killed run had set aside is put back.
* A failed run removes the folders it created (nothing new and empty is left behind) and
  turns disk-full, read-only or permission errors into one :class:`OutputError`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geocarbon.errors import OutputError

logger = logging.getLogger(__name__)

#: File of a result folder that marks it as geocarbon's (its provenance).
RESULT_FILE = "run.json"
#: Value of ``run.json``'s ``"result_signature"`` key in every result geocarbon writes.
RESULT_SIGNATURE = "geocarbon-result/1"
#: Marker file inside a temporary folder while a run writes into it (removed before the move).
PARTIAL_MARKER = ".geocarbon-partial"
#: Files that desktop file browsers create by themselves when a folder is opened: they may be
#: replaced with a result (they hold no user data).
OS_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "._.DS_Store"})


@dataclass(frozen=True)
class Protected:
    """A path the output folder must neither be nor hold (``what`` names it in messages)."""

    path: Path
    what: str


def _real(path: Path) -> Path:
    """Absolute path with symlinks resolved (a missing tail is kept as is)."""
    return Path(os.path.realpath(Path(path).expanduser()))


def default_protected(extra: Iterable[Protected] = ()) -> list[Protected]:
    """The filesystem root, the home folder and the current folder, plus ``extra``."""
    out = [Protected(Path.home(), "your home folder"), Protected(Path.cwd(), "the current folder")]
    return out + list(extra)


def result_files(folder: Path) -> set[str]:
    """Relative paths (``/``-separated) of every file and symlink under ``folder``."""
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        base = Path(dirpath)
        names = list(filenames) + [d for d in dirnames if (base / d).is_symlink()]
        for name in names:
            found.add((base / name).relative_to(folder).as_posix())
    return found


def read_result_manifest(folder: Path) -> dict[str, Any] | None:
    """``run.json`` of a geocarbon result in ``folder``, or None when the folder is not one."""
    marker = Path(folder) / RESULT_FILE
    try:
        if marker.is_symlink() or not marker.is_file() or marker.stat().st_size > 50_000_000:
            return None
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("result_signature") != RESULT_SIGNATURE:
        return None
    files = data.get("result_files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return data


def _foreign_files(folder: Path) -> set[str]:
    """Files of a result folder that its ``run.json`` does not list (all, if it has none)."""
    present = result_files(folder) - OS_LITTER
    manifest = read_result_manifest(folder)
    return present - set(manifest["result_files"]) if manifest else present


def _shown(names: Iterable[str], limit: int = 8) -> str:
    names = sorted(names)
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def check_output_dir(
    out_dir: Path,
    *,
    overwrite: bool,
    protected: Iterable[Protected] = (),
    owner_pipeline: Path | None = None,
) -> Path:
    """Check that a run may write its results to ``out_dir``; create nothing.

    Parameters
    ----------
    out_dir : Path
        The output folder (symlinks are followed: the target is what is checked).
    overwrite : bool
        Whether an existing geocarbon result may be replaced.
    protected : iterable of Protected
        Paths the output folder must not be nor hold (inputs, pipeline file, home...).
    owner_pipeline : Path, optional
        Set by ``geocarbon demo``: an existing result is replaced only when the demo wrote it
        from this same pipeline file (the demo replaces its own results only).

    Returns
    -------
    Path
        The resolved output folder.

    Raises
    ------
    OutputError
        With one message saying why and what to do.
    """
    if str(out_dir).strip() == "":
        msg = "the output folder is empty: give a folder name (output_dir in the pipeline file or --output-dir)"
        raise OutputError(msg)
    target = _real(out_dir)
    shown = str(out_dir) if _real(out_dir) == Path(out_dir) else f"{out_dir} (= {target})"
    _check_not_protected(target, shown, protected)
    _check_is_folder(target, shown)
    if target.is_dir():
        _check_replaceable(target, shown, overwrite=overwrite, owner_pipeline=owner_pipeline)
    _check_writable(target, shown)
    return target


def _check_not_protected(target: Path, shown: str, protected: Iterable[Protected]) -> None:
    """Refuse an output folder that is the filesystem root, or is or holds a protected path."""
    if target.parent == target:
        msg = f"output folder {shown} is the root of the filesystem; geocarbon never writes there: choose a folder of its own, e.g. outputs/<territory>"
        raise OutputError(msg)
    for item in protected:
        p = _real(item.path)
        if p == target:
            msg = f"output folder {shown} is {item.what}; geocarbon never replaces it: choose a folder of its own, e.g. outputs/<territory>"
            raise OutputError(msg)
        if target in p.parents:
            msg = f"output folder {shown} holds {item.what} ({p}); geocarbon never replaces it: choose a folder of its own, e.g. outputs/<territory>"
            raise OutputError(msg)


def _check_is_folder(target: Path, shown: str) -> None:
    """Refuse an output folder that is a loop of symbolic links or an existing non-folder."""
    try:
        target.stat()
    except OSError as err:
        if err.errno == errno.ELOOP:
            msg = f"output folder {shown} is a loop of symbolic links; point it to a real folder"
            raise OutputError(msg) from None
    if target.exists() and not target.is_dir():
        msg = f"output folder {shown} exists and is not a folder; choose another output folder"
        raise OutputError(msg)


def _check_replaceable(
    target: Path, shown: str, *, overwrite: bool, owner_pipeline: Path | None
) -> None:
    """Refuse an existing, non-empty folder unless it is a geocarbon result that may be replaced.

    It must be a geocarbon result holding only files geocarbon wrote, ``overwrite`` must be
    given and, for the demo (``owner_pipeline``), the demo must have written it from that file.
    """
    present = result_files(target)
    if not present - OS_LITTER:
        return
    manifest = read_result_manifest(target)
    if manifest is None:
        msg = (
            f"output folder {shown} is not empty and is not a geocarbon result (no {RESULT_FILE} "
            f"written by geocarbon); it holds {_shown({f.split('/')[0] for f in present})}. "
            "geocarbon replaces only its own "
            "results, even with --overwrite: choose an empty or new folder"
        )
        raise OutputError(msg)
    foreign = present - set(manifest["result_files"]) - OS_LITTER
    if foreign:
        msg = (
            f"output folder {shown} holds a geocarbon result and files geocarbon did not write: "
            f"{_shown(foreign)}; move them elsewhere (or choose another output folder), then run again"
        )
        raise OutputError(msg)
    if not overwrite:
        msg = f"output folder {shown} already holds results; run again with --overwrite to replace them"
        raise OutputError(msg)
    if owner_pipeline is not None:
        _check_demo_owner(manifest, shown, owner_pipeline)


def _check_demo_owner(manifest: dict[str, Any], shown: str, owner_pipeline: Path) -> None:
    """Refuse a result that ``geocarbon demo`` did not write from ``owner_pipeline``."""
    wrote = manifest.get("pipeline_file")
    by_demo = manifest.get("result_command") == "demo"
    if not by_demo or not wrote or _real(Path(wrote)) != _real(owner_pipeline):
        msg = (
            f"output folder {shown} holds a result that 'geocarbon demo' did not write from "
            f"{owner_pipeline} (written by 'geocarbon {manifest.get('result_command', 'run')}' "
            f"from {wrote}); the demo replaces only its own results: replace it with "
            "'geocarbon run --overwrite', or give the demo another output folder"
        )
        raise OutputError(msg)


def _check_writable(target: Path, shown: str) -> None:
    """The nearest existing ancestor (or the folder's parent) must be writable (no write test)."""
    probe = target.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        msg = f"output folder {shown} is not writable: {probe} is not a folder; choose another output folder"
        raise OutputError(msg)
    if _read_only(probe):
        msg = f"output folder {shown} is not writable: {probe} is on a read-only file system; choose another output folder"
        raise OutputError(msg)
    if not os.access(probe, os.W_OK | os.X_OK):
        msg = f"output folder {shown} is not writable (permission denied on {probe}); choose a writable folder or fix permissions"
        raise OutputError(msg)


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


#: Free space [bytes] under which a failed write is blamed on a full disk (a GeoPackage
#: transaction that failed for want of space is rolled back, which frees what it had taken).
DISK_FULL_BYTES = 64 << 20
#: Modules whose errors, raised while results are written, are write failures of GDAL
#: (GeoPackage, GeoTIFF) rather than errors of geocarbon.
_WRITER_MODULES = ("pyogrio", "rasterio", "fiona", "sqlite3", "osgeo")


def _disk_failure(folder: Path) -> int | None:
    """``errno.ENOSPC`` or ``errno.EROFS`` when the file system of ``folder`` is (nearly)
    full or read-only, else None."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY:
        return errno.EROFS
    if st.f_bavail * st.f_frsize < DISK_FULL_BYTES:
        return errno.ENOSPC
    return None


def _write_failure(err: Exception, tmp: Path, target: Path) -> OutputError | None:
    """An :class:`OutputError` for an error of GDAL's writers, or for any error on a full or
    read-only disk; None for other errors (they are geocarbon's own)."""
    cause = _disk_failure(tmp)
    detail = f" [{type(err).__name__}: {err}]"
    if cause is not None:
        return OutputError(os_error_message(OSError(cause, os.strerror(cause)), target) + detail)
    if type(err).__module__.split(".")[0] in _WRITER_MODULES:
        try:
            st = os.statvfs(tmp)
            free = f"; {st.f_bavail * st.f_frsize / 1e6:,.0f} MB free on its disk"
        except OSError:
            free = ""
        return OutputError(
            f"cannot write the results into {target}: the writer failed{detail}{free}; check the "
            "disk and run again (the previous result, if any, is unchanged)"
        )
    return None


def os_error_message(err: OSError, target: Path) -> str:
    """One message for a write failure: what happened, where, and what to do."""
    where = f" ({err.filename})" if getattr(err, "filename", None) else ""
    if err.errno == errno.ENOSPC:
        return f"cannot write the results into {target}: the disk is full{where}; free some space and run again (the previous result, if any, is unchanged)"
    if err.errno == errno.EROFS:
        return f"cannot write the results into {target}: the file system is read-only{where}; choose a writable output folder"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"cannot write the results into {target}: permission denied{where}; choose a writable output folder or fix permissions"
    if err.errno == errno.EDQUOT:
        return f"cannot write the results into {target}: disk quota exceeded{where}; free some space and run again"
    return f"cannot write the results into {target}: {err.strerror or err}{where}"


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created (outermost first)."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for path in reversed(missing):
        path.mkdir()
    return list(reversed(missing))


def _remove_if_empty(folders: list[Path]) -> None:
    for path in reversed(folders):
        with contextlib.suppress(OSError):
            path.rmdir()


def _stem(target: Path) -> str:
    """Name stem of the lock, temporary and set-aside entries beside ``target``: its name, or
    for a long name (file names stop at 255 bytes) its start and a digest."""
    name = target.name
    if len(name.encode()) <= 100:
        return name
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name.encode()[:60].decode(errors='ignore')}~{digest}"


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Defer Ctrl-C and SIGTERM until the block ends, then deliver them.

    Python runs signal handlers in the main thread only, between two bytecodes, whichever
    thread the system gave the signal to; blocking the signal in the main thread
    (``pthread_sigmask``) is therefore not enough where the process has other threads. The
    handlers are replaced for the block's duration by one that records the signal; the
    recorded signals are raised again once the handlers are back. In another thread,
    nothing is needed: no handler can interrupt it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def record(signum: int, frame: object) -> None:
        pending.append(signum)

    # a handler installed outside Python (getsignal: None) could not be put back: kept
    known = [n for n in _DEFERRED if signal.getsignal(n) is not None]
    previous = {number: signal.signal(number, record) for number in known}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)


#: Signals deferred while the lock is taken (:func:`_signals_deferred`).
_DEFERRED = (signal.SIGINT, signal.SIGTERM)


class _Lock:
    """An exclusive lock file ``.NAME.lock`` beside the output folder (``fcntl.flock``)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path = target.parent / f".{_stem(target)}.lock"
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock (the file created if needed), Ctrl-C and SIGTERM deferred meanwhile:
        delivered inside, they would end the run with the lock file made but not yet
        recorded as this run's (``fd``), so that :meth:`release` would leave it behind."""
        with _signals_deferred():
            self._acquire()

    def _acquire(self) -> None:
        import fcntl

        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 100).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                msg = (
                    f"another geocarbon run (process {holder}) is writing to {self.target}; "
                    "wait until it ends, or choose another output folder"
                )
                raise OutputError(msg) from None
            # the file may have been removed by the run that held it: lock the current one
            try:
                same = os.fstat(fd).st_ino == self.path.stat().st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
                self.fd = fd
                return
            os.close(fd)

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self.fd)
            self.fd = None


def _clean_stale(target: Path) -> None:
    """Remove what a killed run left beside ``target`` (called with the lock held)."""
    parent = target.parent
    if not parent.is_dir():
        return
    for entry in sorted(parent.iterdir()):
        name = entry.name
        if entry.is_symlink() or not entry.is_dir():
            continue
        if name.startswith(f".{_stem(target)}.tmp-") and (
            (entry / PARTIAL_MARKER).is_file() or read_result_manifest(entry) is not None
        ):
            logger.info("removing %s, left by a run that did not finish", entry)
            shutil.rmtree(entry)
        elif name.startswith(f".{_stem(target)}.old-") and read_result_manifest(entry) is not None:
            if not target.exists():
                logger.warning(
                    "putting back the previous result %s, set aside by a run that did not finish",
                    entry,
                )
                entry.rename(target)
            else:
                logger.info(
                    "removing %s, a previous result left by a run that did not finish", entry
                )
                shutil.rmtree(entry)


@dataclass
class OutputSlot:
    """An output folder reserved for one run (see :func:`reserve_output_dir`)."""

    target: Path
    overwrite: bool
    protected: list[Protected] = field(default_factory=list)
    owner_pipeline: Path | None = None

    @contextmanager
    def writing(self) -> Iterator[Path]:
        """Yield a temporary folder; on success it replaces the output folder in one rename.

        The caller writes every file, ``run.json`` last (see :func:`result_marker`).
        """
        target = self.target
        check_output_dir(
            target,
            overwrite=self.overwrite,
            protected=self.protected,
            owner_pipeline=self.owner_pipeline,
        )
        tmp = _temporary_folder(target)
        try:
            yield tmp
            (tmp / PARTIAL_MARKER).unlink()
            if read_result_manifest(tmp) is None:
                msg = f"internal error: the run wrote no {RESULT_FILE} result marker"
                raise OutputError(msg)
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise OutputError(os_error_message(err, target)) from None
        except Exception as err:
            # GDAL's writers (GeoPackage, GeoTIFF) report a full or read-only disk in their own
            # words ("no such table: gpkg_contents"...): tell it from the file system itself
            failure = None if isinstance(err, OutputError) else _write_failure(err, tmp, target)
            shutil.rmtree(tmp, ignore_errors=True)
            if failure is not None:
                raise failure from None
            raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _move_into_place(tmp, target)


def _temporary_folder(target: Path) -> Path:
    """Create the temporary folder beside ``target``, marked partial, with the umask's mode."""
    try:
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{_stem(target)}.tmp-"))
        (tmp / PARTIAL_MARKER).write_text("geocarbon run in progress\n", encoding="utf-8")
    except OSError as err:
        raise OutputError(os_error_message(err, target)) from None
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    return tmp


def _move_into_place(tmp: Path, target: Path) -> None:
    """Replace ``target`` with the finished ``tmp`` folder, the previous result set aside first.

    The previous result is put back when files were added to it during the run, or when a
    rename fails; it is removed once the new result is in place.
    """
    old = None
    try:
        if target.exists():
            old = target.parent / f".{_stem(target)}.old-{os.getpid()}"
            target.rename(old)
            # files may have been added while the run wrote: set aside, then checked again,
            # the previous result is put back if anything in it is not geocarbon's
            foreign = _foreign_files(old)
            if foreign:
                old.rename(target)
                old = None
                shutil.rmtree(tmp, ignore_errors=True)
                msg = (
                    f"files were added to the output folder {target} while the run was writing "
                    f"({_shown(foreign)}); nothing was replaced: move them elsewhere and run again"
                )
                raise OutputError(msg)
        tmp.rename(target)
    except OSError as err:
        if old is not None and old.exists() and not target.exists():
            old.rename(target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(os_error_message(err, target)) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def result_marker(slot: OutputSlot, tmp: Path, provenance: dict[str, Any]) -> dict[str, Any]:
    """``provenance`` plus the signature, the command and the list of files written into
    ``tmp`` (the content of ``run.json``, written last)."""
    files = result_files(tmp) - {PARTIAL_MARKER}
    return provenance | {
        "result_signature": RESULT_SIGNATURE,
        "result_command": "demo" if slot.owner_pipeline is not None else "run",
        "result_files": sorted(files | {RESULT_FILE}),
    }


@contextmanager
def reserve_output_dir(
    out_dir: Path,
    *,
    overwrite: bool,
    protected: Iterable[Protected] = (),
    owner_pipeline: Path | None = None,
) -> Iterator[OutputSlot]:
    """Reserve ``out_dir`` for a whole run: check it, lock it, clean what a killed run left.

    On failure, the folders created for the run (the output folder's missing parents) are
    removed again, and the lock is released.
    """
    protected = list(protected)
    target = check_output_dir(
        out_dir, overwrite=overwrite, protected=protected, owner_pipeline=owner_pipeline
    )
    try:
        created = _make_parents(target.parent)
    except OSError as err:
        raise OutputError(os_error_message(err, target)) from None
    lock = _Lock(target)
    ok = False
    try:
        try:
            lock.acquire()
            _clean_stale(target)
        except OSError as err:
            raise OutputError(os_error_message(err, target)) from None
        check_output_dir(
            target, overwrite=overwrite, protected=protected, owner_pipeline=owner_pipeline
        )
        yield OutputSlot(target, overwrite, protected, owner_pipeline)
        ok = True
    finally:
        lock.release()
        if not ok:
            _remove_if_empty(created)
