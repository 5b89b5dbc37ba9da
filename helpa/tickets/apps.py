from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "helpa.tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from . import notifications  # noqa: F401  (subscribes to ticket events)
