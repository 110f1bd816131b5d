from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "vinculo.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        # Registers the extra warehouse sources the segmentation models read.
        from vinculo.analytics import model_sources  # noqa: F401
