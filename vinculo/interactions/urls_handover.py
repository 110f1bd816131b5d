from django.urls import path

from vinculo.interactions import views_handover as views

urlpatterns = [
    path("handover/", views.handover, name="handover"),
    path("handover/<int:audit_id>/", views.handover_summary, name="handover_summary"),
    path("handovers/", views.handover_list, name="handover_list"),
]
