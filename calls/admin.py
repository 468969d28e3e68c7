from django.contrib import admin

from audit.admin_mixins import AuditedModelAdmin
from calls.models import Amendment, Call, Programme, RubricCriterion, Target


@admin.register(Programme)
class ProgrammeAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ["name", "year", "matching_ratio", "min_in_region_share", "aggregation", "pass_threshold"]
    list_filter = ["year", "aggregation"]
    search_fields = ["name"]


class TargetInline(admin.TabularInline):
    model = Target
    extra = 0


class CriterionInline(admin.TabularInline):
    model = RubricCriterion
    extra = 0


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    """Read-only here: calls change only through the workflow pages and services."""

    list_display = ["code", "title", "programme", "issuer", "status", "deadline"]
    list_filter = ["status", "programme", "field", "support_mode"]
    search_fields = ["code", "title", "keywords"]
    list_select_related = ["programme", "issuer"]
    inlines = [TargetInline, CriterionInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Amendment)
class AmendmentAdmin(admin.ModelAdmin):
    list_display = ["call", "kind", "created_at", "new_deadline"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
