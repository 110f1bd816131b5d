"""The NinjaAPI instance; each app adds its router in its api.py.

Auth: a bearer token (``Authorization: Bearer vin_...``) or the signed-in session (with
CSRF on unsafe methods). Errors: ``vinculo.core.api.install_error_handlers``."""

from ninja import NinjaAPI

from vinculo.accounts.api import api_auth
from vinculo.accounts.api import router as accounts_router
from vinculo.core.api import install_error_handlers
from vinculo.customers.api import router as customers_router
from vinculo.interactions.api import interactions_router, tasks_router
from vinculo.sales.api import ROUTERS as sales_routers

api = NinjaAPI(
    title="Vínculo API",
    version="1",
    description=(
        "REST API of the Vínculo CRM. Authenticate with `Authorization: Bearer <token>` "
        "(create tokens on your account's API tokens page or with `vinculo token create`). "
        "Lists are cursor-paginated: pass back `next_cursor` as `cursor` until it is null."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=api_auth(),
)
install_error_handlers(api)

api.add_router("/", accounts_router)
api.add_router("/customers", customers_router)
api.add_router("/interactions", interactions_router)
api.add_router("/tasks", tasks_router)
for prefix, router in sales_routers:
    api.add_router(prefix, router)
