from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmsConfig(AppConfig):
    name = "helpa.sms"
    label = "sms"
    verbose_name = _("SMS")

    def ready(self) -> None:
        from . import privacy, subscribers  # noqa: F401 — registers the event subscribers
