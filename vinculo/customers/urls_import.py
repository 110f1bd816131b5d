from django.urls import path

from vinculo.customers import views_import as views

urlpatterns = [
    path("", views.customer_import, name="customer_import"),
    path("<int:pk>/map/", views.customer_import_map, name="customer_import_map"),
    path("<int:pk>/preview/", views.customer_import_preview, name="customer_import_preview"),
    path("<int:pk>/status/", views.customer_import_status, name="customer_import_status"),
    path("<int:pk>/cancel/", views.customer_import_cancel, name="customer_import_cancel"),
    path("<int:pk>/errors.csv", views.customer_import_errors, name="customer_import_errors"),
    path("export/", views.customer_export, name="customer_export"),
]
