from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "vinculo.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        from vinculo.core.fast import install_cached_choice_labels

        install_cached_choice_labels()
