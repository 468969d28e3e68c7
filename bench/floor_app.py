"""The floor for bench/surge.py: a bare Django view behind the production settings and middleware.

    .venv/bin/gunicorn bench.floor_app:application   (bench/surge.py starts it, with the same
                                                    environment and worker count as config.wsgi)

Same settings module, same middleware stack (sessions, CSRF on POST, authentication, messages, CSP,
axes), only the URLconf is replaced by one view that reads request.user (session and user rows,
like any page for a logged-in user) and answers a few bytes: everything the framework and the
deployment cost per request, nothing of the application's own work.
"""

import os

from django.conf import settings
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
settings.ROOT_URLCONF = __name__


@require_http_methods(["GET", "POST"])
def floor(request):
    return HttpResponse(f"ok {request.user.pk or '-'}", content_type="text/plain")


urlpatterns = [path("floor/", floor, name="floor")]

from django.core.wsgi import get_wsgi_application  # noqa: E402  (after the URLconf is in place)

application = get_wsgi_application()
