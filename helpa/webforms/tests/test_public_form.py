"""The public form as a visitor meets it: prefill and lock, a ticket per message (exactly one),
the spam defences with their clear messages and counts, bad input, and the framing headers."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from helpa.crm.models import Company, Contact
from helpa.tickets.models import Article, ArticleKind, Attachment, Channel, HelpdeskSettings, Ticket
from helpa.webforms.models import BlockedSubmission, ContactForm, Reason, Submission

from .conftest import TOKEN, Visitor, message

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


# --- Rendering, prefill and lock ---------------------------------------------------------------


def test_the_form_shows_the_chosen_fields_with_their_labels(visitor: Visitor, contact_form):
    fields = contact_form.fields
    fields["company"]["mode"] = "required"
    fields["company"]["label_sv"] = "Företag eller förening"
    fields["phone"]["mode"] = "off"
    contact_form.save()
    page, _token = visitor.open(contact_form, "?lang=sv")
    text = _text(page)
    assert 'lang="sv"' in text
    assert "Företag eller förening" in text
    assert 'name="company"' in text and 'name="phone"' not in text
    assert "Ditt namn" in text  # the default label, translated
    english, _token = visitor.open(contact_form, "?lang=en")
    assert "Your name" in _text(english) and "Company" in _text(english)
    assert 'name="website"' in text  # the honeypot is there, for robots
    # While the subject is typed, the knowledge base suggests articles in the page's language.
    assert 'data-kb-suggest-for="id_subject"' in text and 'data-kb-lang="sv"' in text
    assert "connect-src 'self'" in page["Content-Security-Policy"]


def test_web_address_prefills_and_locks_fields(visitor: Visitor, contact_form):
    page, _token = visitor.open(
        contact_form, "?name=Ann+Berg&email=ann@example.com&customer_number=K-17&lock=name,email"
    )
    text = _text(page)
    assert 'name="name" value="Ann Berg"' in text
    assert 'name="email" value="ann@example.com"' in text
    assert 'value="K-17"' in text
    # Locked: read-only in the page. Not locked: only filled in.
    assert text.count("aria-readonly") == 2
    assert 'name="customer_number" value="K-17" maxlength="40" id="id_customer_number">' in text


def test_a_lock_the_form_does_not_allow_is_ignored(visitor: Visitor, contact_form):
    fields = contact_form.fields
    fields["name"]["lock"] = "never"
    fields["phone"]["lock"] = "always"
    contact_form.save()
    page, _token = visitor.open(contact_form, "?name=Ann&phone=%2B46+8+123&lock=name")
    text = _text(page)
    assert 'name="name" value="Ann" maxlength="200" autocomplete="name" required id="id_name">' in (
        text
    )
    assert "readonly" in text.split('name="phone"')[1].split(">")[0]


def test_a_locked_value_cannot_be_changed_by_editing_the_page(visitor: Visitor, contact_form):
    _page, token = visitor.open(contact_form, "?name=Ann+Berg&email=ann@example.com&lock=email")
    refused = visitor.send(contact_form, token, **message(email="mallory@example.com"))
    assert refused.status_code == 400
    assert "cannot be changed" in _text(refused)
    assert 'value="ann@example.com"' in _text(refused)  # the signed value is back
    assert not Ticket.objects.exists()
    # Sent as the page gave it, it goes through.
    accepted = visitor.send(contact_form, TOKEN.search(_text(refused)).group(1), **message())
    assert accepted.status_code == 302
    assert Ticket.objects.get().contact.email == "ann@example.com"


def test_hidden_fields_come_from_the_address_only(visitor: Visitor, contact_form, company):
    company.customer_number = "K-17"
    company.save()
    contact_form.fields["customer_number"]["mode"] = "hidden"
    contact_form.save()
    page, token = visitor.open(contact_form, "?customer_number=K-17")
    assert 'name="customer_number"' not in _text(page)
    response = visitor.send(contact_form, token, customer_number="K-99", **message())
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.contact.company == company
    assert ticket.company == company
    assert "Customer number: K-17" in ticket.articles.get().body_text


def test_a_bad_prefill_value_is_not_used(visitor: Visitor, contact_form):
    page, _token = visitor.open(contact_form, "?email=not-an-address&lock=email")
    assert "not-an-address" not in _text(page)
    assert "readonly" not in _text(page)


# --- A message becomes one ticket --------------------------------------------------------------


def test_a_message_becomes_a_ticket_with_the_contact_and_files(visitor: Visitor, contact_form):
    upload = SimpleUploadedFile("faktura.pdf", b"%PDF-1.4 invoice", content_type="application/pdf")
    response = visitor.fill_and_send(
        contact_form, **message(phone="+46 8 123 45 67", attachments=[upload])
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.FORM
    assert ticket.queue == contact_form.queue
    assert ticket.title == "The invoice is wrong"
    contact = ticket.contact
    assert (contact.name, contact.email) == ("Ann Berg", "ann@example.com")
    assert [p.number for p in contact.phones.all()] == ["+4681234567"]
    article = ticket.articles.get()
    assert article.kind == ArticleKind.CUSTOMER
    assert article.author_contact == contact
    assert "the amount on invoice 1234 is wrong." in article.body_text
    assert "Phone: +46 8 123 45 67" in article.body_text
    attachment = Attachment.objects.get()
    assert (attachment.article, attachment.filename) == (article, "faktura.pdf")
    assert attachment.file.read() == b"%PDF-1.4 invoice"
    assert Submission.objects.get().ticket == ticket
    thanks = visitor.client.get(response["Location"])
    assert thanks.status_code == 200
    assert f"#{ticket.number}" in _text(thanks)
    assert "X-Frame-Options" not in thanks.headers


def test_an_existing_contact_is_found_by_address_the_oldest_one(visitor: Visitor, contact_form):
    oldest = Contact.objects.create(name="Ann B.", email="Ann@Example.com")
    Contact.objects.create(name="Ann again", email="ann@example.com")
    visitor.fill_and_send(contact_form, **message(name="Someone Else"))
    ticket = Ticket.objects.get()
    assert ticket.contact == oldest
    oldest.refresh_from_db()
    assert oldest.name == "Ann B."  # a public form renames nobody


def test_a_new_contact_joins_the_company_of_its_customer_number(visitor: Visitor, contact_form):
    acme = Company.objects.create(name="Acme AB", customer_number="K-17")
    visitor.fill_and_send(contact_form, **message(customer_number="k-17"))
    assert Ticket.objects.get().contact.company == acme


def test_the_same_token_sent_twice_makes_one_ticket(visitor: Visitor, contact_form):
    _page, token = visitor.open(contact_form)
    first = visitor.send(contact_form, token, **message())
    second = visitor.send(contact_form, token, **message(subject="Changed my mind"))
    assert first.status_code == second.status_code == 302
    assert Ticket.objects.count() == 1
    assert Article.objects.count() == 1
    # Both end on the thank-you page of the one ticket.
    number = Ticket.objects.get().number
    for response in (first, second):
        assert f"#{number}" in _text(visitor.client.get(response["Location"]))


def test_form_without_subject_titles_the_ticket_from_the_message(visitor: Visitor, contact_form):
    contact_form.fields["subject"]["mode"] = "off"
    contact_form.save()
    visitor.fill_and_send(contact_form, **message(subject="ignored"))
    assert Ticket.objects.get().title == "Contact us: Hello,"


def test_a_thank_you_address_cannot_be_forged(visitor: Visitor, contact_form):
    response = visitor.client.get("/forms/contact/thanks/?r=10001")
    assert response.status_code == 200
    assert "#10001" not in _text(response)


# --- Spam defences -----------------------------------------------------------------------------


def test_honeypot_refuses_with_a_message_and_keeps_the_text(visitor: Visitor, contact_form):
    _page, token = visitor.open(contact_form)
    response = visitor.send(contact_form, token, **{**message(), "website": "http://spam.example"})
    assert response.status_code == 400
    text = _text(response)
    assert "a field meant to stay empty was filled in" in text
    assert "the amount on invoice 1234 is wrong." in text
    assert "spam.example" not in text  # the honeypot is empty again
    assert not Ticket.objects.exists()
    blocked = BlockedSubmission.objects.get()
    assert (blocked.form, blocked.reason, blocked.ip, blocked.address) == (
        contact_form,
        Reason.HONEYPOT,
        "203.0.113.7",
        "ann@example.com",
    )


def test_too_fast_asks_to_wait_and_then_accepts(visitor: Visitor, contact_form):
    contact_form.min_fill_seconds = 3
    contact_form.save()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _page, token = visitor.open(contact_form)
        clock.shift(1)
        refused = visitor.send(contact_form, token, **message())
        assert refused.status_code == 400
        assert "Please wait a moment and send again." in _text(refused)
        assert "the amount on invoice 1234 is wrong." in _text(refused)
        assert not Ticket.objects.exists()
        clock.shift(3)
        again = TOKEN.search(_text(refused)).group(1)
        assert visitor.send(contact_form, again, **message()).status_code == 302
    assert Ticket.objects.count() == 1
    assert list(BlockedSubmission.objects.values_list("reason", flat=True)) == [Reason.TOO_FAST]


def test_a_form_left_open_for_a_day_asks_to_send_again(visitor: Visitor, contact_form):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _page, token = visitor.open(contact_form, "?email=ann@example.com&lock=email")
        clock.shift(timedelta(hours=25))
        refused = visitor.send(contact_form, token, **message())
        assert refused.status_code == 400
        assert "please send again" in _text(refused)
        assert "readonly" in _text(refused)  # still locked
        fresh = TOKEN.search(_text(refused)).group(1)
        assert visitor.send(contact_form, fresh, **message()).status_code == 302
    assert Ticket.objects.count() == 1
    assert BlockedSubmission.objects.get().reason == Reason.EXPIRED


def test_a_forged_token_is_refused(visitor: Visitor, contact_form):
    response = visitor.send(contact_form, "forged:token", **message())
    assert response.status_code == 400
    assert "We could not verify this form" in _text(response)
    assert not Ticket.objects.exists()
    assert BlockedSubmission.objects.get().reason == Reason.INVALID


def test_another_forms_token_is_refused(visitor: Visitor, contact_form, queue_support):
    other = ContactForm.objects.create(name="Other", slug="other", queue=queue_support)
    _page, token = visitor.open(other)
    assert visitor.send(contact_form, token, **message()).status_code == 400
    assert not Ticket.objects.exists()


def test_too_many_from_one_ip(visitor: Visitor, contact_form):
    for n in range(5):
        response = visitor.fill_and_send(contact_form, **message(email=f"p{n}@example.com"))
        assert response.status_code == 302
    refused = visitor.fill_and_send(
        contact_form, **message(email="p6@example.com", message="My sixth message")
    )
    assert refused.status_code == 429
    text = _text(refused)
    assert "Too many messages from you just now" in text
    assert "try again in 10 minutes, or mail us at help@example.com" in text.lower()
    assert "My sixth message" in text  # nothing lost: the visitor still has it
    assert Ticket.objects.count() == 5
    assert BlockedSubmission.objects.get().reason == Reason.RATE_IP
    # Another address on another IP is not affected; ten minutes later this one may send again.
    other = Visitor(visitor.client, ip="198.51.100.1")
    assert other.fill_and_send(contact_form, **message(email="q@example.com")).status_code == 302
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert visitor.fill_and_send(contact_form, **message()).status_code == 302


def test_too_many_from_one_address(visitor: Visitor, contact_form):
    for n in range(3):
        ip = f"198.51.100.{n + 1}"
        response = Visitor(visitor.client, ip=ip).fill_and_send(contact_form, **message())
        assert response.status_code == 302
    refused = Visitor(visitor.client, ip="198.51.100.9").fill_and_send(
        contact_form, **message(email="ANN@example.com")
    )
    assert refused.status_code == 429
    assert "Too many messages from you just now" in _text(refused)
    assert Ticket.objects.count() == 3
    blocked = BlockedSubmission.objects.get()
    assert (blocked.reason, blocked.address, blocked.ip) == (
        Reason.RATE_ADDRESS,
        "ann@example.com",
        "198.51.100.9",
    )


def test_a_flood_stores_nothing_twice_and_tells_everyone(visitor: Visitor, contact_form):
    """Twenty posts: five pages, each posted four times. Five tickets, no duplicates; every
    answer is a ticket's thank-you page or a clear refusal; nothing silently dropped."""
    tokens = [visitor.open(contact_form)[1] for _ in range(8)]
    answers = []
    for n, token in enumerate(tokens):
        for _repeat in range(3):
            answers.append(visitor.send(contact_form, token, **message(email=f"f{n}@example.com")))
    assert Ticket.objects.count() == 5
    assert Submission.objects.count() == 5
    assert len(set(Submission.objects.values_list("nonce", flat=True))) == 5
    statuses = [a.status_code for a in answers]
    assert statuses.count(302) == 15  # five tickets, each confirmed three times
    assert statuses.count(429) == 9  # three pages past the limit, three posts each
    assert BlockedSubmission.objects.filter(reason=Reason.RATE_IP).count() == 9


# --- Bad input ---------------------------------------------------------------------------------


def test_an_oversize_attachment_keeps_everything_else(visitor: Visitor, contact_form):
    settings_row = HelpdeskSettings.load()
    settings_row.max_attachment_mb = 1
    settings_row.save()
    big = SimpleUploadedFile("huge.bin", b"x" * (1024 * 1024 + 1))
    response = visitor.fill_and_send(contact_form, **message(attachments=[big]))
    assert response.status_code == 400
    text = _text(response)
    assert "a file could not be taken" in text
    assert "“huge.bin” is 1.0\xa0MB; the largest file allowed is 1.0\xa0MB." in html.unescape(text)
    for typed in ("Ann Berg", "ann@example.com", "The invoice is wrong", "invoice 1234 is wrong."):
        assert typed in text
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()
    assert not BlockedSubmission.objects.exists()  # a person's mistake, not spam


SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_script_in_every_field_is_refused_or_stored_as_text(visitor: Visitor, contact_form, admin):
    fields = contact_form.fields
    fields["company"]["mode"] = "optional"
    contact_form.save()
    everything = {
        key: SCRIPT for key in ("name", "email", "phone", "company", "subject", "message")
    }
    everything["customer_number"] = "<script>alert(1)</script>"
    _page, token = visitor.open(contact_form, "?name=" + SCRIPT.replace(" ", "+"))
    assert "<script>" not in _page.content.decode()
    refused = visitor.send(contact_form, token, **everything)
    assert refused.status_code == 400
    text = _text(refused)
    assert "<script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in text
    assert not Ticket.objects.exists()
    # With a real address and phone, the rest is taken — as text.
    accepted = visitor.send(
        contact_form, token, **{**everything, "email": "ann@example.com", "phone": "+46 8 1"}
    )
    assert accepted.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.title == SCRIPT
    assert ticket.contact.name == SCRIPT
    article = ticket.articles.get()
    assert "<script" not in article.body_html and "<img" not in article.body_html
    assert "&lt;script&gt;" in article.body_html
    assert f"Company: {SCRIPT}" in article.body_text
    from django.test import Client

    agent = Client()
    agent.force_login(admin)
    page = agent.get(f"/t/{ticket.number}/")
    assert page.status_code == 200
    assert SCRIPT not in _text(page)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in _text(page)


def test_line_breaks_in_name_and_subject_are_removed(visitor: Visitor, contact_form):
    visitor.fill_and_send(
        contact_form,
        **message(name="Ann\r\nBcc: evil@example.com", subject="Hi\r\nX-Header: 1\x00"),
    )
    # NUL is refused by Django's fields; without it the message is taken.
    assert not Ticket.objects.exists()
    visitor.fill_and_send(
        contact_form,
        **message(name="Ann\r\nBcc: evil@example.com", subject="Hi\r\n\tX-Header: 1\x0b"),
    )
    ticket = Ticket.objects.get()
    assert ticket.title == "Hi X-Header: 1"
    assert ticket.contact.name == "Ann Bcc: evil@example.com"


def test_a_name_of_only_line_breaks_is_missing(visitor: Visitor, contact_form):
    response = visitor.fill_and_send(contact_form, **message(name="\r\n\r\n"))
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_an_inactive_form_keeps_the_text_and_says_where_to_write(visitor: Visitor, contact_form):
    _page, token = visitor.open(contact_form)
    contact_form.is_active = False
    contact_form.save()
    assert visitor.client.get("/forms/contact/").status_code == 404
    response = visitor.send(contact_form, token, **message())
    assert response.status_code == 410
    assert "help@example.com" in _text(response)
    assert "invoice 1234 is wrong." in _text(response)
    assert not Ticket.objects.exists()
    assert BlockedSubmission.objects.get().reason == Reason.CLOSED


def test_unknown_form_is_404(visitor: Visitor, db):
    assert visitor.client.get("/forms/nope/").status_code == 404
    assert visitor.client.post("/forms/nope/", {}).status_code == 404


# --- Framing, styles, cookies ------------------------------------------------------------------


def test_the_form_may_be_framed_by_any_site_by_default(visitor: Visitor, contact_form):
    page, _token = visitor.open(contact_form)
    assert "X-Frame-Options" not in page.headers
    assert "frame-ancestors *" in page["Content-Security-Policy"]
    assert page["Cache-Control"] == "private, no-store"
    assert not page.cookies  # nothing the form needs lives in a cookie


def test_the_form_may_be_framed_only_by_listed_sites(visitor: Visitor, contact_form):
    contact_form.allowed_origins = "https://www.example.com\nhttps://shop.example.com"
    contact_form.save()
    page, _token = visitor.open(contact_form)
    assert page["Content-Security-Policy"].endswith(
        "frame-ancestors 'self' https://www.example.com https://shop.example.com"
    )


def test_other_pages_stay_unframable(admin_client_like, contact_form):
    page = admin_client_like.get("/forms/settings/")
    assert page["X-Frame-Options"] == "DENY"


def test_custom_css_is_served_as_a_stylesheet_of_its_own(visitor: Visitor, contact_form):
    contact_form.custom_css = "body { color: #123456; }\n</style><script>alert(1)</script>"
    contact_form.save()
    page, _token = visitor.open(contact_form)
    assert "#123456" not in _text(page)
    assert "/forms/contact/style.css?v=" in _text(page)
    css = visitor.client.get("/forms/contact/style.css")
    assert css.status_code == 200
    assert css["Content-Type"] == "text/css; charset=utf-8"
    assert css["X-Content-Type-Options"] == "nosniff"
    body = css.content.decode()
    assert "--brand: #1f5fae" in body
    assert body.endswith("body { color: #123456; }\n</style><script>alert(1)</script>\n")


@pytest.fixture
def admin_client_like(admin):
    from django.test import Client

    client = Client()
    client.force_login(admin)
    return client


def test_type_and_category_choices_prefill_lock_and_reach_the_ticket(
    visitor: Visitor, contact_form
):
    from helpa.tickets.models import Category, TicketType

    invoice = TicketType.objects.create(name="Invoice")
    TicketType.objects.create(name="Retired", is_active=False)
    web = Category.objects.create(name="Web shop")
    contact_form.fields["type"]["mode"] = "required"
    contact_form.fields["category"]["mode"] = "optional"
    contact_form.save()
    page, token = visitor.open(contact_form, "?type=invoice&category=99999&lock=type")
    text = _text(page)
    assert "Retired" not in text
    assert "disabled" in text.split('name="type"')[1].split(">")[0]
    # A posted type is ignored for the locked select; the signed one counts.
    other = TicketType.objects.create(name="Other")
    response = visitor.send(
        contact_form, token, type=str(other.pk), category=str(web.pk), **message()
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.type, ticket.category) == (invoice, web)
