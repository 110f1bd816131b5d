from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevdataConfig(AppConfig):
    """Deterministic demo and scale data (`vinculo seed`, `vinculo demo`). Sits at the top
    layer because it fills every app through their services and bulk paths."""

    name = "vinculo.devdata"
    label = "devdata"
    verbose_name = _("Demo data")
