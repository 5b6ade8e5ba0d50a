"""Small text files the command line writes outside a run: the JSON Schema of a pipeline
file (``geocarbon schema --output``) and the README's table of configuration keys
(``geocarbon schema --readme``). Each is written atomically: a temporary file beside the
target, then moved onto it, so a reader never sees half a file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from geocarbon.errors import InputError, OutputError


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` through a temporary file.

    Raises
    ------
    OutputError
        When the folder is missing or not writable (nothing is left behind).
    """
    path = Path(path)
    if path.is_dir():
        msg = f"{path} is a folder; give a file name, e.g. {path / 'geocarbon.schema.json'}"
        raise OutputError(msg)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        tmp.replace(path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        msg = f"cannot write {path}: {err.strerror or err}; check that its folder exists and is writable"
        raise OutputError(msg) from None


def rewrite_text(path: Path, edit: Callable[[str], str]) -> None:
    """Replace the UTF-8 text of ``path`` with ``edit(text)``, atomically.

    Raises
    ------
    InputError
        When ``path`` cannot be read as UTF-8 text.
    OutputError
        When it cannot be written.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        msg = f"cannot read {path}: {why or err}; give the path of an existing UTF-8 text file"
        raise InputError(msg) from None
    write_text_atomic(path, edit(text))
