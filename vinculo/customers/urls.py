from django.urls import path

from vinculo.customers import views, views_fields

urlpatterns = [
    path("", views.customer_list, name="customer_list"),
    path("new/", views.customer_create, name="customer_create"),
    path("fields/", views_fields.customfield_list, name="customfield_list"),
    path("fields/new/", views_fields.customfield_create, name="customfield_create"),
    path("fields/<int:pk>/edit/", views_fields.customfield_edit, name="customfield_edit"),
    path("<int:pk>/", views.customer_detail, name="customer_detail"),
    path("<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("<int:pk>/delete/", views.customer_delete, name="customer_delete"),
    path("<int:pk>/emails/", views.customer_add_email, name="customer_add_email"),
    path(
        "<int:pk>/emails/<int:item_id>/remove/",
        views.customer_remove_email,
        name="customer_remove_email",
    ),
    path("<int:pk>/phones/", views.customer_add_phone, name="customer_add_phone"),
    path(
        "<int:pk>/phones/<int:item_id>/remove/",
        views.customer_remove_phone,
        name="customer_remove_phone",
    ),
    path("<int:pk>/addresses/", views.customer_add_address, name="customer_add_address"),
    path(
        "<int:pk>/addresses/<int:item_id>/remove/",
        views.customer_remove_address,
        name="customer_remove_address",
    ),
]
