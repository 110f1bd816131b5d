"""Pipeline, opportunity, forecast and report pages, mounted at /sales/."""

from django.urls import path

from vinculo.sales import views_pipeline as views

urlpatterns = [
    path("pipeline/", views.pipeline_board, name="pipeline_board"),
    path(
        "pipeline/stages/<int:stage_id>/cards/",
        views.pipeline_column_cards,
        name="pipeline_column_cards",
    ),
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", views.opportunity_create, name="opportunity_create"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/lines/", views.opportunity_lines, name="opportunity_lines"),
    path("opportunities/<int:pk>/move/", views.opportunity_move, name="opportunity_move"),
    path("forecast/", views.forecast_view, name="forecast"),
    path("reports/", views.sales_reports, name="sales_reports"),
]
