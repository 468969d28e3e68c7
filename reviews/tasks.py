from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation


@shared_task(name="reviews.send_invitations", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitations(invitation_ids: list[int]) -> int:
    """E-mail each invited expert (console backend by default)."""
    from reviews.models import Invitation

    sent = 0
    invitations = Invitation.objects.filter(pk__in=invitation_ids).select_related("expert__user", "draw__call")
    for invitation in invitations:
        address = invitation.expert.email or invitation.expert.user.email
        if not address:
            continue
        with translation.override(settings.LANGUAGE_CODE):
            body = render_to_string("reviews/email/invitation.txt", {"invitation": invitation})
        send_mail(
            f"【揭榜挂帅】评审邀请：{invitation.draw.call.code} {invitation.draw.call.title}",
            body,
            settings.DEFAULT_FROM_EMAIL,
            [address],
        )
        sent += 1
    return sent


@shared_task(name="reviews.remind_late_experts", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def remind_late_experts(assignment_ids: list[int]) -> int:
    """E-mail each expert once about its scores still missing among these assignments.

    Assignments submitted or ended since the reminder was queued are skipped.
    """
    from collections import defaultdict

    from reviews.models import Assignment, ScoreStatus

    late = (
        Assignment.objects.filter(pk__in=assignment_ids, active=True)
        .exclude(score__status=ScoreStatus.SUBMITTED)
        .select_related("expert__user", "proposal__call")
        .order_by("expert_id", "proposal__title", "pk")
    )
    by_expert = defaultdict(list)
    for assignment in late:
        by_expert[assignment.expert].append(assignment)
    sent = 0
    for expert, assignments in by_expert.items():
        address = expert.email or expert.user.email
        if not address:
            continue
        call = assignments[0].proposal.call
        with translation.override(settings.LANGUAGE_CODE):
            body = render_to_string(
                "reviews/decisions/email_late_reminder.txt", {"expert": expert, "assignments": assignments}
            )
        send_mail(f"【揭榜挂帅】评分提醒：{call.code} {call.title}", body, settings.DEFAULT_FROM_EMAIL, [address])
        sent += 1
    return sent
