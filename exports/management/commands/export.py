"""python manage.py export <kind> --call CODE | --programme ID --year YYYY --out FILE.xlsx

Runs the same builder as the export job, synchronously, as an operator: score
sheets carry expert names unless --hide-names is given.
"""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from exports import builders, services
from exports.models import ExportKind


class Command(BaseCommand):
    help = "Write an export workbook (award_list, score_sheet, draw_record, formal_review) to a file."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ExportKind.values)
        parser.add_argument("--call", help="call code, e.g. JB-2025-007")
        parser.add_argument("--programme", type=int, help="programme id (award_list with --year)")
        parser.add_argument("--year", type=int, help="programme year (award_list)")
        parser.add_argument("--out", required=True, help="the .xlsx file to write")
        parser.add_argument("--hide-names", action="store_true", help="score_sheet: number the experts")

    def handle(self, *args, kind, call, programme, year, out, hide_names, **options):
        params = {key: value for key, value in (("call", call), ("programme", programme), ("year", year)) if value}
        if kind == ExportKind.SCORE_SHEET:
            params["names"] = not hide_names
        try:
            subject = builders.resolve(kind, params)
            rows = services.build_file(kind, subject.params, os.path.abspath(out))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"{out}: {rows} rows ({subject.label})")
