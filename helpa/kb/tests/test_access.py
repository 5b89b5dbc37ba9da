"""Who reads what: internal articles and drafts never reach customers or anonymous visitors;
public ones reach anonymous visitors only while the admin allows it. Files follow their article."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from helpa.kb.models import Article, KbSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_with_file(make_article) -> Article:
    return make_article(
        ("Manual för skrivaren", "<p>Se bilagan.</p>"),
        files=[SimpleUploadedFile("manual.txt", b"manual text", content_type="text/plain")],
    )


def _readers(carl_client: Client) -> dict[str, Client]:
    return {"customer": carl_client, "anonymous": Client()}


def test_public_article_is_read_by_customers_and_anonymous(printer_article, carl_client):
    for who, client in _readers(carl_client).items():
        response = client.get(reverse("kb:article", args=[printer_article.pk]))
        assert response.status_code == 200, who
        assert "The printers on floor 3" in response.content.decode(), who


@pytest.mark.parametrize("fixture", ["internal_article", "draft_article"])
def test_internal_and_draft_articles_never_reach_customers(request, fixture, carl_client):
    article = request.getfixturevalue(fixture)
    title = article.texts.get().title
    for who, client in _readers(carl_client).items():
        assert client.get(reverse("kb:article", args=[article.pk])).status_code == 404, who
        record = article.files.get()
        file_url = reverse("kb:file", args=[article.pk, record.pk])
        assert client.get(file_url).status_code == 404, who
        for url in [
            reverse("kb:home"),
            reverse("kb:search") + "?q=skrivare",
            reverse("kb:suggest") + "?q=skrivare",
        ]:
            body = client.get(url).content.decode()
            assert title not in body, (who, url)


def test_agents_read_every_article_and_file(internal_article, draft_article, agent_client):
    for article in (internal_article, draft_article):
        response = agent_client.get(reverse("kb:article", args=[article.pk]))
        assert response.status_code == 200
        record = article.files.get()
        response = agent_client.get(reverse("kb:file", args=[article.pk, record.pk]))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) in (b"internal", b"draft")


def test_public_file_downloads_for_anonymous_while_allowed(public_with_file, carl_client):
    record = public_with_file.files.get()
    url = reverse("kb:file", args=[public_with_file.pk, record.pk])
    response = Client().get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"manual text"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # A file id of another article is not reachable through this one.
    assert (
        Client().get(reverse("kb:file", args=[public_with_file.pk + 1, record.pk])).status_code
        == 404
    )


def test_login_required_when_the_admin_turns_anonymous_reading_off(
    printer_article, public_with_file, carl_client
):
    KbSettings.objects.update_or_create(pk=1, defaults={"public_without_login": False})
    record = public_with_file.files.get()
    anonymous = Client()
    for url in [
        reverse("kb:home"),
        reverse("kb:search") + "?q=skrivare",
        reverse("kb:article", args=[printer_article.pk]),
        reverse("kb:file", args=[public_with_file.pk, record.pk]),
    ]:
        response = anonymous.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("portal:login")), url
    # Contact forms (anonymous) get no suggestions then.
    data = anonymous.get(reverse("kb:suggest") + "?q=skrivare").json()
    assert data["results"] == []
    # Signed-in customers still read public articles.
    assert carl_client.get(reverse("kb:article", args=[printer_article.pk])).status_code == 200
    assert (
        carl_client.get(reverse("kb:file", args=[public_with_file.pk, record.pk])).status_code
        == 200
    )


def test_reader_sees_their_language_and_falls_back(make_article, carl_client):
    both = make_article(("Lösenord", "<p>Byt lösenord.</p>"), ("Password", "<p>Change it.</p>"))
    english_only = make_article(None, ("VPN setup", "<p>Install the client.</p>"))
    swedish = Client(headers={"accept-language": "sv"})
    assert "Byt lösenord" in swedish.get(reverse("kb:article", args=[both.pk])).content.decode()
    english = Client(headers={"accept-language": "en"})
    assert "Change it" in english.get(reverse("kb:article", args=[both.pk])).content.decode()
    page = swedish.get(reverse("kb:article", args=[english_only.pk])).content.decode()
    assert "Install the client" in page
    # The other version is one click away.
    page = swedish.get(reverse("kb:article", args=[both.pk]) + "?lang=en").content.decode()
    assert "Change it" in page


def test_agent_pages_refuse_customers_and_anonymous(printer_article, carl_client):
    urls = [
        reverse("kb:agent_list"),
        reverse("kb:new"),
        reverse("kb:edit", args=[printer_article.pk]),
        reverse("kb:categories"),
        reverse("kb:pick") + "?q=skrivare",
        reverse("kb:pick_article", args=[printer_article.pk]),
    ]
    for url in urls:
        assert carl_client.get(url).status_code == 403, url
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    assert carl_client.post(reverse("kb:delete", args=[printer_article.pk])).status_code == 403
    assert Article.objects.filter(pk=printer_article.pk).exists()


def test_settings_page_is_for_admins(agent_client, ada_client):
    assert agent_client.get(reverse("kb:settings")).status_code == 403
    assert ada_client.get(reverse("kb:settings")).status_code == 200
    ada_client.post(reverse("kb:settings"), {})  # an unticked box: off
    assert KbSettings.current().public_without_login is False
    ada_client.post(reverse("kb:settings"), {"public_without_login": "on"})
    assert KbSettings.current().public_without_login is True


def test_nav_links(agent_client, carl_client):
    assert (
        reverse("kb:agent_list") in agent_client.get(reverse("tickets:overview")).content.decode()
    )
    assert reverse("kb:home") in carl_client.get(reverse("portal:tickets")).content.decode()
