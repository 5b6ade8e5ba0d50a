"""report.pdf: the territory report printed by headless Chromium, when it is installed.

No PDF engine is not an error: the run writes report.html and says (a notice) that no PDF was
made and how to get one. Chromium runs with networking disabled (the report needs none).
"""

from __future__ import annotations

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


def print_pdf(engine: str, page: Path, pdf: Path) -> str:
    """Print ``page`` (an HTML file) to ``pdf`` with headless Chromium, A4 as the page's print
    CSS says, without header or footer and with no network.

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
    return ""
