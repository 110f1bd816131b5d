"""The REST API mount point (Django Ninja). Routers live in each app's api.py."""

from vinculo.api import api

urlpatterns = api.urls[0]
