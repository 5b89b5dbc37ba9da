"""Brands (C3): an agent limited to brand A reaches none of brand B's tickets, contacts or
companies by any URL; an unlimited agent of the same team and an admin reach them all. Tickets
of unbranded queues stay visible to everyone who works the queue."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from helpa.accounts.models import Role, Team, User
from helpa.crm.models import Brand, Company, Contact
from helpa.tickets import actions
from helpa.tickets.models import Attachment, Queue, Ticket, visible_queue_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def brands() -> tuple[Brand, Brand]:
    return Brand.objects.create(code="ACME", name="Acme"), Brand.objects.create(
        code="BETA", name="Beta"
    )


@pytest.fixture
def desk(brands: tuple[Brand, Brand]) -> dict:
    """Queues of brand A, brand B and of no brand, all worked by one team; Lena is limited to
    A, Uno (same team) is not limited; each queue holds one ticket with a customer."""
    acme, beta = brands
    team = Team.objects.create(name="Everyone")
    queues = {
        "a": Queue.objects.create(name="Acme support", slug="acme", brand=acme),
        "b": Queue.objects.create(name="Beta support", slug="beta", brand=beta),
        "none": Queue.objects.create(name="House", slug="house"),
    }
    for queue in queues.values():
        queue.teams.add(team)
    lena = User.objects.create_user("lena@example.com", "pw", full_name="Lena", role=Role.AGENT)
    uno = User.objects.create_user("uno@example.com", "pw", full_name="Uno", role=Role.AGENT)
    team.members.add(lena, uno)
    acme.limited_agents.add(lena)
    companies = {
        "a": Company.objects.create(name="Acme Kund AB", brand=acme),
        "b": Company.objects.create(name="Beta Kund AB", brand=beta),
        "none": Company.objects.create(name="Fri Kund AB"),
    }
    contacts = {
        key: Contact.objects.create(name=f"Kund {key}", email=f"{key}@kund.se", company=company)
        for key, company in companies.items()
    }
    tickets = {
        key: actions.open_ticket(
            uno,
            queue=queue,
            title=f"Skrivaren {key} krånglar",
            contact=contacts[key],
            company=companies[key],
        )
        for key, queue in queues.items()
    }
    files = {
        key: Attachment.objects.create(
            ticket=t,
            file=SimpleUploadedFile("log.txt", b"log"),
            filename="log.txt",
            content_type="text/plain",
            size=3,
        )
        for key, t in tickets.items()
    }
    admin = User.objects.create_user("boss@example.com", "pw", full_name="Boss", role=Role.ADMIN)
    acme.limited_agents.add(admin)  # an admin's limit changes nothing
    return {
        "queues": queues,
        "lena": lena,
        "uno": uno,
        "admin": admin,
        "tickets": tickets,
        "files": files,
        "companies": companies,
        "contacts": contacts,
    }


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _urls(ticket: Ticket, attachment: Attachment) -> list[tuple[str, str]]:
    n = ticket.number
    return [
        ("get", reverse("tickets:detail", args=[n])),
        ("get", reverse("tickets:thread", args=[n]) + "?tab=conversation"),
        ("post", reverse("tickets:quick_edit", args=[n])),
        ("get", reverse("tickets:attachment", args=[n, attachment.pk])),
    ]


def test_visible_queues_and_tickets(desk: dict) -> None:
    q = desk["queues"]
    assert visible_queue_ids(desk["lena"]) == sorted([q["a"].pk, q["none"].pk])
    assert visible_queue_ids(desk["uno"]) == sorted(x.pk for x in q.values())
    seen = set(Ticket.objects.visible_to(desk["lena"]).values_list("pk", flat=True))
    assert seen == {desk["tickets"]["a"].pk, desk["tickets"]["none"].pk}
    assert Ticket.objects.visible_to(desk["admin"]).count() == 3


@pytest.mark.parametrize("who", ["lena", "uno", "admin"])
def test_the_ticket_urls_of_another_brand(desk: dict, who: str) -> None:
    client = _client(desk[who])
    for key in ("a", "b", "none"):
        for method, url in _urls(desk["tickets"][key], desk["files"][key]):
            data = {"field": "priority", "value": "3", "version": "99"} if method == "post" else {}
            status = getattr(client, method)(url, data).status_code
            if who == "lena" and key == "b":
                assert status == 404, url
            else:
                assert status in (200, 302, 409), (who, url, status)


def test_overview_and_search_leave_the_other_brand_out(desk: dict) -> None:
    lena, uno = _client(desk["lena"]), _client(desk["uno"])
    for params in ({"view": "all"}, {"view": "all", "q": "Skrivaren"}):
        mine = lena.get("/tickets/", params).content.decode()
        everyone = uno.get("/tickets/", params).content.decode()
        assert "Skrivaren a krånglar" in mine and "Skrivaren none krånglar" in mine
        assert "Skrivaren b krånglar" not in mine
        assert "Skrivaren b krånglar" in everyone
    # The filter panel does not name the other brand's companies or queues either.
    assert "Beta Kund AB" not in lena.get("/tickets/", {"view": "all"}).content.decode()


def test_contacts_and_companies_of_another_brand(desk: dict) -> None:
    lena, uno = desk["lena"], desk["uno"]
    assert set(Company.objects.visible_to(lena).values_list("name", flat=True)) == {
        "Acme Kund AB",
        "Fri Kund AB",
    }
    assert Contact.objects.visible_to(lena).filter(email="b@kund.se").count() == 0
    assert Contact.objects.visible_to(uno).count() == 3
    client = _client(lena)
    beta_contact = desk["contacts"]["b"]
    beta_company = desk["companies"]["b"]
    contacts = client.get(reverse("tickets:contact_options"), {"q": "Kund"}).content.decode()
    assert "a@kund.se" in contacts and "b@kund.se" not in contacts
    # Asking for the other brand's contact by its number returns nothing of it either.
    by_pk = client.get(reverse("tickets:contact_options"), {"contact": beta_contact.pk})
    assert "b@kund.se" not in by_pk.content.decode()
    companies = client.get(reverse("tickets:company_options"), {"company": beta_company.pk})
    assert "Beta Kund AB" not in companies.content.decode()
    admin_view = _client(desk["admin"]).get(reverse("tickets:contact_options"), {"q": "Kund"})
    assert "b@kund.se" in admin_view.content.decode()


def test_a_limited_agent_cannot_attach_another_brands_customer_or_queue(desk: dict) -> None:
    lena = desk["lena"]
    client = _client(lena)
    response = client.post(
        reverse("tickets:new"),
        {
            "queue": desk["queues"]["b"].pk,
            "title": "Forged",
            "status": "new",
            "priority": "2",
        },
    )
    assert response.status_code == 403
    response = client.post(
        reverse("tickets:new"),
        {
            "queue": desk["queues"]["a"].pk,
            "title": "Forged contact",
            "status": "new",
            "priority": "2",
            "contact": desk["contacts"]["b"].pk,
        },
    )
    assert not Ticket.objects.filter(title="Forged contact").exists()


def test_the_ticket_page_shows_the_brand_and_its_instruction(desk: dict) -> None:
    acme = Brand.objects.get(code="ACME")
    acme.agent_instructions = "Acme's customers are answered in English.\nNever promise dates."
    acme.save()
    page = _client(desk["uno"]).get(reverse("tickets:detail", args=[desk["tickets"]["a"].number]))
    html = page.content.decode()
    assert 'data-testid="brand-tag">Acme<' in html
    assert "Acme&#x27;s customers are answered in English.<br>Never promise dates." in html
    plain = _client(desk["uno"]).get(
        reverse("tickets:detail", args=[desk["tickets"]["none"].number])
    )
    assert 'data-testid="brand-instructions"' not in plain.content.decode()


def test_contact_and_company_pages_of_another_brand(desk: dict) -> None:
    lena, uno = _client(desk["lena"]), _client(desk["uno"])
    contacts, companies = desk["contacts"], desk["companies"]
    for key in ("a", "none"):
        assert lena.get(reverse("tickets:contact", args=[contacts[key].pk])).status_code == 200
        assert lena.get(reverse("tickets:company", args=[companies[key].pk])).status_code == 200
    assert lena.get(reverse("tickets:contact", args=[contacts["b"].pk])).status_code == 404
    assert lena.get(reverse("tickets:company", args=[companies["b"].pk])).status_code == 404
    merge = reverse("tickets:contact_merge", args=[contacts["a"].pk])
    assert lena.post(merge, {"other": contacts["b"].pk}).status_code == 404
    assert Contact.objects.filter(pk=contacts["b"].pk).exists()
    listed = lena.get(reverse("tickets:contacts"), {"q": "Kund"}).content.decode()
    assert "Kund a" in listed and "Kund none" in listed and "Kund b" not in listed
    companies_listed = lena.get(reverse("tickets:companies")).content.decode()
    assert "Acme Kund AB" in companies_listed and "Beta Kund AB" not in companies_listed
    # A forged post cannot put a contact into another brand's company.
    edit = lena.post(
        reverse("tickets:contact", args=[contacts["a"].pk]),
        {"name": "Kund a", "email": "a@kund.se", "company": companies["b"].pk, "language": "sv"},
    )
    assert edit.status_code in (200, 400)
    assert Contact.objects.get(pk=contacts["a"].pk).company == companies["a"]
    assert uno.get(reverse("tickets:contact", args=[contacts["b"].pk])).status_code == 200
