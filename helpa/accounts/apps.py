from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "helpa.accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        def remember_language(
            sender: object, request: object, user: object, **kwargs: object
        ) -> None:
            # The user's chosen language follows them to every device they log in on.
            request.session["helpa_language"] = getattr(user, "language", "")  # type: ignore[attr-defined]

        # weak=False: the receiver is a local function, which a weak reference would lose as
        # soon as ready() returns (the language then never followed the user to a new login).
        user_logged_in.connect(
            remember_language, weak=False, dispatch_uid="helpa-remember-language"
        )
