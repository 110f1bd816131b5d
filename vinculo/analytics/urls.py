from django.urls import path


def _lazy(name: str):
    """The view ``name`` of analytics.views, imported on its first request: the views pull in
    the warehouse, pandas and plotly, seconds of imports no other page should wait for when
    the URLconf loads (decision 0013)."""

    def view(request, *args, **kwargs):
        from vinculo.analytics import views

        return getattr(views, name)(request, *args, **kwargs)

    view.__name__ = view.__qualname__ = name
    view.__module__ = "vinculo.analytics.views"
    return view


urlpatterns = [
    path("", _lazy("executive"), name="analytics_executive"),
    path("sales/", _lazy("sales"), name="analytics_sales"),
    path("service/", _lazy("service"), name="analytics_service"),
    path("marketing/", _lazy("marketing"), name="analytics_marketing"),
    path("customer-value/", _lazy("customer_value"), name="analytics_customer_value"),
    path("refresh/", _lazy("refresh"), name="analytics_refresh"),
]
