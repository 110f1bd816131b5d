from vinculo.accounts.permissions import can


class _Capabilities:
    """Templates ask ``{% if can.customers_merge %}`` for capability "customers.merge"."""

    def __init__(self, user):
        self.user = user
        self._cache: dict[str, bool] = {}

    def __getitem__(self, key: str) -> bool:
        if key not in self._cache:
            self._cache[key] = can(self.user, key.replace("_", ".", 1))
        return self._cache[key]


def capabilities(request):
    return {"can": _Capabilities(getattr(request, "user", None))}
