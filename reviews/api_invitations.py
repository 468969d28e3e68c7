"""Draw invitations over the REST API (评审邀请), with the pages' rules and audit entries.

An expert lists its own invitations (backups not yet invited are not shown: 404) and accepts or
declines them (reviews.views.expert.respond); administrators and supervisors read them all;
administrators record a no-show, which invites the next backup (reviews.views.draws.no_show).
Anybody else: 403. Routing a call's panel is POST /api/v1/draws/route/ (reviews.api).
"""

import rules
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from reviews import draw as draw_service
from reviews.access import get_expert_for_user, get_invitation_for_expert, invitations_of
from reviews.api import InvitationSerializer
from reviews.models import Invitation, InvitationStatus


def _staff_reader(user) -> bool:
    """Administrators and supervisors read every invitation (the draw pages)."""
    return rules.has_perm("reviews.view_draw", user)


class InvitationDetailSerializer(InvitationSerializer):
    call = serializers.CharField(source="draw.call.code", read_only=True, help_text=_("Call code"))
    call_title = serializers.CharField(source="draw.call.title", read_only=True)

    class Meta(InvitationSerializer.Meta):
        fields = ["id", "draw", "call", "call_title", *InvitationSerializer.Meta.fields[1:]]
        read_only_fields = fields


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text=_("Why you decline (required).")
    )


class NoShowSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text=_("Default: no answer or absent.")
    )


class NoShowResultSerializer(serializers.Serializer):
    invitation = InvitationDetailSerializer(read_only=True)
    backup = InvitationDetailSerializer(
        read_only=True, allow_null=True, help_text=_("The next backup, now invited; null if none is left.")
    )


class InvitationFilter(filters.FilterSet):
    call = filters.CharFilter(field_name="draw__call__code", help_text=_("Call code"))
    status = filters.ChoiceFilter(choices=InvitationStatus.choices)

    class Meta:
        model = Invitation
        fields = ["draw", "call", "expert", "status"]


class InvitationViewSet(viewsets.ReadOnlyModelViewSet):
    """Draw invitations (评审邀请). An expert lists its own and accepts or declines them (a reason
    is required to decline); administrators and supervisors list them all (backups still waiting
    included); administrators record a no-show, which invites the next backup. Anybody else: 403."""

    serializer_class = InvitationDetailSerializer
    filterset_class = InvitationFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invitation.objects.none()
        user = self.request.user
        if _staff_reader(user):
            return Invitation.objects.select_related("draw__call", "expert").order_by("-draw_id", "rank")
        return invitations_of(get_expert_for_user(user)).select_related("expert")  # 403 without a profile

    def get_object(self):
        """Staff see any invitation; an expert only its own (404 otherwise, and for waiting backups)."""
        pk = int(self.kwargs["pk"])
        if _staff_reader(self.request.user):
            return get_object_or_404(Invitation.objects.select_related("draw__call", "expert"), pk=pk)
        return get_invitation_for_expert(self.request.user, pk)

    def _own(self):
        invitation = self.get_object()
        if invitation.expert.user_id != self.request.user.pk:
            raise PermissionDenied  # staff see it; only the invited expert answers it
        return invitation

    def _data(self, invitation):
        if invitation is None:
            return None
        fresh = Invitation.objects.select_related("draw__call", "expert").get(pk=invitation.pk)
        return InvitationDetailSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(request=None, responses=InvitationDetailSerializer, summary="Accept the invitation to review")
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        invitation = draw_service.respond(actor=request.user, invitation=self._own(), accept=True)
        return Response(self._data(invitation))

    @extend_schema(
        request=DeclineSerializer, responses=InvitationDetailSerializer, summary="Decline the invitation, with a reason"
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        invitation = self._own()
        payload = DeclineSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        reason = payload.validated_data.get("reason", "")
        invitation = draw_service.respond(actor=request.user, invitation=invitation, accept=False, reason=reason)
        return Response(self._data(invitation))

    @extend_schema(
        request=NoShowSerializer,
        responses=NoShowResultSerializer,
        summary="Record a no-show: the invitation ends and the next backup is invited",
    )
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        invitation = self.get_object()
        if not rules.has_perm("reviews.manage_draw", request.user):
            raise PermissionDenied
        payload = NoShowSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        backup = draw_service.mark_no_show(
            actor=request.user, invitation=invitation, reason=payload.validated_data.get("reason", "")
        )
        return Response({"invitation": self._data(invitation), "backup": self._data(backup)})
