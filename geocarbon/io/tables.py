"""Readers of YAML, CSV and JSON tables, and file fingerprints."""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
        kind = "a folder" if path.is_dir() else "not a regular file"
        msg = f"{what}: {path} is {kind}; give the path of the file itself in the pipeline file"
        raise InputError(msg)
    if not os.access(path, os.R_OK):
        msg = f"{what}: {path} cannot be read (permission denied); check its permissions (e.g. chmod u+r)"
        raise InputError(msg)
    return path


#: A pipeline file is a few kB; a larger one is refused before it is parsed.
YAML_MAX_BYTES = 1 << 20


class _AliasRefused(yaml.YAMLError):
    """A YAML alias (``*name``) in a pipeline file."""

    def __init__(self, anchor: str, line: int) -> None:
        super().__init__(anchor)
        self.anchor, self.line = anchor, line


class _DuplicateKey(yaml.YAMLError):
    """A key given twice in the same mapping."""

    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line


class _PipelineLoader(yaml.SafeLoader):
    """Safe YAML without aliases (a few hundred bytes of nested aliases expand into
    gigabytes: the "billion laughs") and without duplicate keys (the second silently wins
    in plain YAML)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _AliasRefused(str(event.anchor), event.start_mark.line + 1)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                    continue
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise _DuplicateKey(key, key_node.start_mark.line + 1)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_text_file(path: Path, what: str, max_bytes: int) -> str:
    """The text of a small UTF-8 file (a BOM is allowed), or one :class:`ConfigError` saying
    why not: a folder, unreadable, too large, binary, UTF-16 or another encoding."""
    if path.is_dir():
        msg = (
            f"{path} is a folder, not a {what}; give the YAML file itself (e.g. pipelines/lot.yaml)"
        )
        raise ConfigError(msg)
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except PermissionError:
        msg = f"{path}: the {what} cannot be read (permission denied); check its permissions (e.g. chmod u+r)"
        raise ConfigError(msg) from None
    except OSError as err:
        msg = f"{path}: the {what} cannot be read: {err.strerror or err}"
        raise ConfigError(msg) from None
    if len(data) > max_bytes:
        msg = (
            f"{path} is larger than {max_bytes // 1024} kB: this is not a {what} (a few kB of YAML)"
        )
        raise ConfigError(msg)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        msg = (
            f"{path} is UTF-16 text; a {what} must be UTF-8. Convert it: "
            f"iconv -f utf-16 -t utf-8 {path} > {path}.utf8 && mv {path}.utf8 {path} "
            "(or save it as UTF-8 in your editor)"
        )
        raise ConfigError(msg)
    if b"\x00" in data:
        msg = f"{path} is a binary file (it holds NUL bytes), not a {what} (YAML text)"
        raise ConfigError(msg)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        msg = (
            f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); a {what} must be "
            f"UTF-8. If it was saved as Latin-1 or Windows-1252, convert it: "
            f"iconv -f latin1 -t utf-8 {path} > {path}.utf8 && mv {path}.utf8 {path} "
            "(or save it as UTF-8 in your editor)"
        )
        raise ConfigError(msg) from None


def read_yaml(path: Path) -> Any:
    """Parse a pipeline file (safe YAML, UTF-8), with one clear message on any failure.

    Refused, each with one :class:`ConfigError`: a missing file, a folder, an unreadable,
    empty, binary or non-UTF-8 file, a file over :data:`YAML_MAX_BYTES`, YAML syntax errors
    (with the line), aliases (``*name``: they can expand a small file into gigabytes) and
    keys given twice in one mapping.
    """
    path = Path(path)
    what = "pipeline file"
    if not path.exists():
        if path.is_symlink():
            msg = f"pipeline file {path} is a symbolic link to nothing (broken, or a loop of links); give the YAML file itself"
        else:
            msg = f"pipeline file not found: {path}"
        raise ConfigError(msg)
    if not path.is_dir() and not path.is_file():
        msg = f"{path} is not a regular file (a pipe, socket or device); give the YAML file itself"
        raise ConfigError(msg)
    text = _read_text_file(path, what, YAML_MAX_BYTES)
    try:
        data = yaml.load(text, Loader=_PipelineLoader)  # a SafeLoader subclass
    except _AliasRefused as err:
        msg = (
            f"{path}: line {err.line}: YAML aliases (*{err.anchor}) are not allowed in a {what} "
            "(nested aliases can expand a few hundred bytes into gigabytes); write the values out in full"
        )
        raise ConfigError(msg) from None
    except _DuplicateKey as err:
        msg = f"{path}: line {err.line}: the key {err.key!r} is given twice in the same block; keep one"
        raise ConfigError(msg) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        context = f" ({err.context})" if err.context else ""
        msg = f"{path}: not valid YAML: {where}{err.problem or 'syntax error'}{context}"
        raise ConfigError(msg) from None
    except yaml.YAMLError as err:
        msg = f"{path}: not valid YAML: {err}"
        raise ConfigError(msg) from None
    except RecursionError:
        msg = f"{path}: not valid YAML for a {what}: nested too deeply"
        raise ConfigError(msg) from None
    except ValueError as err:  # e.g. a date such as 2018-13-45
        msg = f"{path}: not valid YAML: {err}"
        raise ConfigError(msg) from None
    if data is None:
        msg = f"{path} is empty; a {what} is a mapping of keys (name, communes, landcover, ...): see pipelines/*.yaml"
        raise ConfigError(msg)
    return data


def _refuse_repeated_columns(
    path: Path, what: str, frame: pd.DataFrame, sep: str, encoding: str = "utf-8-sig"
) -> None:
    """Refuse a CSV whose header names a column twice (pandas would rename the second
    ``name.1`` and the first would be used without a word)."""
    import re

    names = [str(c) for c in frame.columns]
    suspects = [n for n in names if re.fullmatch(r".+\.\d+", n) and n.rsplit(".", 1)[0] in names]
    if not suspects:
        return
    try:
        header = pd.read_csv(
            path, sep=sep, header=None, nrows=1, dtype=str, encoding=encoding
        ).iloc[0]
    except (OSError, ValueError, pd.errors.ParserError):
        return
    raw = [str(v).strip() for v in header]
    repeated = sorted({n for n in raw if raw.count(n) > 1})
    if repeated:
        msg = (
            f"{what}: {path} names the column(s) {', '.join(repr(r) for r in repeated)} more than "
            "once; keep one column of each name"
        )
        raise InputError(msg)


def _starts_with_utf16_bom(path: Path) -> bool:
    try:
        with Path(path).open("rb") as fh:
            return fh.read(2) in (b"\xff\xfe", b"\xfe\xff")
    except OSError:
        return False


#: Separators ``sep="auto"`` chooses from (the most frequent one in the header line).
SEPARATORS = (",", ";", "\t", "|")
#: What ``encoding="auto"`` tries, in order: UTF-8 (with or without BOM), then Windows-1252
#: (French spreadsheet exports), then Latin-1 (which decodes any byte).
AUTO_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def read_csv(
    path: Path,
    what: str,
    *,
    required: list[str] | None = None,
    dtype: Any = None,
    sep: str = ",",
    na_values: list[str] | None = None,
    encoding: str = "utf-8-sig",
    usecols: list[str] | None = None,
    nrows: int | None = None,
) -> pd.DataFrame:
    """Read a CSV (gzip allowed), strip a UTF-8 BOM, check required columns.

    With ``na_values`` (e.g. ``[""]``), only those cells are missing values; any other text
    (``n/a``, ``null``...) stays text, for the caller to refuse. ``sep="auto"``: the
    separator of :data:`SEPARATORS` found most often in the header line (``,`` when none);
    ``encoding="auto"``: the first of :data:`AUTO_ENCODINGS` that decodes the whole file
    (see :func:`detect_encoding`). With ``usecols``, only those columns are kept (their
    names as :func:`csv_columns` gives them), so that a large table's other columns take no
    memory; with ``nrows``, only the first rows are read (``0``: the header alone).

    Raises
    ------
    InputError
        Missing file, unreadable file or missing columns (the message lists what exists);
        an explicit non-UTF-8 ``encoding`` on a file that is UTF-8 text.
    """
    sep, encoding = csv_dialect(path, what, sep, encoding)
    if usecols is not None:
        read_csv(path, what, required=required, dtype=str, sep=sep, encoding=encoding, nrows=0)
    options = {
        "dtype": dtype,
        "sep": sep,
        "na_values": na_values,
        "encoding": encoding,
        "usecols": usecols,
        "nrows": nrows,
    }
    frame = _shared_parse(path, options)
    if frame is None:
        frame = _parsed_csv(path, what, **options)
        _keep_parse(path, options, frame)
    _refuse_repeated_columns(path, what, frame, sep, encoding)
    frame.columns = [str(c).strip() for c in frame.columns]
    _refuse_other_separator(path, what, frame, sep)
    missing = [c for c in (required or []) if c not in frame.columns]
    if missing:
        msg = (
            f"{what}: {path} has no column {', '.join(repr(m) for m in missing)}; "
            f"columns present: {', '.join(frame.columns[:30])}"
        )
        raise InputError(msg)
    return frame


#: The CSVs parsed inside :func:`shared_parses` (None outside it), by file and options.
_PARSES: ContextVar[dict[str, pd.DataFrame] | None] = ContextVar("csv_parses", default=None)


@contextmanager
def shared_parses() -> Iterator[None]:
    """Within the block, a CSV that :func:`read_csv` reads again with the same options is
    parsed once: each read gets its own copy of the first parse (the inputs of a run name
    the same file twice, e.g. ALDO's commune table as the run's commune table)."""
    token = _PARSES.set({})
    try:
        yield
    finally:
        _PARSES.reset(token)


def _parse_key(path: Path, options: dict[str, Any]) -> str:
    return repr((str(Path(path).resolve()), sorted(options.items())))


def _shared_parse(path: Path, options: dict[str, Any]) -> pd.DataFrame | None:
    """A copy of the parse of ``path`` with ``options`` kept by :func:`shared_parses`, or None."""
    parses = _PARSES.get()
    if parses is None:
        return None
    kept = parses.get(_parse_key(path, options))
    return None if kept is None else kept.copy()


def _keep_parse(path: Path, options: dict[str, Any], frame: pd.DataFrame) -> None:
    """Keep a copy of a parse for the next reads of :func:`shared_parses`' block."""
    parses = _PARSES.get()
    if parses is not None:
        parses[_parse_key(path, options)] = frame.copy()


def _parsed_csv(
    path: Path,
    what: str,
    *,
    dtype: Any,
    sep: str,
    na_values: list[str] | None,
    encoding: str = "utf-8-sig",
    usecols: list[str] | None = None,
    nrows: int | None = None,
) -> pd.DataFrame:
    """The CSV parsed by pandas, each way it can fail (empty, not in its encoding, damaged)
    in one message."""
    wanted = None if usecols is None else set(usecols)
    try:
        return pd.read_csv(
            path,
            dtype=dtype,
            sep=sep,
            encoding=encoding,
            low_memory=False,
            keep_default_na=not na_values,
            na_values=na_values or None,
            usecols=None if wanted is None else (lambda c: str(c).strip() in wanted),
            nrows=nrows,
        )
    except pd.errors.EmptyDataError:
        msg = f"{what}: {path} is empty (no header, no rows)"
        raise InputError(msg) from None
    except UnicodeDecodeError as err:
        if encoding != "utf-8-sig":  # an encoding the pipeline file gives
            msg = (
                f"{what}: {path} is not {encoding} text (byte 0x{err.object[err.start]:02x} "
                f"cannot be read as {encoding}); set the encoding of this input in the "
                "pipeline file to the file's own (encoding: auto detects UTF-8, cp1252 and "
                "latin-1)"
            )
            raise InputError(msg) from None
        source = "utf-16" if _starts_with_utf16_bom(path) else "latin1"
        msg = (
            f"{what}: {path} is not UTF-8 text{' (it is UTF-16)' if source == 'utf-16' else ''}; "
            f"convert it, e.g. iconv -f {source} -t utf-8 {path} > converted.csv, and point the "
            "pipeline file to the result"
        )
        raise InputError(msg) from None
    except LookupError:
        msg = f"{what}: {path}: unknown encoding {encoding!r}; give e.g. utf-8, cp1252, latin-1 or auto"
        raise InputError(msg) from None
    except (pd.errors.ParserError, ValueError) as err:
        msg = f"{what}: cannot read {path} as CSV: {err}"
        raise InputError(msg) from None
    except (OSError, EOFError, zlib.error) as err:  # unreadable, or a damaged/truncated .gz
        msg = f"{what}: cannot read {path}: {err} (is the file complete? a .gz must be a gzip file)"
        raise InputError(msg) from None


def _raw_chunks(path: Path, chunk_bytes: int = 1 << 20) -> Any:
    """The bytes of a file (decompressed when its name ends in ``.gz``), chunk by chunk."""
    import gzip

    opener = gzip.open if str(path).lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        while chunk := fh.read(chunk_bytes):
            yield chunk


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes as ``encoding`` (read chunk by chunk)."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in _raw_chunks(path):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """The encoding of a text file: UTF-16 when it starts with a UTF-16 byte-order mark,
    else the first of :data:`AUTO_ENCODINGS` that decodes the whole file (UTF-8 first: a
    Windows-1252 file with accented letters is never valid UTF-8). A file that cannot be
    read (or a damaged ``.gz``) gives UTF-8, for the reader to say what is wrong."""
    try:
        if _starts_with_utf16_bom(path) and not str(path).lower().endswith(".gz"):
            return "utf-16"
        return next(e for e in AUTO_ENCODINGS if _decodes(path, e))
    except (OSError, EOFError, zlib.error):
        return "utf-8-sig"


def detect_separator(path: Path, encoding: str) -> str:
    """The separator of :data:`SEPARATORS` found most often in the header line (outside
    double quotes), ``,`` when none is found or the file cannot be read."""
    try:
        head = next(_raw_chunks(path, 1 << 16), b"").decode(encoding, errors="replace")
    except (OSError, EOFError, zlib.error, LookupError):
        return ","
    line = head.lstrip("\ufeff").splitlines()[0] if head.strip() else ""
    outside = "".join(part for i, part in enumerate(line.split('"')) if i % 2 == 0)
    counts = {s: outside.count(s) for s in SEPARATORS}
    best = max(SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


def _refuse_utf8_read_as_other(path: Path, what: str, encoding: str) -> None:
    """Refuse an explicit single-byte ``encoding`` (cp1252, latin-1...) on a file that is
    UTF-8 text with accented letters: every accent would be read as two wrong letters."""
    import codecs

    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return  # the reader says so
    if name.startswith("utf") or ("8859" not in name and not name.startswith("cp125")):
        return
    try:
        sample = b"".join(c for _, c in zip(range(4), _raw_chunks(path), strict=False))
    except (OSError, EOFError, zlib.error):
        return
    if sample.isascii() or not _utf8_prefix(sample):
        return
    msg = (
        f"{what}: {path} is UTF-8 text, not {encoding}: its accented letters would be read "
        f"wrongly; set the encoding of this input to utf-8 (or auto) in the pipeline file"
    )
    raise InputError(msg)


def _utf8_prefix(sample: bytes) -> bool:
    """Whether ``sample`` (the start of a file, perhaps cut inside a character) is UTF-8."""
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start >= len(sample) - 3 and err.reason == "unexpected end of data"
    return True


def csv_dialect(path: Path, what: str, sep: str, encoding: str) -> tuple[str, str]:
    """The separator and encoding :func:`read_csv` reads ``path`` with: ``"auto"`` ones
    detected (the encoding by decoding the whole file once), an explicit single-byte
    encoding refused on a UTF-8 file. A caller reading one file twice (its header, then
    some columns) resolves them once here.

    Raises
    ------
    InputError
        A missing file, or an explicit non-UTF-8 ``encoding`` on a file that is UTF-8 text.
    """
    require_file(path, what)
    if encoding == "auto":
        encoding = detect_encoding(path)
    else:
        _refuse_utf8_read_as_other(path, what, encoding)
    if sep == "auto":
        sep = detect_separator(path, encoding)
    return sep, encoding


def csv_columns(
    path: Path, what: str, *, sep: str = ",", encoding: str = "utf-8-sig"
) -> list[str]:
    """The column names of a CSV (its header alone is read), refused as :func:`read_csv`
    refuses a table (missing, empty, not in its encoding, another separator)."""
    frame = read_csv(path, what, dtype=str, sep=sep, encoding=encoding, nrows=0)
    return [str(c) for c in frame.columns]


def _refuse_other_separator(path: Path, what: str, frame: pd.DataFrame, sep: str) -> None:
    """Refuse a one-column table whose header holds another separator (``;``, tab, ``,``, ``|``)."""
    if len(frame.columns) != 1:
        return
    other = next((o for o in (";", "\t", ",", "|") if o != sep and o in frame.columns[0]), None)
    if other is not None:
        shown = {"\t": "a tab"}.get(other, repr(other))
        msg = (
            f"{what}: {path} has one column only, whose name holds {shown}: its columns are "
            f"separated by {shown}, not {sep!r}; set the separator of this input in the "
            f"pipeline file (separator: {other!r})"
        )
        raise InputError(msg)


def read_json(path: Path, what: str) -> Any:
    """Read a JSON file with a clear message on failure."""
    require_file(path, what)
    try:
        with Path(path).open(encoding="utf-8-sig") as fh:
            return json.load(fh)
    except UnicodeDecodeError:
        msg = f"{what}: {path} is not UTF-8 text; JSON must be UTF-8 (convert it, e.g. iconv -f latin1 -t utf-8)"
        raise InputError(msg) from None
    except (json.JSONDecodeError, RecursionError) as err:
        msg = f"{what}: {path} is not valid JSON: {err}"
        raise InputError(msg) from None
    except OSError as err:
        msg = f"{what}: cannot read {path}: {err.strerror or err}"
        raise InputError(msg) from None


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as fh:
            while chunk := fh.read(chunk_bytes):
                digest.update(chunk)
    except OSError as err:
        msg = f"cannot read {path} to fingerprint it: {err.strerror or err}"
        raise InputError(msg) from None
    return digest.hexdigest()
