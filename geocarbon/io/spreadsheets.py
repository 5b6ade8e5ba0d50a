"""Writers of the calculator deliverable (:mod:`geocarbon.deliverables`): an Excel workbook
(openpyxl) or a CSV as French spreadsheets read it (``;``, decimal comma, UTF-8 with BOM).

Both are deterministic: the same sheets give the same bytes (fixed workbook dates and
fixed dates of the entries of the xlsx archive).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from geocarbon.deliverables import (
    SequestrationFigures,
    Sheet,
    Spreadsheet,
    calculator_spreadsheet,
)

if TYPE_CHECKING:  # openpyxl is imported when a workbook is written
    from openpyxl.worksheet.worksheet import Worksheet

    from geocarbon.config import PipelineConfig

#: Number formats of the kinds of columns (Excel shows "#,##0" with the reader's
#: thousands separator: a space in French).
NUMBER_FORMATS = {"tco2e_per_yr": "#,##0", "percent": "0.0", "count": "0"}

#: Date of every entry of the xlsx archive (the earliest a zip can hold).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: Background colour of the header row (RGB).
_HEADER_COLOR = "DDE7D5"


def write_spreadsheet(folder: Path, sheet: Spreadsheet | None) -> Path | None:
    """Write the calculator deliverable into ``folder`` (nothing when ``sheet`` is None).

    Returns
    -------
    Path or None
        The file written (``sequestration.xlsx`` or ``sequestration_fr.csv``).
    """
    if sheet is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    ((name, data),) = spreadsheet_file(sheet).items()
    path = folder / name
    path.write_bytes(data)
    return path


def calculator_file(
    cfg: PipelineConfig, figures: SequestrationFigures, date: dt.date | None = None
) -> dict[str, bytes]:
    """The calculator deliverable of ``figures`` (:func:`geocarbon.deliverables.calculator_spreadsheet`)
    as its file name and bytes; empty when the pipeline asks for none."""
    sheet = calculator_spreadsheet(cfg, figures, date)
    return {} if sheet is None else spreadsheet_file(sheet)


def spreadsheet_file(sheet: Spreadsheet) -> dict[str, bytes]:
    """The calculator deliverable's file name (``sequestration.xlsx`` or
    ``sequestration_fr.csv``) and bytes."""
    if sheet.format == "xlsx":
        return {sheet.filename: xlsx_bytes(sheet)}
    return {sheet.filename: semicolon_csv_bytes(sheet.flat)}


def semicolon_csv_bytes(sheet: Sheet) -> bytes:
    """A table as French spreadsheets open it: ``;`` separator, decimal comma, UTF-8 with
    BOM, CRLF line ends; no data is an empty field."""
    frame = pd.DataFrame(
        [[_csv_value(v) for v in row] for row in sheet.rows],
        columns=[c.header for c in sheet.columns],
    )
    text = frame.to_csv(index=False, sep=";", lineterminator="\r\n")
    return text.encode("utf-8-sig")


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def xlsx_bytes(sheet: Spreadsheet) -> bytes:
    """The workbook: a "Lisez-moi" sheet, then one sheet per level (frozen header row,
    column widths, number formats, filters)."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    readme = wb.active
    assert readme is not None
    _readme(readme, sheet.readme)
    for table in sheet.sheets:
        _table(wb.create_sheet(table.title), table)
    wb.properties.creator = "geocarbon"
    wb.properties.title = sheet.readme.rows[0][0] if sheet.readme.rows else ""
    wb.properties.created = sheet.created
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        wb.properties.modified = sheet.created
        ExcelWriter(wb, archive).write_data()
    return _fixed_zip_dates(buffer.getvalue())


def _fixed_zip_dates(data: bytes) -> bytes:
    """The same archive with every entry dated :data:`ZIP_DATE` (zip entries otherwise
    carry the time of writing)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


def _readme(ws: Worksheet, sheet: Sheet) -> None:
    from openpyxl.styles import Alignment, Font

    ws.title = sheet.title
    for row in sheet.rows:
        ws.append(row)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 110
    for cells in ws.iter_rows():
        cells[0].font = Font(bold=True)
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    if ws.max_row:
        ws["A1"].font = Font(bold=True, size=13)
        ws["B1"].font = Font(bold=True, size=13)


def _table(ws: Worksheet, sheet: Sheet) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_fill = PatternFill("solid", start_color=_HEADER_COLOR, end_color=_HEADER_COLOR)
    ws.append([c.header for c in sheet.columns])
    for row in sheet.rows:
        ws.append(row)
    for j, column in enumerate(sheet.columns, start=1):
        letter = get_column_letter(j)
        head = ws.cell(row=1, column=j)
        head.font = Font(bold=True)
        head.fill = header_fill
        head.alignment = Alignment(wrap_text=True, vertical="top")
        fmt = NUMBER_FORMATS.get(column.kind)
        if fmt is not None:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt
        ws.column_dimensions[letter].width = _width(column.header, [r[j - 1] for r in sheet.rows])
    ws.row_dimensions[1].height = 45
    # header row frozen, and the code and name columns when the sheet has them
    keys = [c.key for c in sheet.columns]
    frozen = 1 + sum(1 for k in keys[:2] if k in ("code", "name"))
    ws.freeze_panes = f"{get_column_letter(frozen)}2"
    if sheet.rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.columns))}{len(sheet.rows) + 1}"


def _width(header: str, values: list[Any]) -> float:
    """Column width [characters]: the longest value (notes capped), the header wrapped
    on two or three lines."""
    longest = max(
        (len(f"{v:,}" if isinstance(v, int) else str(v)) for v in values if v is not None),
        default=0,
    )
    head = max(len(w) for w in header.split()) if header.split() else 0
    return float(min(60, max(8, longest + 2, head + 2, len(header) / 3 + 2)))
