"""Recompute an expert draw from what is stored: exit 0 when it checks out, 1 otherwise.

python manage.py verify_draw 12
"""

from django.core.management.base import BaseCommand, CommandError

from reviews.draw import verify
from reviews.models import Draw


class Command(BaseCommand):
    help = "Recompute an expert draw (commitment, pool hash, HMAC ranking, invited places) and report problems."

    def add_arguments(self, parser):
        parser.add_argument("draw_id", type=int, help="The id of the draw (see the draw record page).")

    def handle(self, *args, draw_id, **options):
        draw = Draw.objects.select_related("call").prefetch_related("invitations").filter(pk=draw_id).first()
        if draw is None:
            raise CommandError(f"No draw with id {draw_id}.")
        problems = verify(draw)
        if problems:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            raise CommandError(f"Draw #{draw.pk} ({draw.call.code}) does not check out:\n{listed}")
        self.stdout.write(f"Draw #{draw.pk} for {draw.call.code}, rule {draw.rule_version}")
        self.stdout.write(f"  commitment  {draw.commitment}")
        self.stdout.write(f"  seed        {draw.seed}")
        self.stdout.write(f"  pool        {len(draw.pool)} experts, hash {draw.pool_hash}")
        self.stdout.write(f"  panel       {draw.ranking[: draw.panel_size]}")
        self.stdout.write(self.style.SUCCESS("✓ The commitment, pool hash, ranking and invited places all check out."))
