"""Readers of YAML, CSV and JSON tables, and file fingerprints."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from geocarbon.errors import ConfigError, InputError


def require_file(path: Path, what: str) -> Path:
    """Return ``path`` if it is an existing file, else raise a clear :class:`InputError`."""
    path = Path(path)
    if not path.exists():
        msg = f"{what}: file not found: {path} (check the path in the pipeline file; relative paths are relative to that file)"
        raise InputError(msg)
    if not path.is_file():
        msg = f"{what}: {path} is not a file"
        raise InputError(msg)
    return path


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, with the line of a syntax error in the message."""
    path = Path(path)
    if not path.exists():
        msg = f"pipeline file not found: {path}"
        raise ConfigError(msg)
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as err:
        msg = f"{path}: not valid YAML: {err}"
        raise ConfigError(msg) from None


def read_csv(
    path: Path,
    what: str,
    *,
    required: list[str] | None = None,
    dtype: Any = None,
    sep: str = ",",
) -> pd.DataFrame:
    """Read a CSV (gzip allowed), strip a UTF-8 BOM, check required columns.

    Raises
    ------
    InputError
        Missing file, unreadable file or missing columns (the message lists what exists).
    """
    require_file(path, what)
    try:
        frame = pd.read_csv(path, dtype=dtype, sep=sep, encoding="utf-8-sig", low_memory=False)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        msg = f"{what}: cannot read {path} as CSV: {err}"
        raise InputError(msg) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in (required or []) if c not in frame.columns]
    if missing:
        msg = (
            f"{what}: {path} has no column {', '.join(repr(m) for m in missing)}; "
            f"columns present: {', '.join(frame.columns[:30])}"
        )
        raise InputError(msg)
    return frame


def read_json(path: Path, what: str) -> Any:
    """Read a JSON file with a clear message on failure."""
    require_file(path, what)
    try:
        with Path(path).open(encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as err:
        msg = f"{what}: {path} is not valid JSON: {err}"
        raise InputError(msg) from None


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
