from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, User
from audit.admin_mixins import AuditedModelAdmin


@admin.register(Organization)
class OrganizationAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ["name", "credit_code", "org_type", "region", "province", "credit_status"]
    list_filter = ["org_type", "region", "credit_status"]
    search_fields = ["name", "credit_code"]
    fieldsets = [
        (None, {"fields": ["name", "credit_code", "credit_code_override_reason", "org_type"]}),
        (_("Region"), {"fields": ["region", "province", "in_region_override", "in_region_override_reason"]}),
        (_("Credit"), {"fields": ["credit_status", "blacklist_reason", "blacklisted_on"]}),
    ]


@admin.register(User)
class UserAdmin(AuditedModelAdmin, BaseUserAdmin):
    list_display = [
        "username",
        "display_name",
        "organization",
        "is_administrator",
        "is_supervisor",
        "is_issuer",
        "is_applicant",
        "is_expert",
        "is_active",
    ]
    list_filter = [
        "is_administrator",
        "is_supervisor",
        "is_issuer",
        "is_applicant",
        "is_expert",
        "is_active",
    ]
    search_fields = ["username", "display_name", "email", "organization__name"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    fieldsets = BaseUserAdmin.fieldsets + (
        (
            _("Jiebang"),
            {
                "fields": [
                    "display_name",
                    "phone",
                    "organization",
                    "is_administrator",
                    "is_supervisor",
                    "is_issuer",
                    "is_applicant",
                    "is_expert",
                ]
            },
        ),
    )

    def has_delete_permission(self, request, obj=None):
        # People with history are deactivated, not deleted (the audit trail refers to them).
        return False
