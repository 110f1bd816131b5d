"""Quote, order and back-office pages, mounted at /sales/ (quotes/, orders/, backoffice/)."""

from django.urls import path

from vinculo.sales import views_backoffice, views_orders, views_quote_changes, views_quotes

urlpatterns = [
    path("quotes/", views_quotes.quote_list, name="quote_list"),
    path("quotes/new/", views_quotes.quote_create, name="quote_create"),
    path("quotes/price/", views_quotes.price_preview, name="quote_price"),
    path("quotes/<int:pk>/", views_quotes.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/pdf/", views_quotes.quote_pdf, name="quote_pdf"),
    path("quotes/<int:pk>/send/", views_quotes.quote_send, name="quote_send"),
    path("quotes/<int:pk>/accept/", views_quotes.quote_accept, name="quote_accept"),
    path("quotes/<int:pk>/edit/", views_quote_changes.quote_edit, name="quote_edit"),
    path("quotes/<int:pk>/reject/", views_quote_changes.quote_reject, name="quote_reject"),
    path("quotes/<int:pk>/revise/", views_quote_changes.quote_revise, name="quote_revise"),
    path("orders/", views_orders.order_list, name="order_list"),
    path("orders/new/", views_orders.order_create, name="order_create"),
    path("orders/price/", views_quotes.price_preview, name="order_price"),
    path("orders/<int:pk>/", views_orders.order_detail, name="order_detail"),
    path("orders/<int:pk>/status/<slug:status>/", views_orders.order_status, name="order_status"),
    path("backoffice/", views_backoffice.backoffice_page, name="backoffice"),
    path("backoffice/export/", views_backoffice.backoffice_export, name="backoffice_export"),
    path("backoffice/preview/", views_backoffice.backoffice_preview, name="backoffice_preview"),
    path("backoffice/apply/", views_backoffice.backoffice_apply, name="backoffice_apply"),
]
