from django.contrib import admin

from vinculo.customers.models import (
    Address,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomField,
    ImportJob,
    Tag,
)


class CustomerEmailInline(admin.TabularInline):
    model = CustomerEmail
    extra = 0


class CustomerPhoneInline(admin.TabularInline):
    model = CustomerPhone
    extra = 0


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    # Built for a million rows: no full count, FKs to big tables as raw ids, indexed filters.
    list_display = (
        "name",
        "kind",
        "stage",
        "email",
        "phone",
        "city",
        "owner",
        "team",
        "updated_at",
    )
    list_filter = ("kind", "stage", "team")
    list_select_related = ("owner", "team")
    search_fields = ("name", "email", "phone", "external_id", "company_name")
    raw_id_fields = ("owner", "organization", "merged_into")
    filter_horizontal = ("tags",)
    readonly_fields = ("created_at", "updated_at", "version", "last_contact_at", "scores")
    show_full_result_count = False
    inlines = [CustomerEmailInline, CustomerPhoneInline, AddressInline]


@admin.register(CustomerEmail)
class CustomerEmailAdmin(admin.ModelAdmin):
    list_display = ("email", "customer", "kind", "is_primary", "verified_at")
    search_fields = ("email",)
    raw_id_fields = ("customer",)
    show_full_result_count = False


@admin.register(CustomerPhone)
class CustomerPhoneAdmin(admin.ModelAdmin):
    list_display = ("number", "customer", "kind", "is_primary", "verified_at")
    search_fields = ("number",)
    raw_id_fields = ("customer",)
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    list_display = ("key", "label", "type", "group", "required", "position", "active")
    list_filter = ("type", "group", "active")
    search_fields = ("key", "label", "label_es")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "original_name",
        "status",
        "rows_total",
        "rows_done",
        "created_count",
        "updated_count",
        "skipped_count",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "format")
    list_select_related = ("created_by",)
    raw_id_fields = ("created_by",)
    readonly_fields = ("created_at", "updated_at")
