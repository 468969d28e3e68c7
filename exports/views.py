"""Export pages: request, the jobs list with live progress, the progress partial, download, retry."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config.files import serve_private_file
from exports import services
from exports.access import get_job_for_user
from exports.builders import SubjectMissing
from exports.models import ExportJob

PARAMETERS = ("call", "programme", "year")
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
@require_POST
def request_export(request):
    params = {key: request.POST[key] for key in PARAMETERS if request.POST.get(key)}
    try:
        services.request_export(actor=request.user, kind=request.POST.get("kind", ""), params=params)
    except SubjectMissing:
        raise Http404 from None
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("exports:jobs")
    messages.success(request, _("The export has been queued; the file appears here when it is ready."))
    return redirect("exports:jobs")


@login_required
@require_GET
def jobs(request):
    visible = ExportJob.objects.visible_to(request.user).select_related("requested_by")[:100]
    return render(request, "exports/jobs.html", {"jobs": visible})


@login_required
@require_GET
def progress(request, pk):
    job = get_job_for_user(request.user, pk)
    return render(request, "exports/_progress.html", {"job": job})


@login_required
@require_GET
def download(request, pk):
    return serve_job_file(get_job_for_user(request.user, pk))


def serve_job_file(job: ExportJob):
    """The workbook of a job the caller may see (the page and the API): 404 until it is ready."""
    if not job.downloadable:
        raise Http404
    return serve_private_file(job.file, filename=job.filename, content_type=CONTENT_TYPE, as_attachment=True)


@login_required
@require_POST
def retry(request, pk):
    job = get_job_for_user(request.user, pk)
    try:
        services.retry_export(actor=request.user, job=job)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except PermissionDenied:  # allowed when it was requested, no longer
        messages.error(request, _("You may no longer request this export."))
    return redirect("exports:jobs")
