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
