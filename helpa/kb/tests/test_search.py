"""Stemmed search in each text's language, on SQLite (FTS5 + Snowball) and PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from helpa.kb import actions, search
from helpa.kb.models import Article

pytestmark = pytest.mark.django_db


def _ids(text: str, **kwargs) -> list[int]:
    return search.search_article_ids(Article.objects.all(), text, **kwargs)


def test_swedish_forms_of_a_word_find_each_other(make_article):
    plural = make_article(("Skrivarna på plan 3", "<p>Alla skrivarna står i korridoren.</p>"))
    singular = make_article(("Beställ papper", "<p>En skrivare behöver papper.</p>"))
    other = make_article(("Lösenord", "<p>Byt lösenord varje år.</p>"))
    found = _ids("skrivaren")
    assert set(found) == {plural.pk, singular.pk}
    assert other.pk not in found
    # A word in the title counts more than one in the text.
    assert found[0] == plural.pk


def test_english_texts_are_stemmed_in_english(make_article):
    article = make_article(None, ("Printing in colour", "<p>Choose the colour printer.</p>"))
    assert _ids("printers") == [article.pk]
    assert _ids("colours") == [article.pk]


def test_every_word_must_match_unless_any_word(make_article):
    printer = make_article(("Skrivaren", "<p>Papperstrassel.</p>"))
    password = make_article(("Lösenordet", "<p>Byt det.</p>"))
    assert _ids("skrivare lösenord") == []
    assert set(_ids("skrivare lösenord", any_word=True)) == {printer.pk, password.pk}


def test_a_word_being_typed_matches_as_prefix(make_article):
    article = make_article(("Fakturan har fel moms", "<p>Kontakta ekonomi.</p>"))
    assert _ids("faktu") == [article.pk]


def test_punctuation_and_odd_input_are_harmless(make_article):
    make_article(("Skrivare", "<p>Text.</p>"))
    for text in ['"', "'", "*", "AND OR NOT", "a:b", "() & | !", "___", "-", "😀", "'skriv':*"]:
        _ids(text)  # no database error
        _ids(text, any_word=True)


def test_editing_reindexes_and_deleting_forgets(make_article, alice):
    article = make_article(("Skrivare", "<p>Gammal text.</p>"))
    actions.save_article(
        alice,
        article,
        category=None,
        visibility=article.visibility,
        status=article.status,
        texts={"sv": ("Projektor", "<p>Ny text om projektorn.</p>")},
    )
    assert _ids("skrivare") == []
    assert _ids("projektorer") == [article.pk]
    text_id = article.texts.get().pk
    actions.delete_article(alice, article)
    assert _ids("projektor") == []
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM kb_articletext_fts WHERE rowid = %s", [text_id])
            assert cursor.fetchone()[0] == 0


def test_removing_a_language_removes_its_entry(make_article, alice):
    article = make_article(("Skrivare", "<p>Text.</p>"), ("Printer", "<p>Text.</p>"))
    actions.save_article(
        alice,
        article,
        category=None,
        visibility=article.visibility,
        status=article.status,
        texts={"en": ("Printer", "<p>Text.</p>")},
    )
    assert _ids("skrivare") == []
    assert _ids("printer") == [article.pk]


def test_search_page_lists_matches_in_bounded_queries(
    make_article, carl_client, django_assert_max_num_queries
):
    for n in range(30):
        make_article((f"Skrivare {n}", "<p>Papperstrassel i skrivarna.</p>"))
    carl_client.get(reverse("kb:home"))  # the one-row settings exist after a first page
    with django_assert_max_num_queries(8):
        response = carl_client.get(reverse("kb:search") + "?q=skrivaren")
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="kb-articles"') == 1
    assert "Skrivare 29" in response.content.decode()
