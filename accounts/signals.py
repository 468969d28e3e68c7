"""Sign-in events go to the audit trail, so supervisors can see who acted when."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from audit.services import record


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    record(actor=user, action="user.login", obj=user)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        record(actor=user, action="user.logout", obj=user)
