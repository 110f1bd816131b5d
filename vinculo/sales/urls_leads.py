"""Lead pages, mounted at /sales/leads/."""

from django.urls import path

from vinculo.sales import views_leads as views
from vinculo.sales import views_leads_import

urlpatterns = [
    path("", views.lead_list_view, name="lead_list"),
    path("queue/", views.lead_queue, name="lead_queue"),
    path("new/", views.lead_create, name="lead_create"),
    path("costs/", views.lead_costs, name="lead_costs"),
    path("import/", views_leads_import.lead_import, name="lead_import"),
    path("import/confirm/", views_leads_import.lead_import_confirm, name="lead_import_confirm"),
    path("import/cancel/", views_leads_import.lead_import_cancel, name="lead_import_cancel"),
    path("import/errors.csv", views_leads_import.lead_import_errors, name="lead_import_errors"),
    path("<int:pk>/", views.lead_detail, name="lead_detail"),
    path("<int:pk>/status/", views.lead_status, name="lead_status"),
    path("<int:pk>/convert/", views.lead_convert, name="lead_convert"),
    path("setup/", views.lead_setup, name="lead_setup"),
    path("setup/rescore/", views.lead_rescore, name="lead_rescore"),
    path("setup/<slug:kind>/new/", views.lead_setup_edit, name="lead_setup_create"),
    path("setup/<slug:kind>/<int:pk>/", views.lead_setup_edit, name="lead_setup_edit"),
    path("setup/<slug:kind>/<int:pk>/delete/", views.lead_setup_delete, name="lead_setup_delete"),
]
