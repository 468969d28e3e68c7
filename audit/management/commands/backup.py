"""python manage.py backup [--output-dir backups]   (make backup)

One archive with the database (pg_dump custom format, or a copy of the SQLite file),
PRIVATE_MEDIA_ROOT and MEDIA_ROOT, and a manifest of sha256 sums; see audit/backup.py.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from audit.backup import BackupError, create_backup


class Command(BaseCommand):
    help = "Back up the database and the private and public file stores into one dated archive."

    def add_arguments(self, parser):
        parser.add_argument("--output-dir", default="backups", help="folder for the archive (default: backups)")

    def handle(self, *args, output_dir, **options):
        try:
            result = create_backup(output_dir)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        stores = result.manifest["stores"]
        self.stdout.write(
            self.style.SUCCESS(
                _("Backup written: %(path)s (database %(db)s, %(private)d private files, %(media)d media files).")
                % {
                    "path": result.path,
                    "db": result.manifest["database"]["name"],
                    "private": stores["private"]["files"],
                    "media": stores["media"]["files"],
                }
            )
        )
