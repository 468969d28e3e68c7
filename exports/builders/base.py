"""Writing one formatted sheet, fast and byte-for-byte reproducible.

Every export is one write-only sheet: a merged title row, a bold header row
frozen under the title, column widths fitted to the header and the first rows
(CJK characters count double), ``0.00`` for money and scores, Beijing time for
dates, landscape A4 fitted to the page width with the header repeated. Text
that a spreadsheet would read as a formula is written as text.

Reproducible: the workbook's created/modified properties and every zip
member's timestamp are fixed, so the same data gives the same bytes.
"""

import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain, islice
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.writer.excel import ExcelWriter

from config.xlsx import FORMULA_STARTS, fitted_width, text_cell

FIXED_TIME = datetime(2000, 1, 1)  # workbook created/modified: content, not the clock, decides the bytes
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_ZIP_MODE = 0o600 << 16
FORMATS = {"int": "0", "money": "0.00", "score": "0.00", "datetime": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd"}
_CENT = Decimal("0.01")
_TITLE_FONT = Font(bold=True, size=14)
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_CENTER = Alignment(horizontal="center", vertical="center")
WIDTH_SAMPLE = 200  # rows measured for column widths (a write-only sheet takes widths before rows)
PROGRESS_EVERY = 1000
_SERIALS_KEPT = 4096  # distinct instants remembered (rows of one expert's sheet share one)


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | int | money | score | datetime | date


Progress = Callable[[int], None]


def row_delay() -> float:
    """Test-only hook (the worker kill test): seconds to sleep after each row. Never set in production."""
    try:
        return float(os.environ.get("EXPORT_TEST_ROW_DELAY", "") or 0)
    except ValueError:
        return 0.0


def _beijing(value):
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def _shown(value, kind: str) -> str:
    if value is None:
        return ""
    if kind in ("money", "score"):
        return f"{value:.2f}"
    if kind == "datetime":
        return "0000-00-00 00:00"
    if kind == "date":
        return "0000-00-00"
    return str(value)


def _fit(columns: list[Column], rows: list[tuple]) -> list[float]:
    return [
        fitted_width([column.header, *(_shown(r[index], column.kind) for r in rows)], minimum=6)
        for index, column in enumerate(columns)
    ]


class _StableZip(ZipFile):
    """A zip whose members carry a fixed timestamp and mode, so equal content gives equal bytes."""

    def _info(self, name: str) -> ZipInfo:
        info = ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = self.compression
        info.external_attr = _ZIP_MODE
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, ZipInfo):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        info = self._info(arcname or os.path.basename(filename))
        info.file_size = os.path.getsize(filename)
        with open(filename, "rb") as source, self.open(info, "w") as target:
            shutil.copyfileobj(source, target, 1 << 20)


def save(book: Workbook, target) -> None:
    """Save like openpyxl.save_workbook, without stamping the current time anywhere."""
    book.properties.created = book.properties.modified = FIXED_TIME
    archive = _StableZip(target, "w", ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(book, archive).save()


class _Sheet(WriteOnlyWorksheet):
    """openpyxl's write-only sheet, taking a ready cell as a cell.

    openpyxl first tries every appended item as a value, and a cell fails that
    test by raising (and formatting) an exception, after which openpyxl drops
    its spare cell for a new one. Rows here carry many styled cells, so the
    cells are recognised first; plain values go through openpyxl's own typing,
    exactly as in WriteOnlyWorksheet. Same cells in, same XML out.
    """

    def _values_to_row(self, values, row_idx):
        spare = WriteOnlyCell(self)
        for column, value in enumerate(values, 1):
            if value is None:
                continue
            if isinstance(value, Cell):
                cell = value
            else:
                cell = spare
                cell.value = value
            cell.column, cell.row = column, row_idx
            if cell.hyperlink is not None:
                cell.hyperlink.ref = cell.coordinate
            yield cell
            if cell is spare and (cell.has_style or cell.hyperlink):
                spare = WriteOnlyCell(self)


def new_sheet(book: Workbook, title: str) -> WriteOnlyWorksheet:
    sheet = _Sheet(parent=book, title=title)
    book._add_sheet(sheet)
    return sheet


class _Cells:
    """Turns a row of Python values into what the sheet appends, reusing one styled cell per column.

    A write-only sheet writes each row as soon as it is appended, so a cell
    object can be refilled for the next row: styling costs no allocation.

    openpyxl serialises every value it is given; the cheapest values for it
    are ints, floats and plain strings. So a styled column hands its cell a
    float that serialises to the same text: a Decimal rounded to the cent
    (openpyxl writes Decimals through float anyway) and, for a date or time,
    the Excel serial number of the Beijing wall-clock time — exactly what
    openpyxl would compute from the datetime, computed once per instant.
    """

    def __init__(self, sheet, columns: list[Column]):
        self.sheet = sheet
        self.epoch = sheet.parent.epoch
        self.width = len(columns)
        self.texts = [i for i, c in enumerate(columns) if c.kind not in FORMATS]
        self.styled = []
        self._serials = {}
        for index, column in enumerate(columns):
            if column.kind in FORMATS:
                proto = WriteOnlyCell(sheet)
                proto.number_format = FORMATS[column.kind]
                timed, cents = column.kind in ("datetime", "date"), column.kind in ("money", "score")
                self.styled.append((index, proto, timed, cents))

    def text(self, value: str):
        """A string as written: "" as an empty cell, formula-looking text as a text cell."""
        if not value:
            return None
        return text_cell(self.sheet, value) if value[0] in FORMULA_STARTS else value

    def serial(self, value) -> float:
        """The Excel serial number of a date or datetime, in Beijing time."""
        serial = self._serials.get(value)
        if serial is None:
            if len(self._serials) >= _SERIALS_KEPT:  # memory stays flat; the next rows refill it
                self._serials.clear()
            serial = self._serials[value] = to_excel(_beijing(value), self.epoch)
        return serial

    def row(self, values: tuple) -> list:
        out = list(values)
        if len(out) != self.width:
            raise ValueError(f"{len(out)} values for {self.width} columns")
        for index in self.texts:
            value = out[index]
            if isinstance(value, str):
                out[index] = self.text(value)
        for index, proto, timed, cents in self.styled:
            value = out[index]
            if value is None:
                continue
            if value.__class__ is Decimal:
                value = float(value.quantize(_CENT, ROUND_HALF_UP)) if cents else float(value)
            elif isinstance(value, str):
                out[index] = self.text(value)
                continue
            elif timed and isinstance(value, date):
                value = self.serial(value)
            proto.value = value
            out[index] = proto
        return out


def write_sheet(
    target,
    *,
    sheet: str,
    title: str,
    columns: list[Column],
    rows: Iterable[tuple],
    total: int = 0,
    progress: Progress | None = None,
) -> int:
    """Write the workbook to `target` (a path or a binary file); returns the number of data rows."""
    book = Workbook(write_only=True)
    book.properties.creator = "Jiebang"
    ws = new_sheet(book, sheet)
    rows = iter(rows)
    head = list(islice(rows, WIDTH_SAMPLE))
    for index, width in enumerate(_fit(columns, head), start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    last = get_column_letter(len(columns))
    ws.merged_cells.add(f"A1:{last}1")
    ws.freeze_panes = "A3"
    ws.print_title_rows = "2:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True

    cells = _Cells(ws, columns)
    heading = WriteOnlyCell(ws, value=title)
    heading.font, heading.alignment = _TITLE_FONT, _CENTER
    ws.append([heading])
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font, cell.fill, cell.alignment = _BOLD, _HEADER_FILL, _CENTER
        header.append(cell)
    ws.append(header)

    every = max(1, min(PROGRESS_EVERY, -(-total // 100))) if progress else 0
    delay = row_delay()
    count = 0
    convert, append = cells.row, ws.append
    for count, values in enumerate(chain(head, rows), start=1):  # noqa: B007
        append(convert(values))
        if delay:
            time.sleep(delay)
        if every and count % every == 0:
            progress(count)
    save(book, target)
    return count
