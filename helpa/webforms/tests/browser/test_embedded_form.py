"""The contact form embedded in another website: a page on a second port frames it with the
snippet from the design page, prefilled and locked fields; Chromium fills in the rest inside
the frame and sends it, without any cookie reaching Helpa."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Request, Route, expect

from helpa.tickets.models import ArticleKind, Channel, Ticket
from helpa.tickets.tests.browser.conftest import DESKTOP
from helpa.webforms.models import ContactForm, default_fields
from helpa.webforms.views import embed_snippet, resize_snippet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_embedded_form_is_sent_from_another_origin(
    browser: Browser, live_server, other_site, queue_support, settings, tmp_path
):
    settings.BASE_URL = live_server.url
    fields = default_fields()
    fields["customer_number"]["mode"] = "hidden"
    fields["attachments"]["mode"] = "optional"
    form = ContactForm.objects.create(
        name="Contact us", slug="contact", queue=queue_support, fields=fields, min_fill_seconds=2
    )
    query = "?lang=sv&amp;name=Ann+Berg&amp;email=ann@example.com&amp;customer_number=K-17&amp;lock=name,email"
    snippet = embed_snippet(form).replace('/forms/contact/"', f'/forms/contact/{query}"')
    site = other_site(
        "<!doctype html><html><head><title>Acme</title></head><body>"
        f"<h1>Acme support</h1>{snippet}{resize_snippet()}</body></html>"
    )
    site_origin = "{0.scheme}://{0.netloc}".format(urlsplit(site))
    assert site_origin != live_server.url

    problems: list[str] = []
    context = browser.new_context(viewport=DESKTOP, locale="sv-SE")

    def route(route: Route, request: Request) -> None:
        parts = urlsplit(request.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin == live_server.url:
            # As in a third-party frame where the browser keeps cookies back: the form must not
            # need any.
            headers = {k: v for k, v in request.headers.items() if k.lower() != "cookie"}
            route.continue_(headers=headers)
        elif origin == site_origin:
            route.continue_()
        else:
            problems.append(f"request to another host: {request.url}")
            route.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    page.on(
        "console",
        lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None,
    )
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    try:
        page.goto(site)
        frame = page.frame_locator("iframe")
        name = frame.locator("input[name=name]")
        email = frame.locator("input[name=email]")
        expect(name).to_have_value("Ann Berg")
        expect(name).not_to_be_editable()
        expect(email).to_have_value("ann@example.com")
        expect(email).not_to_be_editable()
        expect(frame.locator("input[name=customer_number]")).to_have_count(0)  # hidden
        expect(frame.get_by_label("Ämne")).to_be_visible()  # Swedish, as the address asked
        # The host page's script grows the frame with the form.
        page.wait_for_function("document.querySelector('iframe').style.height !== ''")
        inner = next(f for f in page.frames if f.url.startswith(live_server.url))
        inner.wait_for_function("document.documentElement.scrollHeight <= window.innerHeight")

        frame.get_by_label("Ämne").fill("Fakturan stämmer inte")
        frame.get_by_label("Ditt meddelande").fill("Hej!\nBeloppet på faktura 1234 är fel.")
        upload = tmp_path / "faktura.txt"
        upload.write_text("faktura 1234")
        frame.locator("input[type=file]").set_input_files(str(upload))
        page.wait_for_timeout(2100)  # a person takes longer than the form's minimum
        frame.locator("button[type=submit]").click()
        expect(frame.get_by_test_id("thanks")).to_be_visible()
        ticket = Ticket.objects.get()
        expect(frame.get_by_test_id("ticket-number")).to_have_text(f"#{ticket.number}")
    finally:
        cookies = context.cookies(live_server.url)
        context.close()
    assert not problems, "\n".join(problems)
    assert not cookies, cookies

    assert ticket.channel == Channel.FORM
    assert ticket.title == "Fakturan stämmer inte"
    assert (ticket.contact.name, ticket.contact.email) == ("Ann Berg", "ann@example.com")
    article = ticket.articles.get()
    assert article.kind == ArticleKind.CUSTOMER
    assert "Beloppet på faktura 1234 är fel." in article.body_text
    assert "K-17" in article.body_text
    assert [a.filename for a in article.attachments.all()] == ["faktura.txt"]


def test_a_file_over_the_limit_is_caught_before_sending(
    browser: Browser, live_server, queue_support, tmp_path
):
    from helpa.tickets.models import HelpdeskSettings

    limits = HelpdeskSettings.load()
    limits.max_attachment_mb = 1
    limits.save()
    fields = default_fields()
    fields["attachments"]["mode"] = "optional"
    ContactForm.objects.create(
        name="Contact us", slug="contact", queue=queue_support, fields=fields, min_fill_seconds=0
    )
    big = tmp_path / "huge.bin"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    posts: list[str] = []
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and "/forms/" in r.url else None,
    )
    try:
        page.goto(f"{live_server.url}/forms/contact/")
        page.get_by_label("Your name").fill("Ann Berg")
        page.get_by_label("Your e-mail address").fill("ann@example.com")
        page.get_by_label("Subject").fill("Big file")
        page.get_by_label("Your message").fill("See the attached file.")
        page.locator("input[type=file]").set_input_files(str(big))
        expect(page.locator(".file-errors")).to_contain_text("huge.bin")
        page.locator("button[type=submit]").click()
        expect(page.get_by_label("Your message")).to_have_value("See the attached file.")
        assert not posts
        # A smaller file goes through.
        small = tmp_path / "small.txt"
        small.write_text("ok")
        page.locator("input[type=file]").set_input_files(str(small))
        expect(page.locator(".file-errors")).to_be_hidden()
        page.locator("button[type=submit]").click()
        expect(page.get_by_test_id("thanks")).to_be_visible()
    finally:
        context.close()
    assert Ticket.objects.get().articles.get().attachments.get().filename == "small.txt"
