"""Export jobs over the REST API (导出任务): the same service and access rules as the export pages.

POST /api/v1/exports/ with {"kind": "award_list", "call": <id or code>} or
{"kind": "award_list", "programme": <id>, "year": <yyyy>} answers 202 with the pending job
(exports.services.request_export decides who may ask: administrators any export, an issuer
the award list of its own call once the notice has begun; 403 otherwise).
GET /api/v1/exports/<id>/ gives status, progress and, when done, download_url:
GET /api/v1/exports/<id>/download/, the file, with the download page's rule and any API
authentication (token or session). POST /api/v1/exports/<id>/retry/ queues a failed or
expired job again (the jobs page's retry button). A job is visible to whoever requested it and to
administrators (404 for anybody else, and for the file until it is done).
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from calls.models import Call
from exports import services
from exports.access import get_job_for_user
from exports.builders import SubjectMissing
from exports.models import ExportJob, ExportKind, ExportStatus
from exports.views import CONTENT_TYPE, serve_job_file
from reviews.api import state_field


class ExportJobSerializer(serializers.ModelSerializer):
    kind = state_field(ExportKind)
    status = state_field(ExportStatus)
    download_url = serializers.SerializerMethodField(help_text=_("The file's download address, once done."))

    class Meta:
        model = ExportJob
        fields = ["id", "kind", "params", "label", "requested_by", "status", "progress", "row_count", "filename"]
        fields += ["size", "sha256", "error", "created_at", "started_at", "finished_at", "expires_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, job) -> str | None:
        if not job.downloadable:
            return None
        url = reverse("export-download", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ExportRequestSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=20, help_text=" | ".join(ExportKind.values))
    call = serializers.CharField(required=False, max_length=40, help_text=_("Call id or code"))
    programme = serializers.IntegerField(required=False, min_value=1, help_text=_("Programme id (with year)"))
    year = serializers.IntegerField(required=False, min_value=1900, max_value=9999)

    def validate_kind(self, kind):
        if kind not in ExportKind.values:
            raise serializers.ValidationError(_("Unknown export kind."))
        return kind

    def validate_call(self, value):
        value = value.strip()
        if value.isdigit():
            code = Call.objects.filter(pk=int(value)).values_list("code", flat=True).first()
            if code is None:
                raise serializers.ValidationError(_("No call has this id."))
            return code
        return value


class FirstRendererNegotiation(BaseContentNegotiation):
    """The file answers whatever the client accepts; errors answer in JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=ExportKind.choices)
    status = filters.ChoiceFilter(choices=ExportStatus.choices)

    class Meta:
        model = ExportJob
        fields = ["kind", "status"]


class ExportViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Export jobs: request one (202), follow its progress, download it when done.
    Everybody lists its own jobs; administrators list all of them."""

    serializer_class = ExportJobSerializer
    filterset_class = ExportFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExportJob.objects.none()
        return ExportJob.objects.visible_to(self.request.user).order_by("-created_at", "-pk")

    def get_object(self):
        return get_job_for_user(self.request.user, int(self.kwargs["pk"]))

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportJobSerializer}, summary="Request an export")
    def create(self, request, *args, **kwargs):
        payload = ExportRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        kind = data.pop("kind")
        params = {key: str(value) for key, value in data.items()}
        try:
            job = services.request_export(actor=request.user, kind=kind, params=params)
        except SubjectMissing as exc:
            field = "call" if "call" in params else "programme"
            raise serializers.ValidationError({field: exc.messages}) from None
        job = ExportJob.objects.get(pk=job.pk)
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={202: ExportJobSerializer},
        summary="Run a failed or expired export again",
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """The same parameters, queued again (202): whoever may see the job (its requester and
        administrators; 404 for anybody else); 400 unless it failed or expired."""
        job = services.retry_export(actor=request.user, job=self.get_object())
        job = ExportJob.objects.get(pk=job.pk)
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={
            (200, CONTENT_TYPE): OpenApiTypes.BINARY,
            404: OpenApiResponse(
                response=inline_serializer("NotFound", {"detail": serializers.CharField()}),
                description=_("No such job visible to you, or its file is not ready."),
            ),
        },
        summary="Download the exported file",
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[JSONRenderer],
        content_negotiation_class=FirstRendererNegotiation,
    )
    def download(self, request, pk=None):
        """The file of a finished job: its requester and administrators (exports.views.download)."""
        return serve_job_file(self.get_object())
