from django.contrib import admin

from exports.models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "label", "requested_by", "status", "progress", "row_count", "expires_at"]
    list_filter = ["kind", "status"]
    search_fields = ["label", "requested_by__username"]
    readonly_fields = [f.name for f in ExportJob._meta.fields]

    def has_add_permission(self, request):
        return False  # jobs are requested through the service, which checks and audits
