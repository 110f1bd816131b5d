"""The sales REST API, mounted by ``vinculo.api``: one router per resource, split by
aggregate into ``api_leads``, ``api_opportunities``, ``api_catalog``, ``api_promotions``,
``api_quotes`` and ``api_orders`` (shared schemas in ``api_common``). Each endpoint
parses, checks capability and visibility, calls one service and returns a schema."""

from __future__ import annotations

from ninja import Router

from vinculo.sales.api_backoffice import router as backoffice_router
from vinculo.sales.api_catalog import categories_router, products_router
from vinculo.sales.api_leads import router as leads_router
from vinculo.sales.api_opportunities import pipelines_router
from vinculo.sales.api_opportunities import router as opportunities_router
from vinculo.sales.api_orders import orders_router, pricing_router
from vinculo.sales.api_promotions import price_lists_router, promotions_router
from vinculo.sales.api_quotes import quotes_router

# (prefix under /api/v1, router), in the order the API docs list them.
ROUTERS: list[tuple[str, Router]] = [
    ("/leads", leads_router),
    ("/opportunities", opportunities_router),
    ("/pipelines", pipelines_router),
    ("/products", products_router),
    ("/categories", categories_router),
    ("/price-lists", price_lists_router),
    ("/promotions", promotions_router),
    ("/pricing", pricing_router),
    ("/quotes", quotes_router),
    ("/orders", orders_router),
    ("/backoffice", backoffice_router),
]
