from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AuditedModelAdmin
from calls.choices import TechField
from experts.models import AvoidPerson, AvoidUnit, Employment, Expert


class _ReadOnlyInline(admin.TabularInline):
    """Employment history and avoid-lists change through experts.services (audited, with the
    employment dates the 3-year rule needs), i.e. through the pool import, never inline here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EmploymentInline(_ReadOnlyInline):
    model = Employment
    fields = readonly_fields = ["organization", "started_on", "ended_on"]


class AvoidUnitInline(_ReadOnlyInline):
    model = AvoidUnit
    fields = readonly_fields = ["credit_code", "name"]


class AvoidPersonInline(_ReadOnlyInline):
    model = AvoidPerson
    fields = readonly_fields = ["name", "id_number"]


@admin.register(Expert)
class ExpertAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """Simple corrections (title, contact, fields, active, cap) are audited; experts join the
    pool, change employer and avoid-lists through the spreadsheet import."""

    list_display = ["name", "user", "expert_type", "active", "yearly_cap", "no_show_count"]
    list_filter = ["expert_type", "active"]
    search_fields = ["name", "user__username", "id_number"]
    list_select_related = ["user"]
    fields = [
        "user",
        "name",
        "id_number",
        "title",
        "expert_type",
        "fields",
        "phone",
        "email",
        "active",
        "yearly_cap",
        "no_show_count",
        "updated_at",
    ]
    readonly_fields = ["user", "id_number", "no_show_count", "updated_at"]
    inlines = [EmploymentInline, AvoidUnitInline, AvoidPersonInline]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "fields":
            # Codes from the list, not free JSON.
            return forms.TypedMultipleChoiceField(
                label=_("technical fields"),
                choices=TechField.choices,
                widget=forms.CheckboxSelectMultiple,
                required=False,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Reviews refer to experts; an expert who leaves the pool is made inactive.
        return False
