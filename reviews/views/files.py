"""Attachments of the frozen submission, for the expert assigned to review it."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.views.decorators.http import require_GET

from config.files import serve_private_file
from proposals.models import Attachment, Submission
from reviews.scoring import assignment_for_expert


@login_required
@require_GET
def attachment(request, pk, attachment_id):
    """Only files that the latest submission refers to; 404 for anyone but the assigned,
    unconflicted expert (the same check as the scoring page)."""
    assignment = assignment_for_expert(request.user, pk)
    submission = Submission.objects.filter(proposal_id=assignment.proposal_id).order_by("-version").first()
    listed = {a.get("id") for a in (submission.snapshot.get("attachments", []) if submission else [])}
    if attachment_id not in listed:
        raise Http404
    item = Attachment.objects.filter(pk=attachment_id, proposal_id=assignment.proposal_id).first()
    if item is None:
        raise Http404
    return serve_private_file(item.file, filename=item.original_name, content_type="application/pdf")
