from django.db import transaction

from audit.services import record, snapshot


class AuditedModelAdmin:
    """Mixin for ModelAdmin: admin edits are state changes too, so they are audited."""

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            before = None
            if change:
                before = snapshot(type(obj).objects.get(pk=obj.pk))
            super().save_model(request, obj, form, change)
            action = f"{obj._meta.model_name}.{'update' if change else 'create'}"
            record(actor=request.user, action=action, obj=obj, before=before, after=snapshot(obj))

    def delete_model(self, request, obj):
        with transaction.atomic():
            before = snapshot(obj)
            pk = obj.pk
            super().delete_model(request, obj)
            record(
                actor=request.user,
                action=f"{obj._meta.model_name}.delete",
                object_type=obj._meta.label_lower,
                object_id=pk,
                object_repr=str(obj),
                before=before,
            )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
