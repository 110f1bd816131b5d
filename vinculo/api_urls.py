"""The REST API mount point (Django Ninja). Routers live in each app's api.py.

Included from vinculo/urls.py at ``api/v1/``; ``app_name`` is Ninja's namespace ("api"),
which it reverses to build the OpenAPI document and the docs page."""

from vinculo.api import api

urlpatterns, _app_name, app_name = api.urls
