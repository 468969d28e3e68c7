from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse_lazy, translate_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.dashboard import panels_for
from audit.services import record


@require_GET
def home(request):
    return render(request, "home.html")


@login_required
@require_GET
def dashboard(request):
    sections = panels_for(request.user)
    return render(request, "accounts/dashboard.html", {"sections": sections})


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        # The hash itself is never audited; only that the change happened.
        record(actor=self.request.user, action="user.password_change", obj=self.request.user)
        messages.success(self.request, _("Your password has been changed."))
        return response


@require_POST
def set_language(request):
    """Switch language and stay on the same page.

    Django's own view cannot translate ``/en/...`` back to the unprefixed
    Chinese URL (it resolves the path in the default language), so the path
    is resolved in the language it is written in.
    """
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest("unknown language")
    next_url = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    with translation.override(translation.get_language_from_path(next_url) or settings.LANGUAGE_CODE):
        target = translate_url(next_url, language)
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    return response
