"""Staff management pages; mounted at /staff/ by vinculo/urls.py (the handover pages,
in interactions, share the prefix)."""

from django.urls import path

from vinculo.accounts import views_staff as views

urlpatterns = [
    path("users/", views.staff_users, name="staff_users"),
    path("users/new/", views.staff_user_create, name="staff_user_create"),
    path("users/<int:pk>/", views.staff_user_edit, name="staff_user_edit"),
    path("teams/", views.staff_teams, name="staff_teams"),
    path("teams/new/", views.staff_team_create, name="staff_team_create"),
    path("teams/<int:pk>/", views.staff_team_edit, name="staff_team_edit"),
    path("roles/", views.staff_roles, name="staff_roles"),
]
