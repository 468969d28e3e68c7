"""Proposal attachments: uploaded by the lead unit, read by whoever may read the proposal."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config.files import serve_private_file
from proposals import services
from proposals.access import get_proposal_for_user
from proposals.models import Attachment


@login_required
@require_POST
def upload(request, pk):
    proposal = get_proposal_for_user(request.user, pk, write=True, content=False)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a PDF file to upload."))
    else:
        try:
            services.add_attachment(
                actor=request.user, proposal=proposal, kind=request.POST.get("kind", ""), upload=upload
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Attachment uploaded."))
    return redirect("proposals:edit", pk=proposal.pk, step="attachments")


@login_required
@require_GET
def download(request, pk, attachment_id):
    """Served by Django after the same permission check as the proposal itself.
    Attachments removed from a draft stay readable for the submission that used them."""
    proposal = get_proposal_for_user(request.user, pk, content=False)
    attachment = Attachment.objects.filter(proposal=proposal, pk=attachment_id).first()
    if attachment is None:
        raise Http404
    return serve_private_file(attachment.file, filename=attachment.original_name, content_type="application/pdf")


@login_required
@require_POST
def remove(request, pk, attachment_id):
    proposal = get_proposal_for_user(request.user, pk, write=True, content=False)
    # Through the proposal's manager: the attachment keeps the proposal, not loaded again.
    attachment = proposal.attachments.filter(pk=attachment_id, removed_at__isnull=True).first()
    if attachment is None:
        raise Http404
    services.remove_attachment(actor=request.user, attachment=attachment)
    messages.success(request, _("Attachment removed."))
    return redirect("proposals:edit", pk=proposal.pk, step="attachments")
