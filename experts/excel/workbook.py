"""Writing the pool: the empty template and the export (write-only workbooks)."""

import io

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from config.xlsx import FORMULA_STARTS, fitted_width, text_cell
from experts.excel.columns import (
    COLUMNS,
    EXAMPLE_USERNAME,
    FIELD_LABELS,
    HELP_SHEET,
    LIST_SEPARATOR,
    MAX_ROWS,
    NO,
    PERSON_SEPARATOR,
    SHEET,
    TYPE_BY_CODE,
    YES,
)
from experts.models import Employment, Expert
from proposals.validators import mask_id_number

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")


def template() -> bytes:
    """The empty pool: headers, one example row, and the 说明 sheet."""
    example = [str(column.example) for column in COLUMNS]
    return _workbook([example])


def export(*, mask_ids: bool = False) -> bytes:
    """Every expert, ordered by name, in the import format: an export re-imports unchanged.

    ``mask_ids`` hides ID numbers (the expert's and those on the avoid-list) for
    readers who may not see them; such a file cannot be imported back.
    """
    experts = (
        Expert.objects.select_related("user")
        .prefetch_related(
            Prefetch(
                "employments",
                queryset=Employment.objects.filter(ended_on__isnull=True).select_related("organization"),
                to_attr="current_employments",
            ),
            "avoid_units",
            "avoid_people",
        )
        .order_by("name", "pk")
    )
    return _workbook([row_of(expert, mask_ids=mask_ids) for expert in experts])


def row_of(expert: Expert, *, mask_ids: bool = False) -> list[str | int]:
    """One expert as a spreadsheet row (needs current_employments, avoid_units and avoid_people loaded)."""
    current = expert.current_employments[0] if expert.current_employments else None

    def id_number(value: str) -> str:
        return mask_id_number(value) if mask_ids and value else value

    people = [
        f"{p.name}{PERSON_SEPARATOR}{id_number(p.id_number)}" if p.id_number else p.name
        for p in sorted(expert.avoid_people.all(), key=lambda p: p.pk)
    ]
    values = {
        "username": expert.user.username,
        "name": expert.name,
        "id_number": id_number(expert.id_number),
        "employer": current.organization.credit_code if current else "",
        "title": expert.title,
        "expert_type": TYPE_BY_CODE.get(expert.expert_type, expert.expert_type),
        "fields": LIST_SEPARATOR.join(str(FIELD_LABELS.get(code, code)) for code in expert.fields),
        "phone": expert.phone,
        "email": expert.email,
        "active": YES if expert.active else NO,
        "yearly_cap": expert.yearly_cap,
        "avoid_units": LIST_SEPARATOR.join(u.credit_code for u in sorted(expert.avoid_units.all(), key=lambda u: u.pk)),
        "avoid_people": LIST_SEPARATOR.join(people),
    }
    return [values[column.key] for column in COLUMNS]


def _workbook(rows: list[list]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET)
    # Write-only sheets take widths, formats, panes and validations before the first row.
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        texts = [column.header, *(str(row[index - 1]) for row in rows)]
        sheet.column_dimensions[letter].width = fitted_width(texts, minimum=8)
        if column.text:
            sheet.column_dimensions[letter].number_format = "@"
        if column.choices:
            validation = DataValidation(
                type="list",
                formula1='"{}"'.format(",".join(column.choices)),
                allow_blank=not column.required,
                showErrorMessage=True,
                errorTitle=column.header,
                error=_("Choose one of: %(choices)s") % {"choices": " / ".join(column.choices)},
            )
            validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.data_validations.append(validation)
    sheet.freeze_panes = "A2"
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font, cell.fill = _BOLD, _HEADER_FILL
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
    _help_sheet(book.create_sheet(HELP_SHEET))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(sheet, value):
    if value in (None, ""):
        return None
    if isinstance(value, str) and value[0] in FORMULA_STARTS:
        return text_cell(sheet, value)
    return WriteOnlyCell(sheet, value=value)


def _help_sheet(sheet) -> None:
    headings = [_("Column"), _("Required"), _("Explanation"), _("Example")]
    for letter, width in zip("ABCD", (26, 8, 90, 36), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A4"
    title = WriteOnlyCell(sheet, value=_("How to fill in the expert pool sheet (%(sheet)s)") % {"sheet": SHEET})
    title.font = Font(bold=True, size=13)
    sheet.append([title])
    general = _(
        "One expert per row; row 1 holds the column headers, which must stay as they are. "
        "Delete the example row (login name %(example)s) before importing. Every row is checked first: "
        "if any row has a problem, nothing is imported and every problem is listed with its row and column. "
        "Importing an unchanged file changes nothing."
    ) % {"example": EXAMPLE_USERNAME}
    note = WriteOnlyCell(sheet, value=general)
    note.alignment = _WRAP
    sheet.append([note])
    cells = []
    for text in headings:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.fill = _BOLD, _HEADER_FILL
        cells.append(cell)
    sheet.append(cells)
    for column in COLUMNS:
        explanation = WriteOnlyCell(sheet, value=str(column.help))
        explanation.alignment = _WRAP
        sheet.append(
            [
                column.header,
                _("yes") if column.required else _("no"),
                explanation,
                _cell(sheet, str(column.example)),
            ]
        )
