"""The OpenAPI document lists the sales endpoints, with their error responses."""

from __future__ import annotations

SALES_PATHS = {
    "/api/v1/leads": {"get", "post"},
    "/api/v1/leads/{lead_id}": {"get", "patch"},
    "/api/v1/leads/{lead_id}/convert": {"post"},
    "/api/v1/opportunities": {"get", "post"},
    "/api/v1/opportunities/{opportunity_id}": {"get", "patch"},
    "/api/v1/opportunities/{opportunity_id}/win": {"post"},
    "/api/v1/opportunities/{opportunity_id}/lose": {"post"},
    "/api/v1/pipelines": {"get"},
    "/api/v1/products": {"get", "post"},
    "/api/v1/products/{product_id}": {"get", "patch"},
    "/api/v1/products/{product_id}/variants": {"post"},
    "/api/v1/products/{product_id}/options": {"post"},
    "/api/v1/products/{product_id}/bundle-items": {"put"},
    "/api/v1/categories": {"get", "post"},
    "/api/v1/categories/{category_id}": {"get"},
    "/api/v1/price-lists": {"get", "post"},
    "/api/v1/price-lists/{price_list_id}": {"get"},
    "/api/v1/promotions": {"get", "post"},
    "/api/v1/promotions/{promotion_id}": {"get"},
    "/api/v1/pricing/quote": {"post"},
    "/api/v1/quotes": {"get", "post"},
    "/api/v1/quotes/{quote_id}": {"get"},
    "/api/v1/quotes/{quote_id}/pdf": {"get"},
    "/api/v1/quotes/{quote_id}/send": {"post"},
    "/api/v1/quotes/{quote_id}/accept": {"post"},
    "/api/v1/orders": {"get", "post"},
    "/api/v1/orders/{order_id}": {"get"},
    "/api/v1/orders/{order_id}/status": {"post"},
}


def test_openapi_lists_the_sales_paths_and_methods(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    missing = {p for p in SALES_PATHS if p not in paths}
    assert not missing
    for path, methods in SALES_PATHS.items():
        assert methods <= set(paths[path]), path


def test_openapi_documents_the_pricing_answer_and_errors(client):
    doc = client.get("/api/v1/openapi.json").json()
    operation = doc["paths"]["/api/v1/pricing/quote"]["post"]
    assert {"200", "401", "403", "404", "422"} <= set(operation["responses"])
    pricing = doc["components"]["schemas"]["PricingOut"]["properties"]
    assert {"lines", "promotions", "subtotal", "discount_total", "tax_total", "total"} <= set(
        pricing
    )
    outcome = doc["components"]["schemas"]["PromotionOutcomeOut"]["properties"]
    assert {"applied", "reason", "amount"} <= set(outcome)
