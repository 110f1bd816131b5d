"""The project's URLs plus the staff pages, so these tests do not wait for the integrator
to mount vinculo.accounts.urls_staff at /staff/."""

from django.urls import include, path

from vinculo.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *[p for p in project_urlpatterns if str(getattr(p, "pattern", "")) != "staff/"],
    path("staff/", include("vinculo.accounts.urls_staff")),
]
