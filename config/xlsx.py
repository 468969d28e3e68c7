"""Cells and column widths shared by every workbook the application writes (the exports and the
expert-pool template): text that can never turn into a formula, widths that fit Chinese text."""

from openpyxl.cell import WriteOnlyCell

# Text starting with one of these is (or becomes, once edited) a formula in spreadsheet programs.
FORMULA_STARTS = frozenset("=+-@\t\r")


def display_width(text: str) -> int:
    """Columns are measured in characters of the default font; CJK characters take two."""
    return sum(2 if ord(char) > 0x2E80 else 1 for char in text)


def fitted_width(texts, *, minimum: int) -> float:
    """A column width for these texts (header first): the widest plus a margin, at most 60."""
    return min(max(max(map(display_width, texts)) + 2, minimum), 60)


def text_cell(sheet, value: str):
    """A write-only cell that holds `value` as text: never a formula, and it stays text when edited in Excel."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell
