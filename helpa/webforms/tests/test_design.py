"""The design pages: admins make forms and get the embed snippet; agents see the counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from helpa.webforms.models import CATALOGUE, BlockedSubmission, ContactForm, Reason

pytestmark = pytest.mark.django_db


def _design_post(queue, **overrides) -> dict[str, str]:
    data = {
        "name": "Kontakta oss",
        "slug": "kontakt",
        "queue": str(queue.pk),
        "is_active": "on",
        "thanks_en": "We answer within a day.",
        "thanks_sv": "Vi svarar inom en dag.",
        "custom_css": "h1 { color: hotpink; }",
        "allowed_origins": "https://www.example.com/",
        "fallback_address": "help@example.com",
        "min_fill_seconds": "3",
        "ip_limit": "5",
        "address_limit": "3",
    }
    for key in CATALOGUE:
        data[f"{key}-mode"] = "optional" if key not in ("email", "name") else "required"
        data[f"{key}-label_en"] = ""
        data[f"{key}-label_sv"] = ""
        data[f"{key}-lock"] = "request" if key != "attachments" else "never"
    data.update(overrides)
    return data


@pytest.mark.parametrize("url", ["/forms/settings/", "/forms/settings/new/"])
def test_anonymous_visitors_log_in_first(client: Client, url: str):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_agents_see_the_list_but_cannot_design(alice_client: Client, contact_form):
    listing = alice_client.get("/forms/settings/")
    assert listing.status_code == 200
    assert "Contact us" in listing.content.decode()
    assert f"/forms/settings/{contact_form.pk}/" not in listing.content.decode()
    assert alice_client.get("/forms/settings/new/").status_code == 403
    assert alice_client.get(f"/forms/settings/{contact_form.pk}/").status_code == 403
    assert alice_client.post("/forms/settings/new/", {}).status_code == 403


def test_customers_cannot_see_the_list(carl_client: Client, contact_form):
    assert carl_client.get("/forms/settings/").status_code == 403


def test_an_admin_designs_a_form_and_gets_the_snippet(ada_client: Client, queue_support, settings):
    settings.BASE_URL = "https://help.example.com"
    data = _design_post(
        queue_support,
        **{"company-mode": "required", "company-label_sv": "Företag", "subject-mode": "off"},
    )
    response = ada_client.post("/forms/settings/new/", data)
    assert response.status_code == 302
    form = ContactForm.objects.get()
    assert (form.name, form.slug, form.queue) == ("Kontakta oss", "kontakt", queue_support)
    assert form.allowed_origins == "https://www.example.com"
    company = form.config("company")
    assert (company.mode, company.label_sv, company.label_en) == ("required", "Företag", "Company")
    assert form.config("subject").mode == "off"
    assert form.config("name").label_sv == "Ditt namn"  # the translated default
    page = ada_client.get(response["Location"])
    text = page.content.decode()
    assert (
        "&lt;iframe src=&quot;https://help.example.com/forms/kontakt/&quot; "
        "title=&quot;Kontakta oss&quot;"
    ) in text
    assert 'data-copy="embed-snippet"' in text
    assert 'href="/forms/settings/" aria-current="page"' in text  # in the settings navigation


def test_the_address_is_always_required(ada_client: Client, queue_support):
    response = ada_client.post(
        "/forms/settings/new/", _design_post(queue_support, **{"email-mode": "off"})
    )
    assert response.status_code == 400
    assert not ContactForm.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"slug": "settings"},
        {"slug": "Has Spaces"},
        {"allowed_origins": "https://www.example.com/path"},
        {"allowed_origins": "javascript:alert(1)"},
        {"name-mode": "sometimes"},
    ],
)
def test_bad_designs_are_refused(ada_client: Client, queue_support, overrides):
    response = ada_client.post("/forms/settings/new/", _design_post(queue_support, **overrides))
    assert response.status_code == 400
    assert not ContactForm.objects.exists()


def test_the_list_counts_refusals_per_form(
    alice_client: Client, contact_form, queue_support, django_assert_max_num_queries
):
    other = ContactForm.objects.create(name="Other form", slug="other", queue=queue_support)
    now = timezone.now()
    for reason in (Reason.HONEYPOT, Reason.HONEYPOT, Reason.RATE_IP):
        BlockedSubmission.objects.create(form=contact_form, reason=reason, ip="203.0.113.7")
    BlockedSubmission.objects.create(
        form=contact_form, reason=Reason.TOO_FAST, created_at=now - timedelta(days=3)
    )
    BlockedSubmission.objects.create(
        form=contact_form, reason=Reason.TOO_FAST, created_at=now - timedelta(days=8)
    )
    BlockedSubmission.objects.create(form=other, reason=Reason.RATE_ADDRESS)
    with django_assert_max_num_queries(12):
        response = alice_client.get("/forms/settings/")
    text = response.content.decode()
    row = text.split('data-form="contact"')[1].split("</tr>")[0]
    assert 'data-testid="blocked-today">3<' in row
    assert 'data-testid="blocked-week">4<' in row
    assert "Robot field filled in: 2" in row
    other_row = text.split('data-form="other"')[1].split("</tr>")[0]
    assert 'data-testid="blocked-week">1<' in other_row
