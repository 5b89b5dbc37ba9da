"""Contacts and companies through the UI's forms, with brand limits; the read-only lists; the
schema and its documentation page."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from helpa.accounts.models import User
from helpa.api.models import Scope
from helpa.crm.models import Brand, Company, Contact, ContactPhone
from helpa.tickets.models import Queue

CONTACTS = "/api/v1/contacts/"
COMPANIES = "/api/v1/companies/"


@pytest.fixture
def brands(alice: User) -> tuple[Brand, Brand]:
    """Alice is limited to brand MINE; OTHER is not hers."""
    mine = Brand.objects.create(code="MINE", name="Mine")
    other = Brand.objects.create(code="OTHER", name="Other")
    mine.limited_agents.add(alice)
    return mine, other


@pytest.fixture
def stranger(brands: tuple[Brand, Brand]) -> Contact:
    company = Company.objects.create(name="Other AB", brand=brands[1])
    return Contact.objects.create(name="Sam Stranger", email="sam@other.example", company=company)


def test_contacts_follow_the_brand_limits(alice_api, contact, stranger):
    listed = alice_api.get(CONTACTS).json()["results"]
    assert [c["email"] for c in listed] == ["carl@example.com"]
    assert alice_api.get(f"{CONTACTS}{stranger.pk}/").status_code == 404
    patched = alice_api.patch(f"{CONTACTS}{stranger.pk}/", {"name": "x"}, format="json")
    assert patched.status_code == 404
    assert alice_api.get(f"{COMPANIES}{stranger.company_id}/").status_code == 404
    assert [c["name"] for c in alice_api.get(COMPANIES).json()["results"]] == ["Acme AB"]


def test_contacts_are_searched_as_on_the_contacts_page(alice_api, contact):
    assert [c["id"] for c in alice_api.get(CONTACTS + "?q=carl").json()["results"]] == [contact.pk]
    assert alice_api.get(CONTACTS + "?q=nobody").json()["results"] == []
    assert alice_api.get(CONTACTS + "?sort=name").status_code == 400


def test_a_contact_is_created_through_the_contact_form(alice_api, company):
    response = alice_api.post(
        CONTACTS,
        {
            "name": "Dora",
            "email": "Dora@Example.com",
            "company": company.pk,
            "phones": ["070-123 45 67"],
            "other_emails": ["dora@home.example"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "dora@example.com"  # the form's cleaning
    assert body["phones"] == ["+46701234567"] and body["other_emails"] == ["dora@home.example"]
    assert body["company"] == company.pk and body["language"] == "sv"


def test_the_contact_forms_rules_come_back_per_field(alice_api, contact, stranger):
    response = alice_api.post(
        CONTACTS,
        {
            "name": "Copy",
            "email": "carl@example.com",
            "phones": ["not a phone"],
            "company": stranger.company_id,
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"email", "phones", "company"}
    assert "already belongs" in errors["email"][0]


def test_patching_a_contact_keeps_what_it_does_not_send(alice_api, contact):
    ContactPhone.objects.create(contact=contact, number="+46701234567")
    response = alice_api.patch(f"{CONTACTS}{contact.pk}/", {"notes": "VIP"}, format="json")
    assert response.status_code == 200, response.json()
    contact.refresh_from_db()
    assert contact.notes == "VIP" and contact.company is not None
    assert contact.email == "carl@example.com" and contact.user_id is not None
    assert list(contact.phones.values_list("number", flat=True)) == ["+46701234567"]
    response = alice_api.patch(f"{CONTACTS}{contact.pk}/", {"company": None}, format="json")
    contact.refresh_from_db()
    assert response.status_code == 200 and contact.company is None


def test_companies_through_the_company_form(alice_api, admin, api_for, company):
    response = alice_api.post(
        COMPANIES,
        {"name": "Beta AB", "organisation_number": "5560360793", "domains": ["beta.se"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["organisation_number"] == "556036-0793"
    assert response.json()["domains"] == ["beta.se"]
    duplicate = alice_api.post(
        COMPANIES, {"name": "Acme 2", "organisation_number": "556677-8899"}, format="json"
    )
    assert list(duplicate.json()["errors"]) == ["organisation_number"]
    hold = alice_api.patch(f"{COMPANIES}{company.pk}/", {"legal_hold": True}, format="json")
    assert hold.status_code == 400 and list(hold.json()["errors"]) == ["legal_hold"]
    by_admin = api_for(admin).patch(
        f"{COMPANIES}{company.pk}/", {"legal_hold": True}, format="json"
    )
    assert by_admin.status_code == 200 and by_admin.json()["legal_hold"] is True
    company.refresh_from_db()
    assert company.name == "Acme AB" and company.organisation_number == "556677-8899"


# --- Updating contacts and companies: every permission edge ------------------------------------


def test_another_brands_contact_and_company_cannot_be_changed(alice_api, stranger):
    company = stranger.company
    for url in (f"{CONTACTS}{stranger.pk}/", f"{COMPANIES}{company.pk}/"):
        response = alice_api.patch(url, {"name": "Taken over"}, format="json")
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"
    stranger.refresh_from_db()
    company.refresh_from_db()
    assert (stranger.name, company.name) == ("Sam Stranger", "Other AB")


def test_a_contact_cannot_be_moved_to_another_brands_company(alice_api, contact, stranger):
    response = alice_api.patch(
        f"{CONTACTS}{contact.pk}/", {"company": stranger.company_id}, format="json"
    )
    assert response.status_code == 400 and list(response.json()["errors"]) == ["company"]
    contact.refresh_from_db()
    assert contact.company.name == "Acme AB"


def test_an_admin_changes_any_brands_contact_and_company(admin, api_for, stranger):
    client = api_for(admin)
    response = client.patch(f"{CONTACTS}{stranger.pk}/", {"notes": "Called"}, format="json")
    assert response.status_code == 200 and response.json()["notes"] == "Called"
    response = client.patch(
        f"{COMPANIES}{stranger.company_id}/", {"customer_number": "K-7"}, format="json"
    )
    assert response.status_code == 200 and response.json()["customer_number"] == "K-7"
    stranger.refresh_from_db()
    assert stranger.notes == "Called" and stranger.company.customer_number == "K-7"


def test_bad_changes_come_back_per_field_and_change_nothing(alice_api, contact, company):
    response = alice_api.patch(
        f"{CONTACTS}{contact.pk}/",
        {"name": "", "email": "not-an-address", "phones": ["12"], "language": "de"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name", "language"}  # the serializer's checks
    response = alice_api.patch(
        f"{CONTACTS}{contact.pk}/", {"email": "not-an-address", "phones": ["12"]}, format="json"
    )
    assert set(response.json()["errors"]) == {"email", "phones"}  # the contact form's
    response = alice_api.patch(
        f"{COMPANIES}{company.pk}/", {"domains": ["not a domain"], "size": 3}, format="json"
    )
    assert response.json()["errors"] == {"size": ["Unknown field."]}
    response = alice_api.patch(
        f"{COMPANIES}{company.pk}/", {"domains": ["not a domain"]}, format="json"
    )
    assert list(response.json()["errors"]) == ["domains"]
    contact.refresh_from_db()
    company.refresh_from_db()
    assert contact.email == "carl@example.com" and not contact.phones.exists()
    assert not company.domains.exists()


def test_a_read_only_token_changes_no_contact_or_company(alice, api_for, contact, company):
    client = api_for(alice, Scope.READ)
    assert client.get(f"{CONTACTS}{contact.pk}/").status_code == 200
    for url in (f"{CONTACTS}{contact.pk}/", f"{COMPANIES}{company.pk}/"):
        response = client.patch(url, {"name": "Changed"}, format="json")
        assert response.status_code == 403, url
        assert response.json()["detail"] == "This token is read-only."
    contact.refresh_from_db()
    company.refresh_from_db()
    assert (contact.name, company.name) == ("Carl Customer", "Acme AB")


def test_nobody_and_customers_change_no_contact_or_company(customer, contact, company):
    for url in (f"{CONTACTS}{contact.pk}/", f"{COMPANIES}{company.pk}/"):
        assert APIClient().patch(url, {"name": "x"}, format="json").status_code == 401
        as_customer = APIClient()
        as_customer.force_login(customer)
        # The customer's own contact too: the portal is where customers edit themselves.
        assert as_customer.patch(url, {"name": "x"}, format="json").status_code == 403
    contact.refresh_from_db()
    assert contact.name == "Carl Customer"


@pytest.mark.parametrize("count", [2, 20])
def test_the_contact_list_costs_a_fixed_number_of_queries(
    alice_api, company, count, django_assert_max_num_queries
):
    for i in range(count):
        c = Contact.objects.create(name=f"C{i}", email=f"c{i}@example.com", company=company)
        ContactPhone.objects.create(contact=c, number=f"+4670123456{i % 10}")
    alice_api.get("/api/v1/me/")
    with django_assert_max_num_queries(4):  # token+user, page, addresses, phones
        response = alice_api.get(CONTACTS)
    assert len(response.json()["results"]) == count


# --- Read-only lists -----------------------------------------------------------------------------


def test_queues_and_brands_follow_the_brand_limits(alice_api, brands, queue_support):
    Queue.objects.create(name="Other's", slug="others", brand=brands[1])
    Queue.objects.create(name="Mine", slug="mine", brand=brands[0])
    queues = [q["slug"] for q in alice_api.get("/api/v1/queues/").json()["results"]]
    assert sorted(queues) == ["mine", "support"]
    assert [b["code"] for b in alice_api.get("/api/v1/brands/").json()["results"]] == ["MINE"]
    assert alice_api.get(f"/api/v1/brands/{brands[1].pk}/").status_code == 404


def test_users_lists_agents_only(alice_api, alice, customer):
    emails = [u["email"] for u in alice_api.get("/api/v1/users/").json()["results"]]
    assert emails == ["alice@example.com"]
    assert alice_api.get(f"/api/v1/users/{customer.pk}/").status_code == 404
    team = alice_api.get("/api/v1/teams/").json()["results"][0]
    assert team["members"] == [alice.pk]


@pytest.mark.parametrize(
    "path", ["queues/", "teams/", "users/", "brands/", "contacts/", "companies/"]
)
def test_read_only_lists_refuse_writes(alice_api, path):
    if path in ("contacts/", "companies/"):
        assert alice_api.delete(f"/api/v1/{path}").status_code == 405
    else:
        assert alice_api.post(f"/api/v1/{path}", {}, format="json").status_code == 405


# --- Schema and documentation --------------------------------------------------------------------


def test_the_schema_describes_the_api(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/tickets/{number}/reply/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_documentation_page_loads_nothing_from_outside(client):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    external = [u for u in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if "//" in u]
    assert external == []
    assert '"validatorUrl": null' in html  # no badge from an outside validator
    # The script and style it names are served from our static files.
    for asset in re.findall(r"""src=["'](/static/[^"']+)""", html):
        assert client.get(asset).status_code == 200


def test_every_page_of_the_browsable_api_renders(alice, ticket, contact, admin):
    from django.test import Client

    from helpa.kb.actions import save_article
    from helpa.tickets.actions import log_time_entry

    client = Client()
    client.force_login(alice)
    company = contact.company_id
    entry = log_time_entry(alice, ticket, 5)
    article = save_article(
        alice, None, category=None, visibility="public", status="draft", texts={"sv": ("A", "")}
    )
    for path in [
        f"tickets/{ticket.number}/time-entries/",
        f"tickets/{ticket.number}/time-entries/{entry.pk}/",
        "templates/",
        "canned-responses/",
        "kb/articles/",
        f"kb/articles/{article.pk}/",
        "kb/categories/",
        "reports/",
        "reports/statistics/",
        "reports/time/",
        "",
        "me/",
        "tickets/",
        f"tickets/{ticket.number}/",
        f"tickets/{ticket.number}/followers/",
        f"tickets/{ticket.number}/reply/",
        f"tickets/{ticket.number}/status/",
        "contacts/",
        f"contacts/{contact.pk}/",
        "companies/",
        f"companies/{company}/",
        "queues/",
        "users/",
        f"users/{alice.pk}/",
        "teams/",
        "brands/",
    ]:
        response = client.get(f"/api/v1/{path}", HTTP_ACCEPT="text/html")
        assert response.status_code in (200, 404, 405), (path, response.status_code)
        assert response.status_code != 404 or path == "", path
