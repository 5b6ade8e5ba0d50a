"""Writing the territory report: report.html (always) and report.pdf (when asked and a PDF
engine is installed), with the facts about the inputs it lists (file name, modification date,
SHA-256)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from geocarbon.io.pdf import pdf_engine, print_pdf
from geocarbon.io.tables import sha256_file
from geocarbon.io.writers import write_text
from geocarbon.notices import Notice
from geocarbon.report import InputFact, territory_report


def input_facts(files: dict[str, Path]) -> list[InputFact]:
    """Name, modification date (UTC, day only: the same files give the same report) and
    SHA-256 of each input file, in key order; folders and missing files are left out."""
    out = []
    for key, path in sorted(files.items()):
        p = Path(path)
        if not p.is_file():
            continue
        day = dt.datetime.fromtimestamp(p.stat().st_mtime, tz=dt.UTC).date().isoformat()
        out.append(InputFact(key, p.name, day, sha256_file(p)))
    return out


def latest_input_day(files: dict[str, Path]) -> dt.date | None:
    """The latest modification day (UTC) of the input files: the date the report and the
    spreadsheet give their figures (the same files give the same outputs; run.json holds
    the time of the run)."""
    days = [dt.date.fromisoformat(f.modified) for f in input_facts(files) if f.modified]
    return max(days) if days else None


def write_report(folder: Path, cfg: Any, results: Any, maps: list[str]) -> None:
    """Write ``report.html`` into ``folder`` and, when ``cfg.report.pdf``, ``report.pdf``.

    A PDF that cannot be made (no headless Chromium, or it failed) adds a notice to
    ``results.notices`` (shown in the report and in run.json); the run goes on.
    """
    want_pdf = bool(getattr(getattr(cfg, "report", None), "pdf", False))
    engine = pdf_engine() if want_pdf else None
    if want_pdf and engine is None:
        results.notices.append(
            Notice(
                "report_pdf_not_made",
                "report.pdf was not written: no PDF engine (headless Chromium) is installed; "
                "install the 'chromium' package, or print report.html from a browser (A4), or "
                "set report.pdf: false in the pipeline to stop this notice",
                facts={"why": "no PDF engine"},
            )
        )
    page = folder / "report.html"
    facts = input_facts(results.files)
    write_text(page, territory_report(cfg, results, maps, facts))
    if engine is not None:
        # the PDF's dates are the report's ("data as of" its latest input): same bytes each run
        day = max((dt.date.fromisoformat(f.modified) for f in facts if f.modified), default=None)
        why = print_pdf(engine, page, folder / "report.pdf", date=day)
        if why:
            results.notices.append(
                Notice(
                    "report_pdf_not_made",
                    f"report.pdf was not written: {why}; print report.html from a browser (A4) "
                    "instead",
                    facts={"why": why},
                )
            )
