"""The customer portal: signing in, seeing one's own tickets and nobody else's, writing, closing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpa.accounts.models import Role, User
from helpa.crm.models import Company, Contact
from helpa.lib import events
from helpa.portal import links
from helpa.portal.models import LoginLink, PortalSettings
from helpa.tickets import actions
from helpa.tickets.models import Article, ArticleKind, Attachment, Channel, Queue, Status, Ticket


@pytest.fixture
def sent_links() -> list[dict]:
    """The sign-in links the portal asks to be mailed (the mail app's subscriber sends them)."""
    captured: list[dict] = []

    def capture(**payload: object) -> None:
        captured.append(payload)

    events.subscribe("portal.sign_in_link", when="inside")(capture)
    yield captured
    events._subscribers["portal.sign_in_link"].remove((capture, "inside"))


def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def carl_ticket(queue: Queue, contact: Contact, alice: User, title: str = "Printer") -> Ticket:
    ticket = actions.open_ticket(alice, queue=queue, title=title, contact=contact, owner=alice)
    actions.add_article(None, ticket, ArticleKind.CUSTOMER, "<p>It jams</p>", contact=contact)
    actions.add_reply(alice, ticket, "<p>Try turning it off and on</p>")
    actions.add_note(alice, ticket, "<p>SECRET internal note</p>")
    actions.add_discussion_post(alice, ticket, "<p>SECRET discussion</p>")
    return ticket


# --- Signing in ---------------------------------------------------------------------------------


def test_a_known_contact_gets_a_one_time_login_link(
    client: Client, queue_support: Queue, company: Company, sent_links: list[dict]
) -> None:
    contact = Contact.objects.create(name="Dora Kund", email="dora@kund.se", company=company)
    response = client.post(reverse("portal:login_link_request"), {"email": "Dora@Kund.se"})
    assert response.status_code == 200
    assert "a link is on its way" in response.content.decode()
    assert len(sent_links) == 1
    contact.refresh_from_db()
    assert contact.user is not None and contact.user.role == Role.CUSTOMER
    url = sent_links[0]["url"]

    # A mail scanner's GET neither uses nor spends the link.
    assert client.get(url).status_code == 200
    assert "_auth_user_id" not in client.session
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("portal:tickets")
    assert int(client.session["_auth_user_id"]) == contact.user.pk

    # Once only.
    other = Client()
    assert other.post(url).status_code == 404
    assert "_auth_user_id" not in other.session


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    client: Client, customer: User, alice: User, sent_links: list[dict]
) -> None:
    unknown = client.post(reverse("portal:login_link_request"), {"email": "nobody@x.se"})
    agent = client.post(reverse("portal:login_link_request"), {"email": alice.email})
    known = client.post(reverse("portal:login_link_request"), {"email": customer.email})

    def main(response) -> str:  # the page without the header's per-request CSRF token
        return response.content.decode().split("<main", 1)[1]

    for response, address in ((unknown, "nobody@x.se"), (agent, alice.email)):
        assert main(response) == main(known).replace(customer.email, address)
    assert [p["user"] for p in sent_links] == [customer]  # agents sign in with their password
    assert not User.objects.filter(email="nobody@x.se").exists()


def test_login_links_expire_and_are_rate_limited(
    client: Client, customer: User, sent_links: list[dict]
) -> None:
    for _ in range(links.LOGIN_LINKS_PER_HOUR + 3):
        client.post(reverse("portal:login_link_request"), {"email": customer.email})
    assert len(sent_links) == links.LOGIN_LINKS_PER_HOUR
    LoginLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(sent_links[-1]["url"])
    assert response.status_code == 404
    assert "_auth_user_id" not in client.session


def test_a_login_link_is_stored_hashed(customer: User) -> None:
    raw = links.issue_login_link(customer, LoginLink.Purpose.LOGIN)
    assert raw and len(raw) >= 40
    stored = LoginLink.objects.get(user=customer)
    assert raw not in stored.token_hash
    assert links.use_login_link(raw, LoginLink.Purpose.VERIFY) is None  # wrong purpose
    assert links.use_login_link(raw, LoginLink.Purpose.LOGIN) == customer
    assert links.use_login_link(raw, LoginLink.Purpose.LOGIN) is None


def test_registration_is_off_by_default(client: Client, db: None) -> None:
    assert client.get(reverse("portal:register")).status_code == 404


def test_a_registered_address_sees_nothing_until_verified(
    client: Client, queue_support: Queue, alice: User, sent_links: list[dict]
) -> None:
    PortalSettings.objects.update_or_create(pk=1, defaults={"self_registration": True})
    # Mail made a contact for this address earlier; its tickets must wait for verification.
    contact = Contact.objects.create(name="Eva", email="eva@kund.se")
    ticket = carl_ticket(queue_support, contact, alice, "Eva's question")
    response = client.post(
        reverse("portal:register"),
        {"name": "Eva\r\nBcc: x@evil", "email": "eva@kund.se", "password": "a long passphrase 9"},
    )
    assert response.status_code == 200
    user = User.objects.get(email="eva@kund.se")
    assert user.full_name == "Eva Bcc: x@evil"  # one line
    assert not user.is_active
    contact.refresh_from_db()
    assert contact.user is None
    # The password does not open anything before the address is proven.
    assert not client.login(username="eva@kund.se", password="a long passphrase 9")
    assert client.get(reverse("portal:ticket", args=[ticket.number])).status_code == 302

    assert [p["purpose"] for p in sent_links] == ["verify"]
    client.post(sent_links[0]["url"])
    contact.refresh_from_db()
    assert contact.user == user
    page = client.get(reverse("portal:ticket", args=[ticket.number]))
    assert page.status_code == 200 and "Eva&#x27;s question" in page.content.decode()


def test_registering_an_existing_address_sends_a_login_link_and_says_the_same(
    client: Client, customer: User, sent_links: list[dict]
) -> None:
    PortalSettings.objects.update_or_create(pk=1, defaults={"self_registration": True})
    response = client.post(
        reverse("portal:register"),
        {"name": "Mallory", "email": customer.email, "password": "a long passphrase 9"},
    )
    assert response.status_code == 200 and "a link is on its way" in response.content.decode()
    customer.refresh_from_db()
    assert customer.full_name != "Mallory"
    assert [(p["user"], p["purpose"]) for p in sent_links] == [(customer, "login")]


# --- What a customer sees ----------------------------------------------------------------------


def test_the_customer_sees_their_tickets_and_the_public_thread_only(
    carl_client: Client, contact: Contact, queue_support: Queue, alice: User
) -> None:
    ticket = carl_ticket(queue_support, contact, alice)
    listing = carl_client.get(reverse("portal:tickets")).content.decode()
    assert "Printer" in listing
    page = carl_client.get(reverse("portal:ticket", args=[ticket.number]))
    text = page.content.decode()
    assert "It jams" in text and "Try turning it off and on" in text
    assert "SECRET" not in text
    assert page["X-Robots-Tag"].startswith("noindex")
    assert page["Referrer-Policy"] == "same-origin"


def test_other_contacts_tickets_are_not_found(
    carl_client: Client, contact: Contact, queue_support: Queue, alice: User, company: Company
) -> None:
    colleague = Contact.objects.create(name="Cilla", email="cilla@acme.se", company=company)
    stranger = Contact.objects.create(name="Sten", email="sten@other.se")
    theirs = carl_ticket(queue_support, colleague, alice, "Colleague's")
    strangers = carl_ticket(queue_support, stranger, alice, "Stranger's")
    draft = actions.open_ticket(alice, queue=queue_support, title="Draft", contact=contact)
    draft.is_draft = True
    draft.save()
    attachment_of_theirs = Attachment.objects.filter(ticket=theirs).first()
    for number in (theirs.number, strangers.number, draft.number, 999999):
        assert carl_client.get(reverse("portal:ticket", args=[number])).status_code == 404
        assert carl_client.post(reverse("portal:close", args=[number])).status_code == 404
        assert carl_client.post(reverse("portal:reopen", args=[number])).status_code == 404
        assert (
            carl_client.post(reverse("portal:ticket", args=[number]), {"body": "x"}).status_code
            == 404
        )
    assert attachment_of_theirs is None or (
        carl_client.get(
            reverse("portal:attachment", args=[theirs.number, attachment_of_theirs.pk])
        ).status_code
        == 404
    )
    assert not Article.objects.filter(ticket__in=[theirs, strangers], body_text="x").exists()
    listing = carl_client.get(reverse("portal:tickets")).content.decode()
    assert "Colleague" not in listing and "Stranger" not in listing


def test_a_company_that_shares_shows_colleagues_tickets(
    carl_client: Client, contact: Contact, queue_support: Queue, alice: User, company: Company
) -> None:
    colleague = Contact.objects.create(name="Cilla", email="cilla@acme.se", company=company)
    theirs = carl_ticket(queue_support, colleague, alice, "Colleague's")
    assert "company-tab" not in carl_client.get(reverse("portal:tickets")).content.decode()
    company.portal_shares_tickets = True
    company.save()
    mine_only = carl_client.get(reverse("portal:tickets")).content.decode()
    assert "company-tab" in mine_only and "Colleague" not in mine_only
    everyone = carl_client.get(reverse("portal:tickets") + "?scope=company").content.decode()
    assert "Colleague" in everyone
    assert carl_client.get(reverse("portal:ticket", args=[theirs.number])).status_code == 200


def test_a_contact_kept_out_of_the_company_tickets_sees_only_their_own(
    carl_client: Client, contact: Contact, queue_support: Queue, alice: User, company: Company
) -> None:
    colleague = Contact.objects.create(name="Cilla", email="cilla@acme.se", company=company)
    theirs = carl_ticket(queue_support, colleague, alice, "Colleague's")
    company.portal_shares_tickets = True
    company.save()
    contact.portal_sees_company_tickets = False  # the company shares, but not with Carl
    contact.save()
    listing = carl_client.get(reverse("portal:tickets") + "?scope=company").content.decode()
    assert "company-tab" not in listing and "Colleague" not in listing
    assert carl_client.get(reverse("portal:ticket", args=[theirs.number])).status_code == 404


def test_a_copied_contact_sees_the_ticket(
    client: Client, queue_support: Queue, alice: User, contact: Contact
) -> None:
    from helpa.mail.models import Participant

    dora_user = User.objects.create_user("dora@kund.se", "pw", full_name="Dora", role="customer")
    dora = Contact.objects.create(name="Dora", email="dora@kund.se", user=dora_user)
    ticket = carl_ticket(queue_support, contact, alice)
    client.force_login(dora_user)
    assert client.get(reverse("portal:ticket", args=[ticket.number])).status_code == 404
    Participant.objects.create(ticket=ticket, address="dora@kund.se", contact=dora)
    assert client.get(reverse("portal:ticket", args=[ticket.number])).status_code == 200
    assert "Printer" in client.get(reverse("portal:tickets")).content.decode()


def test_agents_and_anonymous_visitors_do_not_use_the_portal(
    client: Client, agent_client: Client, ticket: Ticket
) -> None:
    url = reverse("portal:ticket", args=[ticket.number])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and reverse("portal:login") in anonymous["Location"]
    assert agent_client.get(url)["Location"] == reverse("tickets:overview")
    # A customer never reaches the agent workspace.
    carl = Client()
    carl.force_login(User.objects.create_user("x@y.se", "pw", full_name="X", role="customer"))
    assert carl.get(reverse("tickets:detail", args=[ticket.number])).status_code == 403
    assert carl.get(url).status_code == 403  # a login without a contact


# --- Writing -----------------------------------------------------------------------------------


def test_a_new_request_with_an_attachment(
    carl_client: Client, contact: Contact, queue_support: Queue
) -> None:
    response = carl_client.post(
        reverse("portal:new"),
        {
            "title": "Invoice\r\nBcc: evil@x.se",
            "body": "Where is <script>alert(1)</script> my invoice?",
            "attachments": [SimpleUploadedFile("scan.pdf", b"%PDF-1.4 x", "application/pdf")],
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get(contact=contact)
    assert ticket.title == "Invoice Bcc: evil@x.se"
    assert ticket.channel == Channel.PORTAL and ticket.queue == queue_support
    article = ticket.articles.get()
    assert article.kind == ArticleKind.CUSTOMER and article.author_contact == contact
    assert "<script" not in article.body_html and "&lt;script&gt;" in article.body_html
    assert article.attachments.get().filename == "scan.pdf"
    page = carl_client.get(response["Location"]).content.decode()
    assert "scan.pdf" in page
    download = carl_client.get(
        reverse("portal:attachment", args=[ticket.number, article.attachments.get().pk])
    )
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 x"


def test_an_oversize_attachment_keeps_the_text(
    carl_client: Client, contact: Contact, queue_support: Queue
) -> None:
    from helpa.tickets.models import HelpdeskSettings

    HelpdeskSettings.objects.update_or_create(pk=1, defaults={"max_attachment_mb": 1})
    big = SimpleUploadedFile("big.bin", b"x" * (1024 * 1024 + 1), "application/octet-stream")
    response = carl_client.post(
        reverse("portal:new"),
        {"title": "Broken screen", "body": "Photos attached", "attachments": [big]},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "big.bin" in text and "largest file allowed" in text
    assert 'value="Broken screen"' in text and "Photos attached" in text
    assert not Ticket.objects.filter(contact=contact).exists()


def test_the_admin_chooses_the_fields_of_a_new_request(
    carl_client: Client, contact: Contact, queue_support: Queue
) -> None:
    from helpa.tickets.models import Category

    printers = Category.objects.create(name="Printers")
    assert 'name="category"' not in carl_client.get(reverse("portal:new")).content.decode()
    PortalSettings.objects.update_or_create(pk=1, defaults={"new_ticket_fields": ["category"]})
    assert 'name="category"' in carl_client.get(reverse("portal:new")).content.decode()
    carl_client.post(
        reverse("portal:new"), {"title": "Jam", "body": "x", "category": str(printers.pk)}
    )
    assert Ticket.objects.get(contact=contact).category == printers


def test_a_message_reopens_a_ticket_that_waits_and_is_refused_when_closed(
    carl_client: Client, contact: Contact, queue_support: Queue, alice: User
) -> None:
    ticket = carl_ticket(queue_support, contact, alice)
    actions.set_status(alice, ticket, Status.WAITING)
    url = reverse("portal:ticket", args=[ticket.number])
    assert carl_client.post(url, {"body": "Here is the serial"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.articles.filter(kind=ArticleKind.CUSTOMER, body_text__contains="serial").exists()

    assert carl_client.post(reverse("portal:close", args=[ticket.number])).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    refused = carl_client.post(url, {"body": "One more thing"})
    assert refused.status_code == 400 and "One more thing" in refused.content.decode()
    assert carl_client.post(reverse("portal:reopen", args=[ticket.number])).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_a_customer_may_withdraw_a_request_nobody_took(
    carl_client: Client, contact: Contact, queue_support: Queue
) -> None:
    carl_client.post(reverse("portal:new"), {"title": "Never mind", "body": "x"})
    ticket = Ticket.objects.get(contact=contact)
    assert ticket.owner is None and ticket.status == Status.NEW
    carl_client.post(reverse("portal:close", args=[ticket.number]))
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_a_long_closed_ticket_cannot_be_reopened(
    carl_client: Client, contact: Contact, queue_support: Queue, alice: User
) -> None:
    ticket = carl_ticket(queue_support, contact, alice)
    actions.close_ticket(alice, ticket)
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - timedelta(days=15))
    page = carl_client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert 'data-testid="reopen"' not in page
    carl_client.post(reverse("portal:reopen", args=[ticket.number]))
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_the_ticket_list_takes_a_fixed_number_of_queries(
    carl_client: Client,
    contact: Contact,
    queue_support: Queue,
    alice: User,
    django_assert_max_num_queries,
) -> None:
    for n in range(30):
        actions.open_ticket(alice, queue=queue_support, title=f"T{n}", contact=contact)
    with django_assert_max_num_queries(8):
        response = carl_client.get(reverse("portal:tickets"))
    assert len(re.findall(r'class="title"', response.content.decode())) == 25


def test_a_double_click_stores_the_request_once(
    carl_client: Client, contact: Contact, queue_support: Queue
) -> None:
    form = carl_client.get(reverse("portal:new")).content.decode()
    once = re.search(r'name="once" value="([^"]+)"', form).group(1)
    post = {"title": "Twice?", "body": "Once.", "once": once}
    first = carl_client.post(reverse("portal:new"), post)
    second = carl_client.post(reverse("portal:new"), post)
    assert first["Location"] == second["Location"]
    ticket = Ticket.objects.get(contact=contact)
    assert ticket.articles.count() == 1

    page = carl_client.get(first["Location"]).content.decode()
    once = re.search(r'name="once" value="([^"]+)"', page).group(1)
    for _ in range(2):
        carl_client.post(first["Location"], {"body": "More", "once": once})
    assert ticket.articles.filter(body_text__contains="More").count() == 1
    # Another contact cannot use a key they saw (keys belong to who posted them).
    other = User.objects.create_user("o@x.se", "pw", full_name="O", role="customer")
    Contact.objects.create(name="O", email="o@x.se", user=other)
    client = Client()
    client.force_login(other)
    client.post(reverse("portal:new"), {"title": "Mine", "body": "x", "once": once})
    assert Ticket.objects.filter(title="Mine").exists()


def test_script_in_a_title_is_shown_as_text(
    carl_client: Client, contact: Contact, queue_support: Queue
) -> None:
    carl_client.post(reverse("portal:new"), {"title": "<script>alert(1)</script>", "body": "x"})
    ticket = Ticket.objects.get(contact=contact)
    for url in (reverse("portal:tickets"), reverse("portal:ticket", args=[ticket.number])):
        page = carl_client.get(url).content.decode()
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_the_brand_look_and_the_settings_page(
    client: Client, admin: User, agent_client: Client, db: None
) -> None:
    admin_client = Client()
    admin_client.force_login(admin)
    assert agent_client.get(reverse("portal:settings")).status_code == 403
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 40
    refused = admin_client.post(
        reverse("portal:settings"),
        {
            "site_name": "Acme Support",
            "primary_colour": "#123456",
            "accent_colour": "#abcdef",
            "reopen_days": "7",
            "link_valid_days": "30",
            "logo": SimpleUploadedFile("logo.svg", b"<svg onload=alert(1)>", "image/svg+xml"),
        },
    )
    assert refused.status_code == 200 and "PNG, JPEG, GIF or WebP" in refused.content.decode()
    assert 'value="Acme Support"' in refused.content.decode()  # the rest is kept
    saved = admin_client.post(
        reverse("portal:settings"),
        {
            "site_name": "Acme Support",
            "primary_colour": "#123456",
            "accent_colour": "#abcdef",
            "reopen_days": "7",
            "link_valid_days": "30",
            "logo": SimpleUploadedFile("logo.png", png, "image/png"),
        },
    )
    assert saved.status_code == 302
    home = client.get(reverse("portal:home")).content.decode()
    assert "Acme Support" in home and "--brand: #123456" in home
    logo = client.get(reverse("portal:logo"))
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    bad_colour = admin_client.post(
        reverse("portal:settings"),
        {
            "site_name": "X",
            "primary_colour": "red;}</style>",
            "accent_colour": "#abcdef",
            "reopen_days": "7",
            "link_valid_days": "30",
        },
    )
    assert bad_colour.status_code == 200
    assert PortalSettings.current().primary_colour == "#123456"


def test_old_keys_are_forgotten(customer: User) -> None:
    from helpa.portal.models import FormSubmission
    from helpa.portal.tasks import forget_old_keys

    links.issue_login_link(customer, LoginLink.Purpose.LOGIN)
    FormSubmission.objects.create(key="k" * 64, result_url="/portal/")
    assert forget_old_keys() == 0
    assert forget_old_keys(timezone.now() + timedelta(days=2)) == 2
    assert not LoginLink.objects.exists() and not FormSubmission.objects.exists()


def test_a_flood_of_posts_is_refused_with_the_text_kept(
    carl_client: Client, contact: Contact, queue_support: Queue
) -> None:
    from helpa.portal.views import FLOOD_MESSAGES

    for n in range(FLOOD_MESSAGES):
        assert (
            carl_client.post(reverse("portal:new"), {"title": f"T{n}", "body": "x"}).status_code
            == 302
        )
    refused = carl_client.post(reverse("portal:new"), {"title": "One too many", "body": "kept"})
    assert refused.status_code == 200
    text = refused.content.decode()
    assert "Please wait a little" in text and 'value="One too many"' in text and "kept" in text
    assert Ticket.objects.filter(contact=contact).count() == FLOOD_MESSAGES
    ticket = Ticket.objects.filter(contact=contact).first()
    refused = carl_client.post(reverse("portal:ticket", args=[ticket.number]), {"body": "more"})
    assert refused.status_code == 400 and "Please wait a little" in refused.content.decode()


def test_a_forged_host_never_makes_the_sign_in_link(
    client: Client, customer: User, sent_links: list[dict], settings
) -> None:
    settings.ALLOWED_HOSTS = ["*"]  # even where the host check is off
    client.post(
        reverse("portal:login_link_request"), {"email": customer.email}, HTTP_HOST="evil.example"
    )
    assert sent_links[0]["url"].startswith(settings.BASE_URL + "/portal/login/link/")
