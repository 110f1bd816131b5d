from django.urls import path

from vinculo.customers import views_search

urlpatterns = [
    path("customers/", views_search.customer_quick_search, name="customer_quick_search"),
]
