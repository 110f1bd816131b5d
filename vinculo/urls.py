from django.contrib import admin
from django.urls import include, path

from vinculo.accounts import views as account_views
from vinculo.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    # Django's own setlang only sets a cookie, which a signed-in user's saved language would
    # override on the next request; this one also saves the choice on the user.
    path("i18n/setlang/", account_views.set_language),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("vinculo.accounts.urls")),
    path("staff/", include("vinculo.accounts.urls_staff")),
    path("staff/", include("vinculo.interactions.urls_handover")),
    path("customers/import/", include("vinculo.customers.urls_import")),
    path("customers/duplicates/", include("vinculo.customers.urls_duplicates")),
    path("customers/", include("vinculo.customers.urls")),
    path("search/", include("vinculo.customers.urls_search")),
    path("sales/leads/", include("vinculo.sales.urls_leads")),
    path("forms/", include("vinculo.sales.urls_webforms")),
    path("sales/catalog/", include("vinculo.sales.urls_catalog")),
    path("sales/", include("vinculo.sales.urls_pipeline")),
    path("sales/", include("vinculo.sales.urls_orders")),
    path("analytics/", include("vinculo.analytics.urls")),
    path("", include("vinculo.interactions.urls")),
    path("api/v1/", include("vinculo.api_urls")),
    path("admin/", admin.site.urls),
]
