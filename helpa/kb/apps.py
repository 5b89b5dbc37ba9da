from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KbConfig(AppConfig):
    name = "helpa.kb"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        from helpa.lib import events

        from . import (
            deflection,  # noqa: F401  (a new ticket ends its contact's suggestion visits)
            demo,
        )

        events.subscribe("demo_data.loaded", when="inside")(demo.load)
