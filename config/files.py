"""Serving private files (attachments, call documents, sealed letters, exports) after a view's permission check.

Django streams the file itself unless PRIVATE_ACCEL_REDIRECT is set: then nginx sends it
(``X-Accel-Redirect`` to an ``internal`` location), which frees the web worker at once — a
20 MB attachment no longer holds a gunicorn process for the whole download. The permission
check stays in the view either way; nginx never serves the folder to a request of its own.
"""

from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header

from config.storage import is_local


def serve_private_file(field_file, *, filename: str, content_type: str, as_attachment: bool = False):
    """Answer with the file behind `field_file` (a FieldFile on private storage); 404 when it is missing."""
    if not field_file:
        raise Http404
    prefix = settings.PRIVATE_ACCEL_REDIRECT
    if prefix and is_local(field_file.storage):  # S3 objects are streamed by Django
        if not field_file.storage.exists(field_file.name):
            raise Http404
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(field_file.name)
        response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    else:
        try:
            handle = field_file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, as_attachment=as_attachment, filename=filename, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response
