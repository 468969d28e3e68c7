from django.contrib import admin

from audit.admin_mixins import AuditedModelAdmin
from reviews.models import Holiday


@admin.register(Holiday)
class HolidayAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """Public holidays and adjusted working days (调休), entered each year for notice periods."""

    list_display = ["date", "name", "working_day"]
    list_filter = ["working_day"]
    date_hierarchy = "date"
