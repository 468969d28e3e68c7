from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import Organization


class LoginThrottle(SimpleRateThrottle):
    """Token requests per client address (API_LOGIN_RATE), on top of the django-axes lockout."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(help_text=_("User name"))
    password = serializers.CharField(help_text=_("Password"), style={"input_type": "password"})


@extend_schema(
    request=TokenRequestSerializer,
    responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
    summary="获取 API 令牌 / Obtain an API token",
)
@api_view(["POST"])
@permission_classes([AllowAny])
@throttle_classes([LoginThrottle])
def obtain_token(request):
    """Exchange a user name and password for a token. Failed attempts count towards the
    same lockout as the login page (django-axes) and are rate-limited per client."""
    serializer = TokenRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = authenticate(request=request._request, **serializer.validated_data)
    if user is None or not user.is_active:
        return Response(
            {"non_field_errors": [str(_("The user name or password is wrong."))]}, status=status.HTTP_400_BAD_REQUEST
        )
    token, _created = Token.objects.get_or_create(user=user)
    return Response({"token": token.key})


class OrganizationSerializer(serializers.ModelSerializer):
    in_region = serializers.BooleanField(read_only=True, help_text=_("Registered in Inner Mongolia (区内)"))
    # Blank for units in the region: the schema must allow "" (read-only fields lose allow_blank).
    province = serializers.ChoiceField(
        choices=Organization._meta.get_field("province").choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Organization
        fields = ["id", "name", "credit_code", "org_type", "region", "province", "in_region", "credit_status"]
        read_only_fields = fields


class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):
    """Organisations: staff see all; everybody else sees their own organisation.
    Look one up by credit code with ?credit_code=... (e.g. to add a member unit)."""

    serializer_class = OrganizationSerializer
    queryset = Organization.objects.none()
    filterset_fields = ["credit_code", "region", "org_type"]

    def get_queryset(self):
        user = self.request.user
        queryset = Organization.objects.order_by("name")
        if getattr(self, "swagger_fake_view", False):
            return queryset
        if user.is_administrator or user.is_supervisor:
            return queryset
        if self.action == "list" and self.request.query_params.get("credit_code"):
            return queryset  # exact lookup by code only; no browsing the directory
        return queryset.filter(pk=user.organization_id)
