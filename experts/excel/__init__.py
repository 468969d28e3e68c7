"""The expert pool as an .xlsx spreadsheet: template, export and import (openpyxl)."""

from experts.excel.columns import COLUMNS, HEADERS, HELP_SHEET, SHEET
from experts.excel.importer import ImportResult, Problem, import_pool
from experts.excel.workbook import CONTENT_TYPE, export, template

__all__ = [
    "COLUMNS",
    "CONTENT_TYPE",
    "HEADERS",
    "HELP_SHEET",
    "SHEET",
    "ImportResult",
    "Problem",
    "export",
    "import_pool",
    "template",
]
