"""Calls over the REST API: the same services and rules as the web pages."""

import rules
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from calls import services
from calls.access import get_call_for_user, get_document_for_user
from calls.choices import AmendmentKind, CallStatus
from calls.filters import CallFilter
from calls.models import Amendment, Call, CallDocument, Programme, RubricCriterion, Target
from calls.services import CONTENT_FIELDS, EDITABLE_FIELDS, close_overdue
from config.api import PDFRenderer
from config.files import serve_private_file


class ProgrammeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Programme
        exclude = []
        read_only_fields = [f.name for f in Programme._meta.fields]


class ProgrammeViewSet(viewsets.ReadOnlyModelViewSet):
    """Programmes (专项) and their rule settings. Edited by administrators in the admin site."""

    queryset = Programme.objects.order_by("-year", "name")
    serializer_class = ProgrammeSerializer
    permission_classes = [AllowAny]
    filterset_fields = ["year"]


class TargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Target
        fields = ["id", "name", "comparator", "value", "unit"]
        read_only_fields = ["id"]


class CriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RubricCriterion
        fields = ["id", "name", "max_points", "guidance"]
        read_only_fields = ["id"]


class AmendmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Amendment
        fields = ["id", "kind", "text", "old_deadline", "new_deadline", "created_at"]
        read_only_fields = fields


class CallSerializer(serializers.ModelSerializer):
    targets = TargetSerializer(many=True, help_text=_("Quantified targets (考核指标); at least one."))
    criteria = CriterionSerializer(many=True, required=False, help_text=_("Rubric (评分细则); points add up to 100."))
    amendments = AmendmentSerializer(many=True, read_only=True)
    issuer_name = serializers.CharField(source="issuer.name", read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Call
        fields = [
            "id",
            *CONTENT_FIELDS[:2],
            "programme",
            "issuer",
            "issuer_name",
            *CONTENT_FIELDS[2:],
            "rubric_bands",
            "status",
            "return_reason",
            "submitted_at",
            "published_at",
            "closed_at",
            "targets",
            "criteria",
            "amendments",
        ]
        read_only_fields = ["issuer", "return_reason", "submitted_at", "published_at", "closed_at"]

    def validate(self, attrs):
        if self.instance is not None and "programme" in attrs and attrs["programme"] != self.instance.programme:
            raise serializers.ValidationError({"programme": [_("The programme cannot be changed.")]})
        return attrs

    @staticmethod
    def _rows(items, fields):
        return [{name: item[name] for name in fields if name in item} for item in items]

    def create(self, validated):
        targets = self._rows(validated.pop("targets", []), ["name", "comparator", "value", "unit"])
        criteria = validated.pop("criteria", None)
        programme = validated.pop("programme")
        user = self.context["request"].user
        return services.create_call(
            actor=user,
            programme=programme,
            issuer=user.organization,
            fields=validated,
            targets=targets,
            criteria=self._rows(criteria, ["name", "max_points", "guidance"]) if criteria else None,
        )

    def update(self, instance, validated):
        targets = validated.pop("targets", None)
        criteria = validated.pop("criteria", None)
        validated.pop("programme", None)
        return services.update_call(
            actor=self.context["request"].user,
            call=instance,
            fields={k: v for k, v in validated.items() if k in EDITABLE_FIELDS},
            targets=self._rows(targets, ["name", "comparator", "value", "unit"]) if targets is not None else None,
            criteria=self._rows(criteria, ["name", "max_points", "guidance"]) if criteria is not None else None,
        )


class ApiCallFilter(CallFilter):
    status = filters.ChoiceFilter(choices=CallStatus.choices)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, help_text=_("Required to return or fail a call."))


class AmendSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AmendmentKind.choices)
    text = serializers.CharField()
    new_deadline = serializers.DateTimeField(required=False, allow_null=True)


class CallDocumentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField(help_text=_("Where the PDF is downloaded."))

    class Meta:
        model = CallDocument
        fields = ["id", "title", "size", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, document) -> str:
        url = reverse("call-document-download", args=[document.call.code, document.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class DocumentUploadSerializer(serializers.Serializer):
    title = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text=_("Title of the document (default: the file name).")
    )
    file = serializers.FileField(help_text=_("The PDF file (its content is checked, not its name); at most 20 MB."))


DOCUMENT_ID = OpenApiParameter("document_id", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("Document id"))


def _transition(name, attribute=None):

    @extend_schema(request=ReasonSerializer, responses=CallSerializer, summary=f"Call transition: {name}")
    def view(self, request, code=None):
        call = self.get_object()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        call = services.perform(
            actor=request.user, call=call, action=name, reason=payload.validated_data.get("reason", "")
        )
        return Response(CallSerializer(self.get_queryset().get(pk=call.pk), context={"request": request}).data)

    view.__name__ = attribute or name
    return action(detail=True, methods=["post"], url_path=name.replace("_", "-"))(view)


class CallViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Calls (榜单). Anyone reads published calls; issuers draft and submit their own;
    administrators approve, return, amend and move calls through review. PDF documents are
    attached and removed by whoever may edit the call, and read by whoever may see it."""

    serializer_class = CallSerializer
    filterset_class = ApiCallFilter
    lookup_field = "code"
    lookup_value_regex = "[A-Z0-9-]+"

    def get_permissions(self):
        if self.action in ("list", "retrieve", "documents", "download_document"):
            return [AllowAny()]
        return super().get_permissions()

    def get_queryset(self):
        return (
            Call.objects.visible_to(self.request.user)
            .select_related("issuer")
            .prefetch_related("targets", "criteria", "amendments")
            .order_by("deadline", "code")
        )

    def list(self, request, *args, **kwargs):
        close_overdue()
        return super().list(request, *args, **kwargs)

    def get_object(self):
        call = get_object_or_404(self.get_queryset(), code=self.kwargs["code"])
        return services.close_if_due(call)

    def perform_create(self, serializer):
        if not rules.has_perm("calls.add_call", self.request.user):
            raise PermissionDenied
        serializer.save()

    def perform_update(self, serializer):
        if not rules.has_perm("calls.change_call", self.request.user, serializer.instance):
            raise PermissionDenied
        serializer.save()

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        call = self.get_queryset().get(code=response.data["code"])
        return Response(self.get_serializer(call).data, status=status.HTTP_201_CREATED)

    submit = _transition("submit")
    approve = _transition("approve")
    return_ = _transition("return", "return_")
    withdraw = _transition("withdraw")
    start_review = _transition("start_review")
    start_notice = _transition("start_notice")
    award = _transition("award")
    fail = _transition("fail")

    @extend_schema(request=AmendSerializer, responses=AmendmentSerializer, summary="Publish a supplementary notice")
    @action(detail=True, methods=["post"])
    def amend(self, request, code=None):
        call = self.get_object()
        payload = AmendSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        amendment = services.amend_call(actor=request.user, call=call, **payload.validated_data)
        return Response(AmendmentSerializer(amendment).data, status=status.HTTP_201_CREATED)

    # --- documents (the edit page's attachments; calls/views/documents.py) -----------------------------
    @extend_schema(responses=CallDocumentSerializer(many=True), summary="The call's documents (PDF)")
    @action(
        detail=True,
        methods=["get"],
        pagination_class=None,
        filter_backends=[],
        parser_classes=[MultiPartParser, FormParser],
    )
    def documents(self, request, code=None):
        """Whoever may see the call reads its documents."""
        rows = get_call_for_user(request.user, code).documents.all()  # each document knows its call
        return Response(CallDocumentSerializer(rows, many=True, context={"request": request}).data)

    @extend_schema(
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: CallDocumentSerializer},
        summary="Attach a PDF document to a call being drafted",
    )
    @documents.mapping.post
    def add_document(self, request, code=None):
        """Whoever may edit the call: its issuer while it is a draft, administrators until publication."""
        call = get_call_for_user(request.user, code, write=True)
        payload = DocumentUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        document = services.add_document(
            actor=request.user, call=call, title=data.get("title", ""), upload=data["file"]
        )
        data = CallDocumentSerializer(document, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[DOCUMENT_ID], request=None, responses={204: None}, summary="Remove a call document")
    @action(detail=True, methods=["delete"], url_path=r"documents/(?P<document_id>\d+)", url_name="document")
    def remove_document(self, request, code=None, document_id=None):
        document = get_document_for_user(request.user, code, int(document_id), write=True)
        services.remove_document(actor=request.user, document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[DOCUMENT_ID],
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description=_("The PDF file."))},
        summary="Download a call document",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"documents/(?P<document_id>\d+)/download",
        url_name="document-download",
        renderer_classes=[JSONRenderer, PDFRenderer],
        pagination_class=None,
        filter_backends=[],
    )
    def download_document(self, request, code=None, document_id=None):
        """The same check as the call page's download: whoever may see the call."""
        document = get_document_for_user(request.user, code, int(document_id))
        return serve_private_file(document.file, filename=document.download_name, content_type="application/pdf")
