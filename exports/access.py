"""Loading export jobs for a user, and deciding who may request which export.

A job is visible to whoever requested it and to administrators; anybody
else gets 404 for it, its progress and its file, so nobody learns that it exists.
"""

import rules
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from exports.builders import Subject
from exports.models import ExportJob, ExportKind
from reviews.models import Notice


def issuer_may_export(user, subject: Subject) -> bool:
    """An issuer may export the award list of its own call once the public notice has begun."""
    call = subject.call
    if not (user.is_authenticated and user.is_issuer and user.organization_id and call is not None):
        return False
    if call.issuer_id != user.organization_id:
        return False
    return Notice.objects.filter(call=call, starts_on__lte=timezone.localdate()).exists()


def check_request(user, kind: str, subject: Subject) -> None:
    """PermissionDenied unless this user may request this export."""
    if rules.has_perm("exports.request_export", user):
        return
    if kind == ExportKind.AWARD_LIST and issuer_may_export(user, subject):
        return
    raise PermissionDenied


def get_job_for_user(user, pk: int) -> ExportJob:
    job = ExportJob.objects.visible_to(user).select_related("requested_by").filter(pk=pk).first()
    if job is None:
        raise Http404
    return job
