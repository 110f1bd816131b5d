"""The NinjaAPI instance; each app adds its router in its api.py."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Vínculo API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
