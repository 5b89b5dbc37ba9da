from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebformsConfig(AppConfig):
    name = "helpa.webforms"
    verbose_name = _("Contact forms")

    def ready(self) -> None:
        from helpa.lib import events

        from . import demo

        events.subscribe("demo_data.loaded", when="inside")(demo.load)
