from django.urls import path

from vinculo.analytics import views

urlpatterns = [
    path("", views.executive, name="analytics_executive"),
    path("sales/", views.sales, name="analytics_sales"),
    path("service/", views.service, name="analytics_service"),
    path("marketing/", views.marketing, name="analytics_marketing"),
    path("customer-value/", views.customer_value, name="analytics_customer_value"),
    path("refresh/", views.refresh, name="analytics_refresh"),
]
