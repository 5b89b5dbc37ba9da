"""Knowledge-base articles through the API: listed, filtered and searched as on the agents'
article list (the KB's own search), read with their texts, written through the article form and
kb's save_article — and what a read-only token, a customer or nobody gets."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from helpa.accounts.models import User
from helpa.api.models import Scope
from helpa.kb import actions
from helpa.kb.models import Article, ArticleText, Category

ARTICLES = "/api/v1/kb/articles/"


def make(
    user: User,
    sv: tuple[str, str] | None = None,
    en: tuple[str, str] | None = None,
    *,
    visibility: str = Article.Visibility.PUBLIC,
    status: str = Article.Status.PUBLISHED,
    category: Category | None = None,
) -> Article:
    texts = {lang: text for lang, text in (("sv", sv), ("en", en)) if text}
    return actions.save_article(
        user, None, category=category, visibility=visibility, status=status, texts=texts
    )


@pytest.fixture
def hardware(db: None) -> Category:
    return Category.objects.create(name_sv="Hårdvara", name_en="Hardware")


@pytest.fixture
def articles(alice: User, hardware: Category) -> dict[str, Article]:
    return {
        "printer": make(
            alice,
            ("Skrivarna på plan 3", "<p>Om en skrivare har papperstrassel: öppna luckan.</p>"),
            ("The printers on floor 3", "<p>When a printer jams: open the front door.</p>"),
            category=hardware,
        ),
        "internal": make(
            alice,
            ("Intern rutin för skrivare", "<p>Servicenummer 0701234567.</p>"),
            visibility=Article.Visibility.INTERNAL,
        ),
        "draft": make(alice, None, ("VPN draft", "<p>Not done.</p>"), status=Article.Status.DRAFT),
    }


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_agents_see_internal_articles_and_drafts(alice_api, articles):
    listed = ids(alice_api.get(ARTICLES))
    assert sorted(listed) == sorted(a.pk for a in articles.values())
    row = next(r for r in alice_api.get(ARTICLES).json()["results"] if r["id"] == listed[0])
    assert set(row) >= {"texts", "visibility", "status", "category", "is_for_customers"}
    internal = alice_api.get(f"{ARTICLES}{articles['internal'].pk}/").json()
    assert internal["visibility"] == "internal" and internal["is_for_customers"] is False
    assert internal["texts"] == [
        {
            "language": "sv",
            "title": "Intern rutin för skrivare",
            "body_html": "<p>Servicenummer 0701234567.</p>",
            "body_text": "Servicenummer 0701234567.",
        }
    ]


def test_filters_as_on_the_article_list(alice_api, articles, hardware):
    a = articles
    assert ids(alice_api.get(f"{ARTICLES}?category={hardware.pk}")) == [a["printer"].pk]
    assert set(ids(alice_api.get(f"{ARTICLES}?category=none"))) == {
        a["internal"].pk,
        a["draft"].pk,
    }
    assert ids(alice_api.get(f"{ARTICLES}?status=draft")) == [a["draft"].pk]
    assert ids(alice_api.get(f"{ARTICLES}?visibility=internal")) == [a["internal"].pk]
    assert set(ids(alice_api.get(f"{ARTICLES}?language=en"))) == {a["printer"].pk, a["draft"].pk}
    for bad in ("category=x", "status=open", "language=de", "sort=title", "q=" + "x" * 201):
        response = alice_api.get(f"{ARTICLES}?{bad}")
        assert response.status_code == 400, bad
        assert list(response.json()["errors"]) == [bad.split("=")[0]]


def test_search_uses_the_kbs_stemmed_search_best_first(alice, alice_api, articles):
    # "skrivaren" (the printer) finds "skrivare" and "skrivarna" through the Swedish stems.
    found = ids(alice_api.get(f"{ARTICLES}?q=skrivaren"))
    assert set(found) == {articles["printer"].pk, articles["internal"].pk}
    assert ids(alice_api.get(f"{ARTICLES}?q=papperstrassel")) == [articles["printer"].pk]
    assert ids(alice_api.get(f"{ARTICLES}?q=skrivaren&visibility=public")) == [
        articles["printer"].pk
    ]
    assert ids(alice_api.get(f"{ARTICLES}?q=nothingmatches")) == []


def test_search_results_come_best_first(alice, alice_api):
    in_text = make(alice, None, ("Printers", "<p>Restart the router once.</p>"))
    in_title = make(alice, None, ("Router guide", "<p>All about it.</p>"))
    # Newest first without a search; a word in the title ranks first with one.
    assert ids(alice_api.get(ARTICLES)) == [in_title.pk, in_text.pk]
    actions.save_article(
        alice,
        in_text,
        category=None,
        visibility="public",
        status="published",
        texts={"en": ("Printers", "<p>Restart the router once.</p>")},
    )
    assert ids(alice_api.get(ARTICLES))[0] == in_text.pk  # now the newest
    assert ids(alice_api.get(f"{ARTICLES}?q=router")) == [in_title.pk, in_text.pk]


def test_search_results_page_in_the_searchs_order(alice, alice_api):
    made = [make(alice, None, (f"Router {i}", "<p>router</p>")) for i in range(5)]
    first = alice_api.get(f"{ARTICLES}?q=router&page_size=2").json()
    second = alice_api.get(first["next"]).json()
    third = alice_api.get(second["next"]).json()
    paged = [r["id"] for page in (first, second, third) for r in page["results"]]
    assert sorted(paged) == sorted(a.pk for a in made) and len(set(paged)) == 5
    assert third["next"] is None


def test_an_article_is_created_through_the_article_form(alice, alice_api, hardware):
    response = alice_api.post(
        ARTICLES,
        {
            "title_en": "Resetting a password",
            "body_en": "Go to the portal.\nClick *Forgot*.",
            "format": "text",
            "category": hardware.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    # The article form's defaults: public, a draft.
    assert (body["status"], body["visibility"], body["category"]) == (
        "draft",
        "public",
        hardware.pk,
    )
    assert body["texts"][0]["body_text"] == "Go to the portal.\nClick *Forgot*."
    assert response["Location"].endswith(f"{ARTICLES}{body['id']}/")
    article = Article.objects.get(pk=body["id"])
    assert article.created_by == alice and article.published_at is None
    # In the search index at once (save_article indexes it).
    assert ids(alice_api.get(f"{ARTICLES}?q=password")) == [article.pk]


def test_html_is_sanitised_as_on_the_page(alice_api):
    response = alice_api.post(
        ARTICLES,
        {"title_sv": "X", "body_sv": '<p onclick="x()">Hej<script>alert(1)</script></p>'},
        format="json",
    )
    assert response.status_code == 201
    html = ArticleText.objects.get(article_id=response.json()["id"]).body_html
    assert "script" not in html and "onclick" not in html and "Hej" in html


def test_the_article_forms_rules_come_back_per_field(alice_api):
    nothing = alice_api.post(ARTICLES, {"body_sv": "text"}, format="json")
    assert nothing.status_code == 400
    assert "title in Swedish or English" in nothing.json()["errors"]["non_field_errors"][0]
    untitled = alice_api.post(ARTICLES, {"title_en": "X", "body_sv": "text"}, format="json")
    assert untitled.status_code == 400 and list(untitled.json()["errors"]) == ["title_sv"]
    bad = alice_api.post(
        ARTICLES,
        {"title_sv": "X", "category": 999999, "visibility": "secret", "colour": "red"},
        format="json",
    )
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["colour"]
    bad = alice_api.post(ARTICLES, {"title_sv": "X", "visibility": "secret"}, format="json")
    assert list(bad.json()["errors"]) == ["visibility"]
    missing = alice_api.post(ARTICLES, {"title_sv": "X", "category": 999999}, format="json")
    assert list(missing.json()["errors"]) == ["category"]
    assert not Article.objects.exists()


def test_patching_keeps_what_it_does_not_send(alice_api, articles, admin):
    printer = articles["printer"]
    url = f"{ARTICLES}{printer.pk}/"
    response = alice_api.patch(url, {"title_en": "Printers, floor 3"}, format="json")
    assert response.status_code == 200, response.json()
    texts = {t["language"]: t for t in response.json()["texts"]}
    assert texts["en"]["title"] == "Printers, floor 3"
    assert texts["en"]["body_html"] == "<p>When a printer jams: open the front door.</p>"
    assert texts["sv"]["title"] == "Skrivarna på plan 3"
    assert response.json()["category"] == printer.category_id
    # An emptied title removes that language, as on the form.
    response = alice_api.patch(url, {"title_en": "", "body_en": ""}, format="json")
    assert [t["language"] for t in response.json()["texts"]] == ["sv"]
    assert ids(alice_api.get(f"{ARTICLES}?q=jams")) == []  # gone from the search too
    assert alice_api.patch(url, {"category": None}, format="json").json()["category"] is None


def test_publishing_a_draft_stamps_it(alice_api, articles):
    draft = articles["draft"]
    response = alice_api.patch(f"{ARTICLES}{draft.pk}/", {"status": "published"}, format="json")
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == "published" and draft.published_at is not None
    assert response.json()["is_for_customers"] is True


def test_a_read_only_token_reads_but_writes_nothing(alice, api_for, articles):
    client = api_for(alice, Scope.READ)
    assert client.get(f"{ARTICLES}{articles['draft'].pk}/").status_code == 200
    assert client.post(ARTICLES, {"title_sv": "X"}, format="json").status_code == 403
    patched = client.patch(f"{ARTICLES}{articles['draft'].pk}/", {"status": "published"})
    assert patched.status_code == 403
    assert Article.objects.count() == 3
    assert Article.objects.get(pk=articles["draft"].pk).status == "draft"


def test_customers_and_anonymous_callers_get_nothing(customer, articles):
    printer = f"{ARTICLES}{articles['printer'].pk}/"
    assert APIClient().get(ARTICLES).status_code == 401
    assert APIClient().get(printer).status_code == 401
    client = APIClient()
    client.force_login(customer)
    # Even a published public article: customers read the KB on the portal, not the API.
    assert client.get(printer).status_code == 403
    assert client.post(ARTICLES, {"title_sv": "X"}, format="json").status_code == 403
    assert client.get("/api/v1/kb/categories/").status_code == 403


def test_missing_articles_are_404(alice_api):
    assert alice_api.get(f"{ARTICLES}999999/").status_code == 404
    assert alice_api.patch(f"{ARTICLES}999999/", {"title_sv": "X"}).status_code == 404


def test_categories_are_listed(alice_api, hardware):
    rows = alice_api.get("/api/v1/kb/categories/").json()["results"]
    assert rows == [
        {"id": hardware.pk, "name_sv": "Hårdvara", "name_en": "Hardware", "position": 0}
    ]


@pytest.mark.parametrize("count", [2, 20])
def test_the_article_list_costs_a_fixed_number_of_queries(
    alice, alice_api, count, django_assert_max_num_queries
):
    for i in range(count):
        make(alice, (f"Artikel {i}", "<p>text</p>"), (f"Article {i}", "<p>text</p>"))
    alice_api.get("/api/v1/me/")
    with django_assert_max_num_queries(3):  # token+user, page, texts
        response = alice_api.get(ARTICLES + "?page_size=100")
    assert len(response.json()["results"]) == count
    with django_assert_max_num_queries(5):  # token+user, search, page, texts
        response = alice_api.get(ARTICLES + "?q=artikel&page_size=100")
    assert len(response.json()["results"]) == count
