"""report.pdf: the territory report printed by headless Chromium, when it is installed.

No PDF engine is not an error: the run writes report.html and says (a notice) that no PDF was
made and how to get one. Chromium runs with networking disabled (the report needs none).

The same report gives the same PDF bytes: Chromium writes the time of printing into the
document information (``/CreationDate``, ``/ModDate``, and an ``/ID`` in some versions);
:func:`normalise_pdf` replaces them by the report's own date (that of its latest input) and
an id derived from the content, each with its byte length kept so the cross-reference offsets
stay valid.
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
    pdf.write_bytes(normalise_pdf(pdf.read_bytes(), date))
    return ""


#: A date in the document information: ``/CreationDate (D:20240131120000+00'00')``.
_INFO_DATE = re.compile(rb"/(CreationDate|ModDate)\s*\((D:[^()\\]*)\)")
#: The file identifier in the trailer: ``/ID [<hex> <hex>]``.
_FILE_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]*)>\s*<([0-9A-Fa-f]*)>\s*\]")


def _pdf_date(day: dt.date | None, width: int) -> bytes:
    """``D:`` date of ``day`` at midnight UTC in the longest PDF date form at most ``width``
    bytes long, padded with spaces (white space between PDF tokens) to exactly ``width``."""
    stamp = (day or dt.date(1970, 1, 1)).strftime("%Y%m%d")
    forms = (f"D:{stamp}000000+00'00'", f"D:{stamp}000000Z", f"D:{stamp}000000", f"D:{stamp}")
    for text in forms:
        if len(text) + 2 <= width:
            return ("(" + text + ")").encode("ascii").ljust(width)
    return b"()".ljust(width)


def normalise_pdf(data: bytes, day: dt.date | None = None) -> bytes:
    """The PDF ``data`` with its print time replaced, byte length unchanged.

    ``/CreationDate`` and ``/ModDate`` become ``day`` at 00:00 UTC; the two halves of a
    trailer ``/ID`` become a SHA-256 of the document with those fields blanked (the same
    content gives the same id). Every replacement keeps the length of what it replaces, so
    the cross-reference table's byte offsets stay valid.

    Parameters
    ----------
    data : bytes
        A PDF as printed by Chromium.
    day : datetime.date, optional
        The report's date; None: 1 January 1970.
    """

    def date(match: re.Match[bytes]) -> bytes:
        head = match.group(0)[: match.start(2) - match.start(0) - 1]
        return head + _pdf_date(day, match.end(0) - match.start(2) + 1)

    out = _INFO_DATE.sub(date, data)
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
