import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from calls.choices import TechField
from experts.choices import ExpertType
from experts.models import Expert


class ExpertFilter(django_filters.FilterSet):
    """Filters of the pool list; every value lives in the query string."""

    q = django_filters.CharFilter(label=_("Name or login name"), method="search")
    field = django_filters.ChoiceFilter(
        label=_("technical field"), choices=TechField.choices, method="in_field", empty_label=_("All fields")
    )
    expert_type = django_filters.ChoiceFilter(
        label=_("expert type"), choices=ExpertType.choices, empty_label=_("All types")
    )
    active = django_filters.ChoiceFilter(
        label=_("active"),
        choices=[("yes", _("Active")), ("no", _("Inactive"))],
        method="by_active",
        empty_label=_("Active or not"),
    )
    employer = django_filters.CharFilter(label=_("Employer"), method="by_employer")

    class Meta:
        model = Expert
        fields = ["q", "field", "expert_type", "active", "employer"]

    def search(self, queryset, name, value):
        for word in value.split()[:5]:
            queryset = queryset.filter(Q(name__icontains=word) | Q(user__username__icontains=word))
        return queryset

    def in_field(self, queryset, name, value):
        # Text match on the JSON list, quotes included: portable (SQLite has no JSON containment)
        # and exact, as no field code is another's quoted substring.
        return queryset.filter(fields__icontains=f'"{value}"')

    def by_active(self, queryset, name, value):
        return queryset.filter(active=value == "yes")

    def by_employer(self, queryset, name, value):
        value = value.strip()
        # One filter() call: both conditions must hold for the same (current) employment.
        return queryset.filter(
            Q(employments__ended_on__isnull=True)
            & (Q(employments__organization__name__icontains=value) | Q(employments__organization__credit_code=value))
        )
