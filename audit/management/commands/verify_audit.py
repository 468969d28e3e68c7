from django.core.management.base import BaseCommand, CommandError

from audit.services import verify_chain


class Command(BaseCommand):
    help = "Verify the hash chain of the audit trail; exit non-zero naming the first broken row."

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(f"Audit chain BROKEN after {report.checked} good rows: {report.problem}")
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {report.checked} rows, head hash {report.last_hash}")
        )
