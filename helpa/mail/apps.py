from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "helpa.mail"
    verbose_name = _("Mail")

    def ready(self) -> None:
        from helpa.lib import events

        from . import demo, subscribers  # noqa: F401  (ticket events that cause outgoing mail)

        events.subscribe("demo_data.loaded", when="inside")(demo.load)
