"""Call documents: uploaded by editors, downloaded by whoever may see the call."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from calls import services
from calls.access import get_call_for_user, get_document_for_user
from calls.forms import DocumentForm
from config.files import serve_private_file


@login_required
@require_POST
def upload_document(request, code):
    call = get_call_for_user(request.user, code, write=True)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.add_document(
                actor=request.user, call=call, title=form.cleaned_data["title"], upload=form.cleaned_data["file"]
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Document attached."))
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("calls:edit", code=call.code)


@require_GET
def download_document(request, code, pk):
    document = get_document_for_user(request.user, code, pk)
    return serve_private_file(document.file, filename=document.download_name, content_type="application/pdf")


@login_required
@require_POST
def delete_document(request, code, pk):
    document = get_document_for_user(request.user, code, pk, write=True)
    services.remove_document(actor=request.user, document=document)
    messages.success(request, _("Document removed."))
    return redirect("calls:edit", code=document.call.code)
