"""python manage.py restore ARCHIVE [--noinput] [--verify-only]   (make restore ARCHIVE=...)

Checks every file of the archive against its manifest first and changes nothing if one
differs; then replaces the database and the contents of PRIVATE_MEDIA_ROOT and MEDIA_ROOT.
Stop the web and worker processes before restoring.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from audit.backup import BackupError, restore_backup, verify_archive


class Command(BaseCommand):
    help = "Restore the database and the file stores from an archive made by `manage.py backup`."
    requires_system_checks = []  # the database may be missing: that is what a restore is for

    def add_arguments(self, parser):
        parser.add_argument("archive", help="a jiebang-YYYYmmdd-HHMMSS.tar.gz made by `manage.py backup`")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")
        parser.add_argument("--verify-only", action="store_true", help="check the archive, change nothing")

    def describe(self, archive, manifest) -> None:
        self.stdout.write(
            _("%(archive)s is intact: made %(created)s by version %(version)s, %(count)d files.")
            % {
                "archive": archive,
                "created": manifest.get("created_at"),
                "version": manifest.get("version"),
                "count": len(manifest["files"]),
            }
        )

    def confirm(self, archive, interactive, manifest) -> bool:
        self.describe(archive, manifest)
        if not interactive:
            return True
        question = _(
            "This replaces the database and every file in PRIVATE_MEDIA_ROOT and MEDIA_ROOT "
            "with the archive's contents. Type “yes” to continue: "
        )
        return input(question).strip().lower() == "yes"

    def handle(self, *args, archive, interactive, verify_only, **options):
        try:
            if verify_only:
                self.describe(archive, verify_archive(archive))
                return
            result = restore_backup(archive, confirm=lambda manifest: self.confirm(archive, interactive, manifest))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(warning))
        self.stdout.write(
            self.style.SUCCESS(
                _("Restored database %(db)s, %(private)d private files and %(media)d media files.")
                % {"db": result.database, "private": result.files["private"], "media": result.files["media"]}
            )
        )
