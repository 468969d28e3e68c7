import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEntry


class AuditEntryFilter(django_filters.FilterSet):
    object_type = django_filters.CharFilter(label=_("object type"), lookup_expr="exact")
    object_id = django_filters.CharFilter(label=_("object id"), lookup_expr="exact")
    actor = django_filters.CharFilter(label=_("actor (user name)"), field_name="actor_repr", lookup_expr="iexact")
    action = django_filters.CharFilter(label=_("action"), lookup_expr="istartswith")
    date_from = django_filters.DateFilter(
        label=_("from"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        label=_("to"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEntry
        fields = ["object_type", "object_id", "actor", "action", "date_from", "date_to"]
