from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from helpa.lib.proxy import TrustedProxyMiddleware, client_address

PROXY = frozenset({"10.0.0.2"})


def test_only_a_trusted_proxy_is_believed() -> None:
    assert client_address("203.0.113.9", "1.2.3.4", PROXY) == "203.0.113.9"
    assert client_address("10.0.0.2", "198.51.100.7", PROXY) == "198.51.100.7"
    # The client may write anything on the left; the proxy appends the real address.
    assert client_address("10.0.0.2", "1.2.3.4, 198.51.100.7", PROXY) == "198.51.100.7"
    assert client_address("10.0.0.2", "", PROXY) == "10.0.0.2"
    assert client_address("10.0.0.2", "10.0.0.2", PROXY) == "10.0.0.2"


def test_the_middleware_sets_the_visitor_address(rf: RequestFactory) -> None:
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request.META["REMOTE_ADDR"])
        return HttpResponse()

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.7")
    with override_settings(TRUSTED_PROXIES=["10.0.0.2"]):
        TrustedProxyMiddleware(view)(request)
    with override_settings(TRUSTED_PROXIES=[]):  # no proxy named: the header is ignored
        TrustedProxyMiddleware(view)(
            rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1")
        )
    assert seen == ["198.51.100.7", "10.0.0.2"]
