"""Contacts, companies, the import and privacy (GDPR) in a real browser (issue 6): an agent edits a
contact and reads the company's page, merges two contacts, an admin imports a Swedish Excel CSV,
exports a person's data and anonymises them; an agent is refused the privacy pages. Every page
is watched by the `open_page` fixture (see helpa/tickets/tests/browser/conftest.py)."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from helpa.accounts.models import User
from helpa.crm.models import Company, Contact, ContactEmail, ContactPhone, ImportJob
from helpa.privacy.models import GdprRequest
from helpa.tickets import actions
from helpa.tickets.models import HistoryEntry, Queue, Status, Ticket
from helpa.tickets.tests.browser.conftest import settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenPage = Callable[..., Page]


def _origin(page: Page) -> str:
    """The live server's address (the page was opened there)."""
    return re.match(r"https?://[^/]+", page.url).group(0)  # type: ignore[union-attr]


def _ticket(alice: User, queue: Queue, title: str, contact: Contact, **fields) -> Ticket:
    return actions.open_ticket(
        alice, queue=queue, title=title, contact=contact, company=contact.company, **fields
    )


def _closed(alice: User, queue: Queue, title: str, contact: Contact, minutes: int) -> Ticket:
    ticket = _ticket(alice, queue, title, contact)
    actions.add_note(alice, ticket, "<p>Replaced the toner.</p>", time_spent_minutes=minutes)
    ticket = actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.OPEN})
    return actions.set_status(alice, ticket, Status.CLOSED)


def test_an_agent_edits_a_contact_and_reads_the_company_page(
    open_page: OpenPage, alice: User, support: Queue, company: Company
) -> None:
    pia = Contact.objects.create(name="Pia Persson", email="pia@acme.se", company=company)
    printer = _ticket(alice, support, "Printer on floor 3 is jammed", pia)
    toner = _closed(alice, support, "Toner is empty", pia, minutes=75)

    page = open_page(alice)
    page.goto(f"{_origin(page)}/contacts/{pia.pk}/")
    expect(page.locator("h1")).to_have_text("Pia Persson")
    history = page.get_by_test_id("contact-tickets")
    expect(history).to_contain_text(printer.title)
    expect(history).to_contain_text(toner.title)

    form = page.locator("#contact-form")
    form.locator("textarea[name=other_emails]").fill("pia.persson@privat.se")
    form.locator("textarea[name=phones]").fill("070-123 45 67")  # as a Swede writes it
    form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("The contact is saved.")
    # Stored normalised (E.164), shown in the international form of that number.
    assert list(pia.phones.values_list("number", flat=True)) == ["+46701234567"]
    assert list(pia.emails.values_list("address", flat=True)) == ["pia.persson@privat.se"]
    expect(form.locator("textarea[name=phones]")).to_have_value("+46 70 123 45 67")
    expect(form.locator("textarea[name=other_emails]")).to_have_value("pia.persson@privat.se")

    # The contact list finds her by the number typed the local way, and shows it normalised.
    page.goto(f"{_origin(page)}/contacts/?q=0701234567")
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody tr")).to_contain_text("+46 70 123 45 67")

    # Her company's page: its contacts, open and closed tickets, time spent.
    page.goto(f"{_origin(page)}/contacts/{pia.pk}/")
    page.locator(".results-head").get_by_role("link", name="Acme AB").click()
    expect(page.locator("h1")).to_have_text("Acme AB")
    expect(page.get_by_test_id("company-contacts")).to_contain_text("Pia Persson")
    expect(page.get_by_test_id("company-contacts")).to_contain_text("+46 70 123 45 67")
    expect(page.get_by_test_id("open-tickets")).to_contain_text(printer.title)
    expect(page.get_by_test_id("open-tickets")).not_to_contain_text(toner.title)
    expect(page.get_by_test_id("closed-tickets")).to_contain_text(toner.title)
    expect(page.locator("#open-tickets .count")).to_have_text("1")
    expect(page.locator("#closed-tickets .count")).to_have_text("1")
    expect(page.get_by_test_id("time-spent")).to_have_text("Time spent: 1 h 15 min")


def test_an_agent_merges_two_contacts_and_the_tickets_follow(
    open_page: OpenPage, alice: User, support: Queue, company: Company
) -> None:
    pia = Contact.objects.create(name="Pia Persson", email="pia@acme.se", company=company)
    duplicate = Contact.objects.create(name="P. Persson", email="pia.persson@gmail.com")
    ContactPhone.objects.create(contact=duplicate, number="+46701234567")
    hers = _ticket(alice, support, "Invoice is wrong", pia)
    moved = [_ticket(alice, support, f"Wifi is down ({n})", duplicate) for n in (1, 2)]

    page = open_page(alice)
    page.goto(f"{_origin(page)}/contacts/{pia.pk}/")
    merge = page.locator("#merge-form")
    with settled(page), page.expect_response(re.compile(r"/tickets/choices/contacts/")):
        merge.locator(".lookup input[type=search]").fill("gmail")
    merge.locator("select[name=contact]").select_option(str(duplicate.pk))
    merge.locator("button[type=submit]").click()

    # The confirm step says what moves; nothing has changed yet.
    expect(page.locator("h1")).to_have_text("Merge contacts")
    body = page.locator("main, body").first
    expect(body).to_contain_text("Merge P. Persson <pia.persson@gmail.com> into Pia Persson")
    expect(body).to_contain_text("2 tickets move")
    expect(body).to_contain_text("+46 70 123 45 67")
    assert Contact.objects.filter(pk=duplicate.pk).exists()
    assert set(Ticket.objects.filter(contact=duplicate)) == set(moved)

    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("is merged into Pia Persson")
    expect(page).to_have_url(re.compile(rf"/contacts/{pia.pk}/$"))
    history = page.get_by_test_id("contact-tickets")
    for ticket in [hers, *moved]:
        expect(history).to_contain_text(ticket.title)

    assert not Contact.objects.filter(pk=duplicate.pk).exists()
    assert set(Ticket.objects.filter(contact=pia)) == {hers, *moved}
    assert ContactEmail.objects.filter(contact=pia, address="pia.persson@gmail.com").exists()
    assert list(pia.phones.values_list("number", flat=True)) == ["+46701234567"]
    assert HistoryEntry.objects.filter(ticket__in=moved, field="contact_merged").count() == 2


# Swedish Excel's "CSV (semikolonavgränsad)": Windows-1252 and semicolons. Row 2 creates a
# contact and a company, row 3 updates a contact Helpa has (a new phone number), row 4 has an
# organisation number with a wrong check digit.
IMPORT_CSV = "\r\n".join(
    [
        "Namn;E-post;Telefon;Företag;Organisationsnummer",
        "Åsa Öberg;asa@arligstad.se;070-111 22 33;Ärlig Städ AB;556036-0793",
        "Pia Persson;pia@acme.se;08-123 456 78;;",
        "Örjan Fel;orjan@example.se;;Fel AB;556036-0794",
        "",
    ]
)


def test_an_admin_imports_a_swedish_excel_csv(
    open_page: OpenPage, admin: User, tmp_path: Path
) -> None:
    Contact.objects.create(name="Pia Persson", email="pia@acme.se")
    path = tmp_path / "kunder.csv"
    path.write_bytes(IMPORT_CSV.encode("cp1252"))

    page = open_page(admin)
    page.goto(f"{_origin(page)}/settings/import/")
    page.set_input_files("input[type=file][name=file]", str(path))
    page.get_by_role("button", name="Upload and map columns").click()

    # The mapping, guessed from the Swedish headers; change one and see the preview follow.
    expect(page.locator("h1")).to_have_text("Import of kunder.csv")
    mapping = page.get_by_test_id("mapping")
    expect(mapping).to_contain_text("Företag")  # the header read as Windows-1252
    expect(mapping.locator("select[name=col1]")).to_have_value("email")
    expect(mapping.locator("select[name=col2]")).to_have_value("phone")
    mapping.locator("select[name=col2]").select_option("")  # ignore the phone numbers
    page.get_by_role("button", name="Update the preview").click()
    counts = page.get_by_test_id("preview-counts")
    expect(counts).to_have_text("If imported: 1 created, 0 updated, 1 unchanged, 1 failed.")

    # Map the phone numbers again: Pia's row now updates her.
    page.locator("select[name=col2]").select_option("phone")
    page.get_by_role("button", name="Update the preview").click()
    expect(counts).to_have_text("If imported: 1 created, 1 updated, 0 unchanged, 1 failed.")
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("asa@arligstad.se: will be created")
    expect(preview).to_contain_text("pia@acme.se: will be updated")
    expect(preview.locator("tr", has_text="check digit")).to_contain_text("4")
    assert not Contact.objects.filter(email="asa@arligstad.se").exists()  # nothing written yet

    page.get_by_role("button", name="Import", exact=True).click()
    progress = page.get_by_test_id("import-progress")
    expect(progress).to_contain_text("3 of 3 rows: 1 created, 1 updated, 0 unchanged, 1 failed.")
    error = page.get_by_test_id("row-errors").locator("tbody tr")
    expect(error).to_have_count(1)
    expect(error.locator("td").first).to_have_text("4")
    expect(error.locator("td").nth(1)).to_contain_text("check digit")

    job = ImportJob.objects.get()
    assert (job.state, job.created, job.updated, job.failed) == ("done", 1, 1, 1)
    asa = Contact.objects.get(email="asa@arligstad.se")
    assert asa.name == "Åsa Öberg" and asa.company.name == "Ärlig Städ AB"
    assert asa.company.organisation_number == "556036-0793"
    assert list(asa.phones.values_list("number", flat=True)) == ["+46701112233"]
    pia = Contact.objects.get(email="pia@acme.se")
    assert list(pia.phones.values_list("number", flat=True)) == ["+46812345678"]
    assert not Contact.objects.filter(email="orjan@example.se").exists()
    assert not Company.objects.filter(name="Fel AB").exists()


def test_an_admin_exports_and_anonymises_a_person(
    open_page: OpenPage, admin: User, alice: User, support: Queue, company: Company
) -> None:
    support.teams.get().members.add(admin)
    pia = Contact.objects.create(name="Pia Persson", email="pia@acme.se", company=company)
    ContactPhone.objects.create(contact=pia, number="+46701234567")
    ticket = _ticket(alice, support, "Printer on floor 3 is jammed", pia)
    other = Contact.objects.create(name="Olle Other", email="olle@acme.se", company=company)
    _ticket(alice, support, "Olle's own question", other)

    page = open_page(admin)
    page.goto(f"{_origin(page)}/settings/privacy/")
    page.fill("#gdpr-q", "pia@acme.se")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.plain-table").first).to_contain_text("Tickets")

    # Export: a confirm page, then the archive downloads; it holds her and nobody else.
    page.get_by_role("link", name="Export…").click()
    expect(page.locator("h1")).to_have_text("Export personal data")
    assert not GdprRequest.objects.exists()
    with page.expect_download() as waiting:
        page.get_by_role("button", name="Export", exact=True).click()
    download = waiting.value
    assert re.fullmatch(r"gdpr-export-\d{8}-\d{4}\.zip", download.suggested_filename)
    saved = Path(download.path())
    assert zipfile.is_zipfile(saved)
    with zipfile.ZipFile(saved) as archive:
        data = archive.read("data.json").decode()
    json.loads(data)
    assert "Pia Persson" in data and ticket.title in data and "+46701234567" in data
    assert "Olle" not in data and "olle@acme.se" not in data
    assert GdprRequest.objects.get().kind == "export"

    # Anonymise: the confirm page warns and changes nothing until confirmed.
    page.goto(f"{_origin(page)}/settings/privacy/?q=pia%40acme.se")
    page.get_by_role("link", name="Anonymise…").click()
    expect(page.locator("h1")).to_have_text("Anonymise a person")
    expect(page.get_by_role("alert")).to_contain_text("This cannot be undone.")
    assert Contact.objects.get(pk=pia.pk).name == "Pia Persson"
    page.get_by_role("button", name="Anonymise", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(
        "The person was anonymised: 1 ticket changed."
    )

    page.goto(f"{_origin(page)}/contacts/{pia.pk}/")
    expect(page.locator("body")).not_to_contain_text("Pia Persson")
    expect(page.locator("body")).not_to_contain_text("pia@acme.se")
    expect(page.locator("body")).not_to_contain_text("+46 70 123 45 67")
    expect(page.get_by_test_id("contact-tickets")).to_contain_text(ticket.title)  # kept
    pia.refresh_from_db()
    assert "Pia" not in pia.name and pia.email != "pia@acme.se"
    assert not pia.phones.exists()
    assert Contact.objects.get(pk=other.pk).name == "Olle Other"
    assert list(GdprRequest.objects.values_list("kind", flat=True).order_by("pk")) == [
        "export",
        "anonymise",
    ]


def test_an_agent_is_refused_the_privacy_pages(
    open_page: OpenPage, alice: User, company: Company
) -> None:
    pia = Contact.objects.create(name="Pia Persson", email="pia@acme.se", company=company)
    page = open_page(alice)
    for path in ["", "export/?q=pia%40acme.se", "anonymise/?q=pia%40acme.se"]:
        response = page.goto(f"{_origin(page)}/settings/privacy/{path}")
        assert response is not None and response.status == 403
        expect(page.locator("body")).not_to_contain_text("Pia Persson")
    # Nor can a hand-made POST act (sent outside the browser: the watch counts a refused fetch
    # as a page's failure).
    client = Client()
    client.force_login(alice)
    for name in ["privacy:export", "privacy:anonymise"]:
        response = client.post(reverse(name), {"q": "pia@acme.se", "confirm": "1"})
        assert response.status_code == 403
    assert Contact.objects.get(pk=pia.pk).name == "Pia Persson"
    assert not GdprRequest.objects.exists()
