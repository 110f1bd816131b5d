from django.urls import path

from vinculo.customers import views_duplicates as views

urlpatterns = [
    path("", views.duplicate_list, name="duplicate_list"),
    path("dismiss/<int:a>/<int:b>/", views.duplicate_dismiss, name="duplicate_dismiss"),
    path("merge/<int:a>/<int:b>/", views.duplicate_merge, name="duplicate_merge"),
    path("unmerge/<int:audit_id>/", views.duplicate_unmerge, name="duplicate_unmerge"),
]
