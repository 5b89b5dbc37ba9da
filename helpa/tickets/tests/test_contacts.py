"""The agents' contact and company pages, merging contacts, and the ticket page's sidebar."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from helpa.accounts.models import Role, User
from helpa.crm.models import Company, Contact, ContactEmail, ContactPhone
from helpa.tickets import actions
from helpa.tickets.contact_actions import MergeRefused, merge_contacts
from helpa.tickets.models import Article, ArticleKind, HistoryEntry, Queue, Status, Ticket

pytestmark = pytest.mark.django_db


def _html(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _open(user: User, queue: Queue, title: str, **fields) -> Ticket:  # type: ignore[no-untyped-def]
    return actions.open_ticket(user, queue=queue, title=title, **fields)


@pytest.fixture
def nordvind(db: None) -> Company:
    return Company.objects.create(name="Nordvind AS", organisation_number="923609016")


@pytest.fixture
def pia(nordvind: Company) -> Contact:
    pia = Contact.objects.create(name="Pia Persson", email="pia@nordvind.no", company=nordvind)
    ContactEmail.objects.create(contact=pia, address="pia.p@gmail.com")
    ContactPhone.objects.create(contact=pia, number="+4791234567")
    return pia


# --- Lists and search --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["Persson", "pia.p@gmail", "nordvind", "+47 912 34 567", "0047 91234567"]
)
def test_contacts_are_found_by_name_any_address_phone_and_company(
    agent_client: Client, pia: Contact, contact: Contact, query: str
) -> None:
    body = _html(agent_client.get("/contacts/", {"q": query}))
    assert "Pia Persson" in body and "Carl Customer" not in body


def test_companies_are_found_by_name_and_organisation_number(
    agent_client: Client, nordvind: Company, company: Company
) -> None:
    assert "Nordvind AS" in _html(agent_client.get("/companies/", {"q": "923 609 016"}))
    body = _html(agent_client.get("/companies/", {"q": "acme"}))
    assert "Acme AB" in body and "Nordvind AS" not in body


def test_the_contact_list_pages_with_few_queries(
    agent_client: Client, nordvind: Company, django_assert_max_num_queries
) -> None:
    for n in range(120):
        c = Contact.objects.create(name=f"Person {n:03d}", email=f"p{n}@x.se", company=nordvind)
        ContactPhone.objects.create(contact=c, number=f"+4670123{n:04d}")
    with django_assert_max_num_queries(8):
        body = _html(agent_client.get("/contacts/"))
    assert "Person 000" in body and "Person 050" not in body and "Page 1 of 3" in body
    with django_assert_max_num_queries(8):
        body = _html(agent_client.get("/contacts/", {"page": 3}))
    assert "Person 119" in body
    with django_assert_max_num_queries(8):
        assert "Nordvind AS" in _html(agent_client.get("/companies/"))


def test_the_navigation_leads_to_contacts_and_companies(agent_client: Client) -> None:
    body = _html(agent_client.get("/contacts/"))
    assert 'href="/contacts/"' in body and 'href="/companies/"' in body


# --- Access ------------------------------------------------------------------------------------


def test_customers_and_strangers_never_reach_the_pages(
    carl_client: Client, pia: Contact, nordvind: Company
) -> None:
    for url in (
        "/contacts/",
        f"/contacts/{pia.pk}/",
        f"/contacts/{pia.pk}/merge/",
        "/companies/",
        f"/companies/{nordvind.pk}/",
        "/contacts/new/",
    ):
        assert carl_client.get(url).status_code == 403
        assert Client().get(url).status_code == 302  # to the login
    assert carl_client.post(f"/contacts/{pia.pk}/", {"name": "x"}).status_code == 403


def test_an_agent_sees_only_the_tickets_of_their_queues(
    agent_client: Client,
    alice: User,
    bob: User,
    queue_support: Queue,
    queue_billing: Queue,
    pia: Contact,
    nordvind: Company,
) -> None:
    _open(alice, queue_support, "Printer in Support", contact=pia, company=nordvind)
    billing = _open(bob, queue_billing, "Secret invoice", contact=pia, company=nordvind)
    actions.add_article(bob, billing, ArticleKind.NOTE, "<p>x</p>", time_spent_minutes=90)
    other = _open(alice, queue_support, "Pia wrote in here")
    actions.add_article(None, other, ArticleKind.CUSTOMER, "<p>me too</p>", contact=pia)

    contact_page = _html(agent_client.get(f"/contacts/{pia.pk}/"))
    assert "Printer in Support" in contact_page and "Pia wrote in here" in contact_page
    assert "Secret invoice" not in contact_page
    company_page = _html(agent_client.get(f"/companies/{nordvind.pk}/"))
    assert "Printer in Support" in company_page and "Secret invoice" not in company_page
    assert "1 h 30 min" not in company_page  # time on tickets she cannot see is not counted

    bob_client = Client()
    bob_client.force_login(bob)
    assert "Secret invoice" in _html(bob_client.get(f"/contacts/{pia.pk}/"))
    assert "1 h 30 min" in _html(bob_client.get(f"/companies/{nordvind.pk}/"))


def test_the_contact_history_is_newest_first_with_channel_and_status(
    agent_client: Client, alice: User, queue_support: Queue, pia: Contact
) -> None:
    _open(alice, queue_support, "First one", contact=pia, channel="email")
    _open(alice, queue_support, "Second one", contact=pia, channel="phone")
    body = _html(agent_client.get(f"/contacts/{pia.pk}/"))
    assert body.index("Second one") < body.index("First one")
    assert "E-mail" in body and "Phone" in body


def test_the_company_page_shows_contacts_open_and_closed_tickets_time_and_sla(
    agent_client: Client, alice: User, queue_support: Queue, pia: Contact, nordvind: Company
) -> None:
    open_one = _open(alice, queue_support, "Still open", contact=pia, company=nordvind)
    actions.add_article(alice, open_one, ArticleKind.NOTE, "<p>x</p>", time_spent_minutes=25)
    for n, breached in enumerate([True, False, False, False]):
        done = _open(alice, queue_support, f"Done {n}", contact=pia, company=nordvind)
        Ticket.objects.filter(pk=done.pk).update(status=Status.CLOSED)
        if breached:
            HistoryEntry.objects.create(ticket=done, field="sla_breached", new_value="resolution")
    body = _html(agent_client.get(f"/companies/{nordvind.pk}/"))
    open_part = body[body.index('id="open-tickets"') : body.index('id="closed-tickets"')]
    assert "Still open" in open_part and "Done 0" not in open_part
    assert "Done 3" in body[body.index('id="closed-tickets"') :]
    assert "Pia Persson" in body[body.index('data-testid="company-contacts"') :]
    assert "Time spent: 25 min" in body
    assert "3 of 4 resolved or closed tickets without an SLA breach (75 %)" in body


def test_contact_and_company_pages_take_few_queries(
    agent_client: Client,
    alice: User,
    queue_support: Queue,
    pia: Contact,
    nordvind: Company,
    django_assert_max_num_queries,
) -> None:
    for n in range(40):
        t = _open(alice, queue_support, f"T{n}", contact=pia, company=nordvind)
        actions.add_article(None, t, ArticleKind.CUSTOMER, "<p>hi</p>", contact=pia)
    for n in range(30):
        Contact.objects.create(name=f"Colleague {n}", email=f"c{n}@nordvind.no", company=nordvind)
    with django_assert_max_num_queries(14):
        _html(agent_client.get(f"/contacts/{pia.pk}/"))
    with django_assert_max_num_queries(18):
        _html(agent_client.get(f"/companies/{nordvind.pk}/"))


# --- Editing -----------------------------------------------------------------------------------


def _contact_post(contact: Contact, **changes: str) -> dict[str, str]:
    data = {
        "name": contact.name,
        "email": contact.email,
        "company": str(contact.company_id or ""),
        "language": "sv",
        "portal_sees_company_tickets": "on",
        "notes": "",
        "other_emails": "",
        "phones": "",
    }
    return {**data, **changes}


def test_an_agent_edits_a_contact_and_bad_input_keeps_the_form(
    agent_client: Client, pia: Contact, contact: Contact
) -> None:
    refused = agent_client.post(
        f"/contacts/{pia.pk}/",
        _contact_post(pia, name="Pia P", other_emails="carl@example.com", phones="nonsense"),
    )
    body = _html(refused)
    assert "carl@example.com already belongs to the contact Carl Customer" in body
    assert "“nonsense” is not a phone number we can read" in body
    assert 'value="Pia P"' in body  # the form keeps what was typed

    saved = agent_client.post(
        f"/contacts/{pia.pk}/",
        _contact_post(pia, other_emails="p2@nordvind.no", phones="+47 22 12 34 56"),
    )
    assert saved.status_code == 302
    assert [p.number for p in pia.phones.all()] == ["+4722123456"]
    assert [e.address for e in pia.emails.all()] == ["p2@nordvind.no"]


def test_a_company_with_a_wrong_check_digit_is_refused(
    agent_client: Client, nordvind: Company
) -> None:
    body = _html(
        agent_client.post(
            "/companies/new/",
            {"name": "Fel AB", "organisation_number": "556036-0794", "customer_number": ""},
        )
    )
    assert "The check digit of the Swedish organisation number" in body
    assert 'value="Fel AB"' in body
    body = _html(
        agent_client.post(
            "/companies/new/",
            {"name": "Dubblett AS", "organisation_number": "923 609 016", "customer_number": ""},
        )
    )
    assert "The organisation number 923609016 already belongs to Nordvind AS." in body


# --- Merge -------------------------------------------------------------------------------------


def test_merging_moves_tickets_articles_addresses_phones_and_login(
    agent_client: Client, alice: User, queue_support: Queue, pia: Contact
) -> None:
    login = User.objects.create_user("dup@x.se", "pw", full_name="Dup", role=Role.CUSTOMER)
    dup = Contact.objects.create(name="Pia (dup)", email="pia@privat.se", user=login)
    ContactEmail.objects.create(contact=dup, address="pia.old@privat.se")
    ContactPhone.objects.create(contact=dup, number="+4791234567")  # the same as pia's
    ContactPhone.objects.create(contact=dup, number="+46701234567")
    asked = _open(alice, queue_support, "Asked by the duplicate", contact=dup)
    wrote = _open(alice, queue_support, "Written in by the duplicate")
    actions.add_article(None, wrote, ArticleKind.CUSTOMER, "<p>hej</p>", contact=dup)

    confirm = _html(agent_client.get(f"/contacts/{pia.pk}/merge/", {"contact": dup.pk}))
    assert "Merge <strong>Pia (dup) &lt;pia@privat.se&gt;</strong> into" in confirm
    assert Contact.objects.filter(pk=dup.pk).exists()  # nothing happens before the POST

    done = agent_client.post(f"/contacts/{pia.pk}/merge/", {"other": dup.pk})
    assert done.status_code == 302
    assert not Contact.objects.filter(pk=dup.pk).exists()
    assert Ticket.objects.get(pk=asked.pk).contact == pia
    assert Article.objects.get(ticket=wrote, kind=ArticleKind.CUSTOMER).author_contact == pia
    assert sorted(pia.emails.values_list("address", flat=True)) == [
        "pia.old@privat.se",
        "pia.p@gmail.com",
        "pia@privat.se",
    ]
    assert sorted(pia.phones.values_list("number", flat=True)) == ["+46701234567", "+4791234567"]
    pia.refresh_from_db()
    assert pia.user == login
    for ticket in (asked, wrote):
        entry = HistoryEntry.objects.get(ticket=ticket, field="contact_merged")
        assert entry.actor == alice
        assert entry.new_value == "Pia (dup) <pia@privat.se> into Pia Persson <pia@nordvind.no>"
    page = _html(agent_client.get(f"/t/{asked.number}/"))
    assert "Contact merged" in page


def test_merging_two_contacts_with_logins_is_refused(
    agent_client: Client, alice: User, contact: Contact, pia: Contact
) -> None:
    pia.user = User.objects.create_user("pia@nordvind.no", "pw", role=Role.CUSTOMER)
    pia.save()
    confirm = _html(agent_client.get(f"/contacts/{pia.pk}/merge/", {"contact": contact.pk}))
    assert "Both contacts have a portal login" in confirm
    refused = agent_client.post(f"/contacts/{pia.pk}/merge/", {"other": contact.pk}, follow=True)
    assert "have a portal login" in _html(refused)
    assert Contact.objects.filter(pk=contact.pk).exists()
    with pytest.raises(MergeRefused):
        merge_contacts(alice, pia, contact)


# --- The ticket page's sidebar -----------------------------------------------------------------


def test_the_ticket_page_shows_the_contacts_and_companys_recent_visible_tickets(
    agent_client: Client,
    alice: User,
    bob: User,
    queue_support: Queue,
    queue_billing: Queue,
    pia: Contact,
    nordvind: Company,
) -> None:
    older = [_open(alice, queue_support, f"Pia own {n}", contact=pia) for n in range(7)]
    colleague = Contact.objects.create(name="Ola", email="ola@nordvind.no", company=nordvind)
    for n in range(3):
        _open(alice, queue_support, f"Colleague {n}", contact=colleague, company=nordvind)
    _open(bob, queue_billing, "Hidden billing one", contact=pia, company=nordvind)
    current = _open(alice, queue_support, "This one", contact=pia, company=nordvind)

    body = _html(agent_client.get(f"/t/{current.number}/"))
    side = body[body.index('id="customer-tickets"') :]
    contact_part = side[
        side.index('data-testid="contact-recent"') : side.index('data-testid="company-recent"')
    ]
    company_part = side[side.index('data-testid="company-recent"') : side.index("</section>")]
    titles = re.findall(r"#\d+ ([^<]+)</a>", contact_part)
    assert titles == [f"Pia own {n}" for n in (6, 5, 4, 3, 2)]
    # Pia's own tickets are her company's too (a new ticket takes the contact's company).
    assert re.findall(r"#\d+ ([^<]+)</a>", company_part) == [
        "Colleague 2",
        "Colleague 1",
        "Colleague 0",
        "Pia own 6",
        "Pia own 5",
    ]
    assert "Hidden billing one" not in body and "This one</a>" not in side
    assert f'href="/contacts/{pia.pk}/"' in side and f'href="/companies/{nordvind.pk}/"' in side
    assert older[0].title not in contact_part
