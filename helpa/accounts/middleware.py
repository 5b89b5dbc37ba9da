from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation


class UserLanguageMiddleware:
    """Use the language a signed-in user chose; otherwise LocaleMiddleware follows the browser.

    Runs before LocaleMiddleware and puts the choice in the language cookie's place, so the
    standard negotiation picks it up.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings

        user_language = None
        session = getattr(request, "session", None)
        if session is not None:
            user_language = session.get("helpa_language")
        if user_language and translation.check_for_language(user_language):
            request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = user_language
        return self.get_response(request)
