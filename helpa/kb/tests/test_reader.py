"""Public help-center pages are findable by search engines; everything signed-in is not."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from helpa.kb.models import Article


def test_public_articles_are_indexable_and_the_rest_is_not(
    client: Client, carl_client: Client, printer_article: Article
) -> None:
    url = reverse("kb:article", args=[printer_article.pk])
    assert '<meta name="robots" content="index, follow">' in client.get(url).content.decode()
    search = client.get(reverse("kb:search") + "?q=skrivare").content.decode()
    assert '<meta name="robots" content="noindex, follow">' in search
    signed_in = carl_client.get(url).content.decode()
    assert '<meta name="robots" content="noindex, nofollow">' in signed_in
    portal = client.get(reverse("portal:login")).content.decode()
    assert '<meta name="robots" content="noindex, nofollow">' in portal
