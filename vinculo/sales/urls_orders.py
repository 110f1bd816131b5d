"""Quote, order and back-office pages, mounted at /sales/ (quotes/, orders/, backoffice/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
