import django_filters
from django import forms
from django.db.models import Q
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.regions import Region
from calls.choices import PUBLIC_STATUSES, CallStatus, SupportMode, TechField
from calls.models import Call, Programme
from config.html import text

PUBLIC_STATUS_CHOICES = [(s.value, s.label) for s in CallStatus if s in PUBLIC_STATUSES]


class CallFilter(django_filters.FilterSet):
    """Filters of the public call list. Every value lives in the query string,
    so a filtered list can be bookmarked and shared."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    programme = django_filters.ModelChoiceFilter(
        label=_("Programme"), queryset=Programme.objects.all(), empty_label=_("All programmes")
    )
    field = django_filters.ChoiceFilter(
        label=_("technical field"), choices=TechField.choices, empty_label=_("All fields")
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=PUBLIC_STATUS_CHOICES, empty_label=_("All statuses")
    )
    region = django_filters.ChoiceFilter(
        label=_("Issuer's region"),
        field_name="issuer__region",
        choices=Region.choices,
        empty_label=_("All regions"),
    )
    support_mode = django_filters.ChoiceFilter(
        label=_("Support mode"), choices=SupportMode.choices, empty_label=_("Any support mode")
    )
    cap_min = django_filters.NumberFilter(
        label=_("Fiscal cap from (10k yuan)"), field_name="fiscal_cap", lookup_expr="gte", min_value=0
    )
    cap_max = django_filters.NumberFilter(
        label=_("Fiscal cap to (10k yuan)"), field_name="fiscal_cap", lookup_expr="lte", min_value=0
    )
    deadline_from = django_filters.DateFilter(
        label=_("Deadline from"),
        field_name="deadline",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    deadline_to = django_filters.DateFilter(
        label=_("Deadline to"),
        field_name="deadline",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    sort = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=[("deadline", "deadline"), ("fiscal_cap", "fiscal_cap"), ("published_at", "published_at")],
        field_labels={
            "deadline": _("Deadline (earliest first)"),
            "-deadline": _("Deadline (latest first)"),
            "fiscal_cap": _("Fiscal cap (smallest first)"),
            "-fiscal_cap": _("Fiscal cap (largest first)"),
            "published_at": _("Oldest first"),
            "-published_at": _("Newest first"),
        },
        empty_label=_("Default order"),
    )

    class Meta:
        model = Call
        fields = ["q", "programme", "field", "status", "region", "support_mode"]

    def get_form_class(self):
        # The form class depends only on the declared filters: build it once per FilterSet class
        # (django-filter builds a new class, and a new field per filter, on every request; the
        # form still deep-copies its fields per instance).
        cls = type(self)
        form_class = cls.__dict__.get("_cached_form_class")
        if form_class is None:
            form_class = cls._cached_form_class = super().get_form_class()
        return form_class

    def form_rows(self):
        """One dict of plain values per filter, for the template. Plain values because the
        template engine tries a BoundField as a mapping (and fails, raising) before each
        attribute it reads; ``options`` is None unless the filter is a select, else the HTML
        of its <option> elements, built here as some sixty options cost the engine about a
        millisecond a page (see _options_html)."""
        rows = []
        for bound in self.form:
            widget = bound.field.widget
            value = bound.value()
            rows.append(
                {
                    "name": bound.html_name,
                    "id": bound.id_for_label,
                    "label": bound.label,
                    "input_type": widget.input_type,
                    "value": value,
                    "errors": bound.errors,
                    "options": (
                        self._options_html(self._choices(bound.field), str(value))
                        if widget.input_type == "select"
                        else None
                    ),
                }
            )
        return rows

    @staticmethod
    def _options_html(choices, current):
        """<option> elements, the one whose value is ``current`` selected. Values and labels are
        escaped (config.html.text: what the template engine would print)."""
        options = "".join(
            f'<option value="{text(value)}"{" selected" if str(value) == current else ""}>{text(label)}</option>'
            for value, label in choices
        )
        return mark_safe(options)  # noqa: S308 (every value and label escaped above)

    @staticmethod
    def _choices(field):
        if not isinstance(field, forms.ModelChoiceField):
            return field.choices
        # One query for the three columns a label needs, instead of the iterator's COUNT and a
        # cursor over every column. Only for display: validation still uses the queryset.
        choices = [("", field.empty_label)] if field.empty_label is not None else []
        return choices + [(obj.pk, field.label_from_instance(obj)) for obj in field.queryset.only("pk", "name", "year")]

    def filter_queryset(self, queryset, exclude=()):
        """The filters of the validated form, except those named in ``exclude`` (facet counts)."""
        for name, value in self.form.cleaned_data.items():
            if name not in exclude:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def search(self, queryset, name, value):
        words = value.split()
        for word in words[:5]:
            queryset = queryset.filter(Q(code__icontains=word) | Q(title__icontains=word) | Q(keywords__icontains=word))
        return queryset
