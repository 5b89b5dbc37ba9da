from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "helpa.mail"
    verbose_name = _("Mail")

    def ready(self) -> None:
        import helpa.mail.merge  # noqa: F401  (received mail and CC follow a merged ticket)
        from helpa.lib import events

        from . import demo, subscribers  # noqa: F401  (ticket events that cause outgoing mail)

        events.subscribe("demo_data.loaded", when="inside")(demo.load)
