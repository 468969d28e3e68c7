"""Periodic invitation housekeeping (Celery beat): reminders and expiry.

- An invitation still unanswered within a day of its deadline gets one reminder.
- An invitation unanswered at its deadline counts as a no-show (the expert's
  no-show count goes up) and the next backup in draw order is invited.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation

from reviews.models import Invitation, InvitationStatus

logger = logging.getLogger("jiebang.reviews")
REMIND_BEFORE = timedelta(hours=24)


def remind_pending(now=None) -> int:
    now = now or timezone.now()
    due = Invitation.objects.filter(
        status=InvitationStatus.PENDING,
        reminded_at__isnull=True,
        respond_by__gt=now,
        respond_by__lte=now + REMIND_BEFORE,
    ).select_related("expert__user", "draw__call")
    sent = 0
    for invitation in due:
        address = invitation.expert.email or invitation.expert.user.email
        if address:
            with translation.override(settings.LANGUAGE_CODE):
                body = render_to_string("reviews/email/reminder.txt", {"invitation": invitation})
            call = invitation.draw.call
            send_mail(
                f"【揭榜挂帅】评审邀请提醒：{call.code} {call.title}", body, settings.DEFAULT_FROM_EMAIL, [address]
            )
            sent += 1
        Invitation.objects.filter(pk=invitation.pk).update(reminded_at=now)
    return sent


def expire_unanswered(now=None) -> int:
    from reviews.draw import _close

    now = now or timezone.now()
    expired = 0
    for invitation in Invitation.objects.filter(status=InvitationStatus.PENDING, respond_by__lte=now):
        _close(invitation, InvitationStatus.NO_SHOW, actor=None, reason="未在期限内答复")
        expired += 1
    if expired:
        logger.info("%d invitation(s) expired unanswered; backups invited", expired)
    return expired


@shared_task(name="reviews.invitation_housekeeping")
def invitation_housekeeping() -> dict:
    return {"reminded": remind_pending(), "expired": expire_unanswered()}
