"""The public website lead form, mounted at /forms/ (no login; the key in the URL authorises)."""

from django.urls import path

from vinculo.sales import views_leads as views

urlpatterns = [
    path("lead/<str:key>/", views.public_lead_form, name="public_lead_form"),
]
