"""Suggestions while a customer types a title, and honest deflection counting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpa.kb import deflection
from helpa.kb.models import KbSettings, SuggestionVisit
from helpa.portal import actions as portal_actions
from helpa.tickets import actions as ticket_actions

pytestmark = pytest.mark.django_db


def _suggest(client: Client, q: str, lang: str = "sv", visit: str = "") -> dict:
    response = client.get(reverse("kb:suggest"), {"q": q, "lang": lang, "visit": visit})
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    return response.json()


def test_suggestions_are_published_public_articles_in_the_readers_language(
    printer_article, internal_article, draft_article, carl_client
):
    data = _suggest(carl_client, "Skrivaren på plan 3 krånglar")
    assert [r["id"] for r in data["results"]] == [printer_article.pk]
    assert data["results"][0]["title"] == "Skrivarna på plan 3"
    assert "visit=" in data["results"][0]["url"]
    english = _suggest(carl_client, "skrivaren", lang="en")
    assert english["results"][0]["title"] == "The printers on floor 3"


def test_short_or_empty_titles_suggest_nothing(printer_article):
    assert _suggest(Client(), "sk")["results"] == []
    assert _suggest(Client(), "")["results"] == []


def test_anonymous_contact_forms_get_suggestions_only_when_allowed(printer_article):
    assert _suggest(Client(), "skrivare")["results"]
    KbSettings.objects.update_or_create(pk=1, defaults={"public_without_login": False})
    assert _suggest(Client(), "skrivare")["results"] == []


def test_the_visit_token_is_kept_and_forged_ones_are_replaced(printer_article):
    first = _suggest(Client(), "skrivare")["visit"]
    assert _suggest(Client(), "skrivaren", visit=first)["visit"] == first
    assert _suggest(Client(), "skrivaren", visit="forged")["visit"] != "forged"


def test_the_portal_form_carries_the_suggestion_script(carl_client, queue_support):
    page = carl_client.get(reverse("portal:new")).content.decode()
    assert 'data-kb-suggest-for="id_title"' in page
    assert "kb/suggest.js" in page
    source = (Path(__file__).parents[1] / "static" / "kb" / "suggest.js").read_text()
    assert "data-kb-suggest-for" in source and "textContent" in source
    assert "innerHTML" not in source


# --- Deflection ---------------------------------------------------------------------------------


def _open(client: Client, article, token: str) -> None:
    response = client.get(reverse("kb:article", args=[article.pk]), {"visit": token})
    assert response.status_code == 200
    assert 'data-testid="kb-feedback"' in response.content.decode()


def _solve(client: Client, article, token: str) -> None:
    response = client.post(reverse("kb:solved", args=[article.pk]), {"visit": token})
    assert response.status_code == 302


def _count(article) -> dict[str, int]:
    return deflection.counts([article.pk])[article.pk]


def test_opened_and_marked_solved_without_a_ticket_is_a_deflection(printer_article):
    visitor = Client()
    token = _suggest(visitor, "skrivaren")["visit"]
    _open(visitor, printer_article, token)
    assert _count(printer_article) == {"opened": 1, "solved": 0, "confirmed": 0}
    _solve(visitor, printer_article, token)
    assert _count(printer_article) == {"opened": 1, "solved": 1, "confirmed": 1}
    page = visitor.get(reverse("kb:article", args=[printer_article.pk]) + "?solved=1")
    assert 'data-testid="kb-solved"' in page.content.decode()


def test_solved_then_the_form_submitted_anyway_is_no_deflection(printer_article):
    visitor = Client(enforce_csrf_checks=True)
    token = _suggest(visitor, "skrivaren")["visit"]
    _open(visitor, printer_article, token)
    Client().post(reverse("kb:solved", args=[printer_article.pk]), {"visit": token})
    # The script's beacon on submit (no CSRF cookie in an embedded form).
    response = visitor.post(reverse("kb:suggest_ticket"), {"visit": token})
    assert response.status_code == 204
    assert _count(printer_article)["solved"] == 0


def test_a_customers_new_ticket_ends_their_visit_without_deflection(
    printer_article, carl_client, contact, queue_support, django_capture_on_commit_callbacks
):
    token = _suggest(carl_client, "skrivaren")["visit"]
    _open(carl_client, printer_article, token)
    _solve(carl_client, printer_article, token)
    assert _count(printer_article)["solved"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        portal_actions.create_ticket(
            contact, queue=queue_support, title="Skrivaren", body_html="<p>Hjälp</p>"
        )
    assert SuggestionVisit.objects.get().ticket_at is not None
    assert _count(printer_article)["solved"] == 0


def test_another_contacts_ticket_does_not_touch_the_visit(
    printer_article, carl_client, alice, queue_support, django_capture_on_commit_callbacks
):
    from helpa.crm.models import Contact

    token = _suggest(carl_client, "skrivaren")["visit"]
    _open(carl_client, printer_article, token)
    _solve(carl_client, printer_article, token)
    other = Contact.objects.create(name="Olle", email="olle@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_actions.open_ticket(alice, queue=queue_support, title="Annat", contact=other)
    assert _count(printer_article)["solved"] == 1


def test_a_quiet_visit_credits_the_last_article_opened_once(make_article, printer_article):
    other = make_article(("Skrivarens toner", "<p>Byt toner.</p>"))
    visitor = Client()
    token = _suggest(visitor, "skrivaren")["visit"]
    _open(visitor, printer_article, token)
    _open(visitor, other, token)
    _open(visitor, other, token)  # opened twice: one open
    assert _count(other) == {"opened": 1, "solved": 0, "confirmed": 0}
    with time_machine.travel(timezone.now() + deflection.VISIT_WINDOW + timedelta(minutes=1)):
        assert _count(other) == {"opened": 1, "solved": 1, "confirmed": 0}
        assert _count(printer_article) == {"opened": 1, "solved": 0, "confirmed": 0}


def test_a_quiet_visit_that_ended_in_a_ticket_credits_nobody(printer_article):
    visitor = Client()
    token = _suggest(visitor, "skrivaren")["visit"]
    _open(visitor, printer_article, token)
    visitor.post(reverse("kb:suggest_ticket"), {"visit": token})
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert _count(printer_article)["solved"] == 0


def test_solved_needs_a_suggested_open_and_a_genuine_token(printer_article, make_article):
    visitor = Client()
    token = _suggest(visitor, "skrivaren")["visit"]
    # Not opened from a suggestion in this visit: nothing recorded.
    _solve(visitor, printer_article, token)
    _solve(visitor, printer_article, "forged")
    assert _count(printer_article)["solved"] == 0
    # Opening without a token is an ordinary read, without the question.
    page = visitor.get(reverse("kb:article", args=[printer_article.pk])).content.decode()
    assert 'data-testid="kb-feedback"' not in page
    assert SuggestionVisit.objects.count() == 0


def test_agents_reading_a_suggestion_link_count_nothing(printer_article, agent_client):
    token = _suggest(Client(), "skrivaren")["visit"]
    agent_client.get(reverse("kb:article", args=[printer_article.pk]), {"visit": token})
    assert _count(printer_article)["opened"] == 0


def test_agent_list_shows_the_counts(printer_article, agent_client):
    visitor = Client()
    token = _suggest(visitor, "skrivaren")["visit"]
    _open(visitor, printer_article, token)
    _solve(visitor, printer_article, token)
    page = agent_client.get(reverse("kb:agent_list")).content.decode()
    assert 'data-testid="deflections">1' in page
