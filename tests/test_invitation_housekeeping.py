"""Reminders before an invitation's deadline, and no-shows after it."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from experts.models import Expert
from reviews import draw as draws
from reviews.models import Invitation, InvitationStatus
from reviews.reminders import expire_unanswered, invitation_housekeeping, remind_pending
from tests.factories_reviews import add_draw, review_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(administrator, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    review = review_call(administrator, proposals=1, experts=3)
    draw, _invitations = add_draw(review, administrator, backups=2)
    invitation = draw.invitations.order_by("rank").first()
    Invitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.PENDING)
    return Invitation.objects.get(pk=invitation.pk), draw


def test_reminder_once_within_a_day_of_the_deadline(pending):
    invitation, _draw = pending
    Invitation.objects.filter(pk=invitation.pk).update(respond_by=timezone.now() + timedelta(days=2))
    assert remind_pending() == 0
    Invitation.objects.filter(pk=invitation.pk).update(respond_by=timezone.now() + timedelta(hours=5))
    mail.outbox.clear()
    assert remind_pending() == (1 if (invitation.expert.email or invitation.expert.user.email) else 0)
    assert Invitation.objects.get(pk=invitation.pk).reminded_at is not None
    assert remind_pending() == 0  # only once


def test_unanswered_at_the_deadline_is_a_no_show_and_the_next_backup_is_invited(pending):
    invitation, draw = pending
    waiting_before = list(draw.invitations.filter(status=InvitationStatus.WAITING).order_by("rank"))
    Invitation.objects.filter(pk=invitation.pk).update(respond_by=timezone.now() - timedelta(minutes=1))
    no_shows = Expert.objects.get(pk=invitation.expert_id).no_show_count
    assert expire_unanswered() == 1
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.NO_SHOW
    assert Expert.objects.get(pk=invitation.expert_id).no_show_count == no_shows + 1
    if waiting_before:
        nxt = Invitation.objects.get(pk=waiting_before[0].pk)
        assert nxt.status == InvitationStatus.PENDING and nxt.replaces_id == invitation.pk
    # An answer after the deadline is refused.
    with pytest.raises(Exception):
        draws.respond(actor=invitation.expert.user, invitation=invitation, accept=True)


def test_housekeeping_task_runs_both(pending):
    result = invitation_housekeeping.delay().get()
    assert set(result) == {"reminded", "expired"}
