from django.contrib import admin

from audit.admin_mixins import AuditedModelAdmin
from proposals.models import Person


@admin.register(Person)
class PersonAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """Administrators record misconduct (失信) for people; proposals change only through their pages."""

    list_display = ["name", "masked_id", "blacklisted"]
    list_filter = ["blacklisted"]
    search_fields = ["name", "id_number"]
