"""report.pdf: the territory report printed by headless Chromium, when it is installed.

No PDF engine is not an error: the run writes report.html and says (a notice) that no PDF was
made and how to get one. Chromium runs with networking disabled (the report needs none).

The same report gives the same PDF bytes: Chromium writes the time of printing into the
document information (``/CreationDate``, ``/ModDate``, and an ``/ID`` in some versions);
:func:`normalise_pdf` replaces them by the report's own date (that of its latest input) and
an id derived from the content. Chromium also turns the report's relative links
(``maps/…html``) into absolute ``file://`` addresses of the folder it printed in (a temporary
folder, gone once the run's outputs are in place): they become relative again, so the PDF's
links work beside the maps, name no local path and do not depend on the output folder. The
cross-reference table is rewritten for the new byte offsets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

#: Executable names of headless Chromium, in the order they are looked for.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Longest wait for one PDF, seconds.
PDF_TIMEOUT_S = 180


#: Headless Chromium with no network: every host name fails to resolve and every proxied
#: request goes nowhere (the browser tests open the maps and the report with the same flags).
OFFLINE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
)


def pdf_engine() -> str | None:
    """Path of the headless Chromium used to print PDFs, or None when none is installed."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(engine: str, page: Path, pdf: Path, date: dt.date | None = None) -> str:
    """Print ``page`` (an HTML file) to ``pdf`` with headless Chromium, A4 as the page's print
    CSS says, without header or footer and with no network.

    Parameters
    ----------
    date : datetime.date, optional
        The report's date (that of its latest input): the PDF's creation and modification
        dates, so that the same report gives the same bytes. None: 1 January 1970 (still the
        same bytes each run).

    Returns
    -------
    str
        ``""`` when the PDF was written, else why not (for a notice; the run goes on).
    """
    with tempfile.TemporaryDirectory(prefix="geocarbon-pdf-") as profile:
        cmd = [
            engine,
            *OFFLINE_FLAGS,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=PDF_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            return f"{engine} did not print the report within {PDF_TIMEOUT_S} s"
        except OSError as err:
            return f"{engine} could not be started: {err.strerror or err}"
    if not pdf.is_file() or pdf.stat().st_size == 0:
        last = (done.stderr or "").strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        pdf.unlink(missing_ok=True)
        return f"{engine} wrote no PDF ({last[0][:200]})"
    base = page.resolve().parent.as_uri() + "/"
    pdf.write_bytes(normalise_pdf(pdf.read_bytes(), date, base=base))
    return ""


#: A date in the document information: ``/CreationDate (D:20240131120000+00'00')``.
_INFO_DATE = re.compile(rb"/(CreationDate|ModDate)\s*\((D:[^()\\]*)\)")
#: The file identifier in the trailer: ``/ID [<hex> <hex>]``.
_FILE_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]*)>\s*<([0-9A-Fa-f]*)>\s*\]")
#: The address of a link: ``/URI (file:///…/maps/carbon_stocks.html)``.
_LINK_URI = re.compile(rb"/URI\s*(\(([^()\\]*)\))")


def _pdf_date(day: dt.date | None, width: int | None = None) -> bytes:
    """``(D:…)`` date of ``day`` at midnight UTC. With ``width``: the longest PDF date form
    at most ``width`` bytes long, padded with spaces (white space between PDF tokens) to
    exactly ``width``."""
    stamp = (day or dt.date(1970, 1, 1)).strftime("%Y%m%d")
    forms = (f"D:{stamp}000000+00'00'", f"D:{stamp}000000Z", f"D:{stamp}000000", f"D:{stamp}")
    for text in forms:
        if width is None or len(text) + 2 <= width:
            return ("(" + text + ")").encode("ascii").ljust(width or 0)
    return b"()".ljust(width or 0)


def _xref_entries(data: bytes) -> list[tuple[int, int]] | None:
    """Where the last cross-reference table's in-use entries are and the offsets they hold,
    ``(position of the entry, offset)``, and last the position of the ``startxref`` value
    and that value; None when the file has no classic table there (an xref stream)."""
    found = list(re.finditer(rb"startxref\s+(\d+)", data))
    if not found:
        return None
    start = int(found[-1].group(1))
    if data[start : start + 4] != b"xref":
        return None
    entries = []
    pos = start + 4
    section = re.compile(rb"\s*(\d+) (\d+)[ \t]*\r?\n")
    entry = re.compile(rb"(\d{10}) \d{5} ([nf])[ \r\n]{2}")
    while (head := section.match(data, pos)) is not None:
        pos = head.end()
        for _ in range(int(head.group(2))):
            row = entry.match(data, pos)
            if row is None:
                return None
            if row.group(2) == b"n":
                entries.append((pos, int(row.group(1))))
            pos = row.end()
    if not re.match(rb"\s*trailer", data[pos:]):
        return None
    entries.append((found[-1].start(1), start))
    return entries


def normalise_pdf(data: bytes, day: dt.date | None = None, base: str = "") -> bytes:
    """The PDF ``data`` with its print time and folder replaced.

    ``/CreationDate`` and ``/ModDate`` become ``day`` at 00:00 UTC; link addresses under
    ``base`` become relative to it; the two halves of a trailer ``/ID`` become a SHA-256 of
    the document with the id blanked (the same content gives the same id). The
    cross-reference table is rewritten for the new byte offsets; a file without a classic
    table keeps its length instead (each replacement padded with white space), so the
    offsets stay valid either way.

    Parameters
    ----------
    data : bytes
        A PDF as printed by Chromium.
    day : datetime.date, optional
        The report's date; None: 1 January 1970.
    base : str, optional
        ``file://`` address of the printed page's folder, ending with ``/``.
    """
    prefix = base.encode("ascii", "replace")
    table = _xref_entries(data)
    # (start, end, replacement) in data; without a table, each replacement fills its place
    edits = _date_and_link_edits(data, day, prefix, keep_length=not table)
    if table:
        edits = _with_xref_edits(edits, table)
    pieces, pos = [], 0
    for start, end, new in edits:
        pieces += [data[pos:start], new]
        pos = end
    return _with_content_id(b"".join([*pieces, data[pos:]]))


def _date_and_link_edits(
    data: bytes, day: dt.date | None, prefix: bytes, *, keep_length: bool
) -> list[tuple[int, int, bytes]]:
    """The replacements ``(start, end, new bytes)`` of the info dates and the links under ``prefix``.

    Dates become ``day`` at 00:00 UTC, links relative to ``prefix``; with ``keep_length``
    each replacement is padded with white space to the length of what it replaces. Sorted
    by position.
    """
    edits: list[tuple[int, int, bytes]] = []
    for m in _INFO_DATE.finditer(data):
        width = m.end(0) - m.start(2) + 1
        edits.append((m.start(2) - 1, m.end(0), _pdf_date(day, width if keep_length else None)))
    for m in _LINK_URI.finditer(data):
        uri = m.group(2)
        if prefix and uri.startswith(prefix) and uri != prefix:
            relative = b"(" + uri[len(prefix) :] + b")"
            width = m.end(1) - m.start(1)
            edits.append((m.start(1), m.end(1), relative.ljust(width) if keep_length else relative))
    edits.sort()
    return edits


def _with_xref_edits(
    edits: list[tuple[int, int, bytes]], table: list[tuple[int, int]]
) -> list[tuple[int, int, bytes]]:
    """``edits`` plus the rewritten cross-reference offsets and ``startxref`` value they imply.

    ``table`` is :func:`_xref_entries`'s answer: each entry's position and byte offset, and
    last the position and value of ``startxref``.
    """

    def shift(pos: int) -> int:
        return sum(len(new) - (end - start) for start, end, new in edits if end <= pos)

    *rows, (xref_at, xref) = table
    moved = [(at, at + 10, b"%010d" % (offset + shift(offset))) for at, offset in rows]
    number = str(xref + shift(xref)).encode("ascii")
    return sorted([*edits, *moved, (xref_at, xref_at + len(str(xref)), number)])


def _with_content_id(out: bytes) -> bytes:
    """``out`` with both halves of the trailer ``/ID`` replaced by a SHA-256 of the document
    with the id blanked (same length as before)."""
    blank = _FILE_ID.sub(lambda m: b"/ID" + b" " * (len(m.group(0)) - 3), out)
    digest = hashlib.sha256(blank).hexdigest().upper().encode("ascii")

    def file_id(match: re.Match[bytes]) -> bytes:
        text = match.group(0)
        for k in (1, 2):
            width = match.end(k) - match.start(k)
            start = match.start(k) - match.start(0)
            fill = (digest * (width // len(digest) + 1))[:width]
            text = text[:start] + fill + text[start + width :]
        return text

    return _FILE_ID.sub(file_id, out)
