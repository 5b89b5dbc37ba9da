from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "helpa.api"
    verbose_name = _("REST API")

    def ready(self) -> None:
        # Subscribes the outgoing webhooks to ticket events and Contact's post_save.
        from . import webhooks  # noqa: F401
