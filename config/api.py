"""The REST API's shared pieces: error format, base permissions, routing.

Views live in each app's ``api.py`` and call the same services and access
rules as the web pages, so both write the same audit entries.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.routers import DefaultRouter
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """Service-level ValidationErrors answer 400 as {"field": ["message", ...]}."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {field: list(messages) for field, messages in exc.message_dict.items()}
            detail = {("non_field_errors" if k == "__all__" else k): v for k, v in detail.items()}
        else:
            detail = {"non_field_errors": exc.messages}
        exc = serializers.ValidationError(detail)
    return drf_exception_handler(exc, context)


class PDFRenderer(BaseRenderer):
    """Lets a download be asked for with Accept: application/pdf. The file itself is a
    FileResponse and never passes through here; an error (404) still answers in JSON."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return JSONRenderer().render(data)


def build_urls():
    from accounts.api import OrganizationViewSet, obtain_token
    from calls.api import CallViewSet, ProgrammeViewSet
    from experts.api import ConflictViewSet, ExpertViewSet
    from exports.api import ExportViewSet
    from proposals.api import ProposalViewSet
    from proposals.api_parts import part_urls as proposal_part_urls
    from reviews.api import AssignmentViewSet, DrawViewSet, RankingViewSet, ScoreViewSet
    from reviews.api_decisions import DecisionViewSet, NoticeViewSet, ObjectionViewSet
    from reviews.api_invitations import InvitationViewSet

    router = DefaultRouter()
    router.register("organizations", OrganizationViewSet, basename="organization")
    router.register("programmes", ProgrammeViewSet, basename="programme")
    router.register("calls", CallViewSet, basename="call")
    router.register("proposals", ProposalViewSet, basename="proposal")
    router.register("draws", DrawViewSet, basename="draw")
    router.register("invitations", InvitationViewSet, basename="invitation")
    router.register("experts", ExpertViewSet, basename="expert")
    router.register("conflicts", ConflictViewSet, basename="conflict")
    router.register("assignments", AssignmentViewSet, basename="assignment")
    router.register("scores", ScoreViewSet, basename="score")
    router.register("rankings", RankingViewSet, basename="ranking")
    router.register("decisions", DecisionViewSet, basename="decision")
    router.register("notices", NoticeViewSet, basename="notice")
    router.register("objections", ObjectionViewSet, basename="objection")
    router.register("exports", ExportViewSet, basename="export")
    return [
        path("api/v1/auth/token/", obtain_token, name="api-token"),
        path("api/v1/", include(router.urls)),
        path("api/v1/", include(proposal_part_urls())),
        path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
        path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    ]
