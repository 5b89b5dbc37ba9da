from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "helpa.crm"
    verbose_name = _("Contacts and companies")
