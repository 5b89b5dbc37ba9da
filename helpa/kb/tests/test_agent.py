"""Agents write articles in the reply editor, with files; categories; insert into a reply."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from helpa.kb.models import Article, ArticleFile, Category
from helpa.tickets.models import HelpdeskSettings

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _post(client: Client, url: str, **fields):
    data = {
        "visibility": "public",
        "status": "published",
        "category": "",
        "title_sv": "",
        "body_sv": "",
        "title_en": "",
        "body_en": "",
        **fields,
    }
    return client.post(url, data)


def test_agent_writes_an_article_with_a_pasted_image_and_a_file(agent_client, alice):
    image = SimpleUploadedFile("pasted-1-0.png", PNG, content_type="image/png")
    manual = SimpleUploadedFile("manual.pdf", b"%PDF-1.4 manual", content_type="application/pdf")
    response = _post(
        agent_client,
        reverse("kb:new"),
        title_sv="Skrivaren",
        body_sv='<p>Så här:</p><p><img src="cid:pasted-1-0.png" alt="bild"></p>',
        title_en="The printer",
        body_en="<p>Like this.</p>",
        attachments=[image, manual],
    )
    assert response.status_code == 302
    article = Article.objects.get()
    assert article.created_by == alice and article.published_at is not None
    text = article.texts.get(language="sv")
    image_file = article.files.get(filename="pasted-1-0.png")
    assert reverse("kb:file", args=[article.pk, image_file.pk]) in text.body_html
    assert image_file.is_inline
    assert not article.files.get(filename="manual.pdf").is_inline
    # Readers get the image and the file; the image is not listed again as an attachment.
    page = Client().get(reverse("kb:article", args=[article.pk]) + "?lang=sv").content.decode()
    assert "manual.pdf" in page and "pasted-1-0.png" not in page
    assert Client().get(reverse("kb:file", args=[article.pk, image_file.pk])).status_code == 200


def test_plain_text_editor_mode(agent_client):
    HelpdeskSettings.objects.update_or_create(pk=1, defaults={"editor_mode": "plain"})
    _post(agent_client, reverse("kb:new"), title_sv="Rad", body_sv="Första\n\n<b>andra</b>")
    text = Article.objects.get().texts.get()
    assert text.body_html == "<p>Första</p><p>&lt;b&gt;andra&lt;/b&gt;</p>"
    # Editing shows the text, not the HTML.
    page = agent_client.get(reverse("kb:edit", args=[text.article_id])).content.decode()
    assert "Första" in page and "&lt;p&gt;" not in page


def test_an_oversize_file_is_refused_and_the_text_kept(agent_client):
    HelpdeskSettings.objects.update_or_create(pk=1, defaults={"max_attachment_mb": 1})
    big = SimpleUploadedFile("big.bin", b"x" * (1024 * 1024 + 1))
    response = _post(
        agent_client,
        reverse("kb:new"),
        title_sv="Min långa artikel",
        body_sv="<p>Mycket text som inte får försvinna.</p>",
        attachments=[big],
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "big.bin" in page and "Your text was kept" in page
    assert "Min långa artikel" in page and "Mycket text som inte får försvinna." in page
    assert not Article.objects.exists() and not ArticleFile.objects.exists()


def test_a_title_is_needed_in_some_language(agent_client):
    response = _post(agent_client, reverse("kb:new"), body_sv="<p>Text utan rubrik</p>")
    assert response.status_code == 400
    assert not Article.objects.exists()


def test_script_in_every_field_is_harmless(agent_client, carl_client):
    agent_client.post(
        reverse("kb:categories"), {"name_sv": SCRIPT, "name_en": SCRIPT, "position": 0}
    )
    category = Category.objects.get()
    evil_file = SimpleUploadedFile(SCRIPT + ".txt", b"x", content_type="text/html")
    _post(
        agent_client,
        reverse("kb:new"),
        category=str(category.pk),
        title_sv=SCRIPT,
        body_sv=SCRIPT + "<p>ok</p>",
        title_en=SCRIPT,
        body_en=SCRIPT,
        attachments=[evil_file],
    )
    article = Article.objects.get()
    for text in article.texts.all():
        assert "<script" not in text.body_html and "onerror" not in text.body_html
    record = article.files.get()
    pages = [
        carl_client.get(reverse("kb:home")),
        carl_client.get(reverse("kb:category", args=[category.pk])),
        carl_client.get(reverse("kb:article", args=[article.pk])),
        carl_client.get(reverse("kb:search"), {"q": SCRIPT + " alert"}),
        agent_client.get(reverse("kb:agent_list")),
        agent_client.get(reverse("kb:edit", args=[article.pk])),
        agent_client.get(reverse("kb:categories")),
    ]
    for response in pages:
        body = response.content.decode()
        assert response.status_code == 200
        assert "<script>alert" not in body and "<img src=x" not in body, response.request
    suggestion = Client().get(reverse("kb:suggest"), {"q": "alert"}).json()["results"][0]
    assert suggestion["title"] == SCRIPT  # JSON; the script inserts it as text
    download = Client().get(reverse("kb:file", args=[article.pk, record.pk]))
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_edit_removes_a_file_and_a_language(make_article, agent_client):
    article = make_article(
        ("Skrivare", "<p>Sv</p>"),
        ("Printer", "<p>En</p>"),
        files=[SimpleUploadedFile("old.txt", b"old", content_type="text/plain")],
    )
    record = article.files.get()
    response = _post(
        agent_client,
        reverse("kb:edit", args=[article.pk]),
        visibility="internal",
        status="draft",
        title_sv="Skrivare",
        body_sv="<p>Sv</p>",
        remove_files=[str(record.pk)],
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.visibility == "internal" and article.status == "draft"
    assert list(article.texts.values_list("language", flat=True)) == ["sv"]
    assert not article.files.exists()


def test_delete_article_and_category(make_article, agent_client):
    category = Category.objects.create(name_sv="Skrivare")
    article = make_article(("Skrivare", "<p>Text</p>"), category=category)
    agent_client.post(reverse("kb:category_delete", args=[category.pk]))
    article.refresh_from_db()
    assert article.category is None
    agent_client.post(reverse("kb:delete", args=[article.pk]))
    assert not Article.objects.exists()


def test_agent_list_filters_and_searches_in_bounded_queries(
    make_article, agent_client, django_assert_max_num_queries
):
    category = Category.objects.create(name_sv="Skrivare", name_en="Printers")
    for n in range(40):
        make_article(
            (f"Skrivare {n}", "<p>Om skrivarna.</p>"),
            (f"Printer {n}", "<p>About printers.</p>"),
            category=category,
            visibility="internal" if n % 2 else "public",
        )
    agent_client.get(reverse("kb:agent_list"))
    for query in [
        "",
        "?q=skrivaren",
        f"?category={category.pk}&visibility=internal&status=published",
    ]:
        with django_assert_max_num_queries(10):
            response = agent_client.get(reverse("kb:agent_list") + query)
        assert response.status_code == 200
    page = agent_client.get(reverse("kb:agent_list") + "?visibility=internal").content.decode()
    assert page.count("<tr>") == 1 + 20


def test_category_pages(make_article, agent_client):
    response = agent_client.post(reverse("kb:categories"), {"name_sv": "", "name_en": ""})
    assert response.status_code == 400
    agent_client.post(
        reverse("kb:categories"), {"name_sv": "Konto", "name_en": "Account", "position": 2}
    )
    category = Category.objects.get()
    agent_client.post(
        reverse("kb:category_edit", args=[category.pk]),
        {"name_sv": "Konton", "name_en": "Accounts", "position": 1},
    )
    category.refresh_from_db()
    assert category.name_sv == "Konton"
    make_article(("Lösenord", "<p>x</p>"), category=category)
    page = Client(headers={"accept-language": "sv"}).get(reverse("kb:home")).content.decode()
    assert "Konton" in page


# --- Insert into a reply ------------------------------------------------------------------------


def test_composer_offers_the_picker(agent_client, ticket):
    page = agent_client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
    assert 'data-testid="kb-picker"' in page and "kb/picker.js" in page


def test_pick_finds_published_articles_for_agents(
    printer_article, internal_article, draft_article, agent_client
):
    data = agent_client.get(reverse("kb:pick"), {"q": "skrivare"}).json()
    found = {r["id"]: r["public"] for r in data["results"]}
    assert found == {printer_article.pk: True, internal_article.pk: False}


def test_pick_article_gives_link_and_text(printer_article, agent_client, settings):
    settings.BASE_URL = "https://help.example.com"
    data = agent_client.get(
        reverse("kb:pick_article", args=[printer_article.pk]), {"lang": "en"}
    ).json()
    assert data["title"] == "The printers on floor 3"
    assert data["url"] == f"https://help.example.com/kb/a/{printer_article.pk}/?lang=en"
    assert data["html"] == "<p>When a printer jams: open the front door.</p>"
    assert data["text"] == "When a printer jams: open the front door."
