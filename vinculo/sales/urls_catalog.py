"""Catalog, price list, promotion and price check pages, mounted at /sales/catalog/."""

from django.urls import path

from vinculo.sales import views_catalog as views
from vinculo.sales import views_catalog_config as config
from vinculo.sales import views_catalog_prices as prices

urlpatterns = [
    path("", views.product_list, name="catalog_products"),
    path("products/new/", views.product_create, name="catalog_product_create"),
    path("products/<int:pk>/", views.product_view, name="catalog_product"),
    path("products/<int:pk>/edit/", views.product_edit, name="catalog_product_edit"),
    path("products/<int:pk>/active/", views.product_active, name="catalog_product_active"),
    path("products/<int:pk>/variants/", config.product_variants, name="catalog_product_variants"),
    path("products/<int:pk>/options/new/", config.product_option_add, name="catalog_option_add"),
    path("products/<int:pk>/bundle/", config.product_bundle, name="catalog_product_bundle"),
    path("categories/", views.category_list, name="catalog_categories"),
    path("categories/<int:pk>/edit/", views.category_edit, name="catalog_category_edit"),
    path("price-lists/", prices.price_list_list, name="catalog_price_lists"),
    path("price-lists/new/", prices.price_list_form, name="catalog_price_list_create"),
    path("price-lists/<int:pk>/", prices.price_list_view, name="catalog_price_list"),
    path("price-lists/<int:pk>/edit/", prices.price_list_form, name="catalog_price_list_edit"),
    path("price-lists/<int:pk>/items/new/", prices.price_item_form, name="catalog_price_item_add"),
    path(
        "price-lists/<int:pk>/items/<int:item_pk>/edit/",
        prices.price_item_form,
        name="catalog_price_item_edit",
    ),
    path(
        "price-lists/<int:pk>/items/<int:item_pk>/remove/",
        prices.price_item_remove,
        name="catalog_price_item_remove",
    ),
    path("promotions/", prices.promotion_list, name="catalog_promotions"),
    path("promotions/new/", prices.promotion_form, name="catalog_promotion_create"),
    path("promotions/<int:pk>/", prices.promotion_view, name="catalog_promotion"),
    path("promotions/<int:pk>/edit/", prices.promotion_form, name="catalog_promotion_edit"),
    path("promotions/<int:pk>/codes/", prices.promotion_codes, name="catalog_promotion_codes"),
    path(
        "promotions/<int:pk>/codes.csv",
        prices.promotion_codes_csv,
        name="catalog_promotion_codes_csv",
    ),
    path("price-check/", prices.price_check, name="catalog_price_check"),
]
