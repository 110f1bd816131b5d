from django.contrib import admin

from vinculo.interactions.models import Interaction, Task


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "channel", "direction", "subject", "customer", "user")
    list_filter = ("kind", "channel", "direction", "outcome")
    list_select_related = ("customer", "user")
    search_fields = ("subject",)
    raw_id_fields = ("customer", "user")
    readonly_fields = ("created_at", "updated_at", "version")
    show_full_result_count = False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "due_date", "priority", "assignee", "customer", "done_at")
    list_filter = ("priority", ("done_at", admin.EmptyFieldListFilter))
    list_select_related = ("assignee", "customer")
    search_fields = ("title",)
    raw_id_fields = ("customer", "interaction", "assignee", "created_by")
    readonly_fields = ("created_at", "updated_at", "version")
    show_full_result_count = False
