from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "vinculo.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        # Open opportunities and open leads move with a staff handover.
        from vinculo.sales import handover

        handover.register()
