from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "helpa.reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        # Each part of the reports registers what it subscribes to and what it offers for
        # subscriptions in its own module; importing them here wires them up once.
        from . import parts  # noqa: F401
