from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "helpa.automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (rules run on ticket events, in their transaction)
