"""An admin builds ServIT's invoice rule in the browser, tries it on a pasted mail, dry-runs it
over the last month and switches it on; the next such mail gets the priority."""

import pytest
from playwright.sync_api import expect

from helpa.automation.models import Rule
from helpa.automation.tests.conftest import mail
from helpa.tickets.models import Priority, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_build_test_dry_run_and_switch_on_the_invoice_rule(
    open_page, live_server, admin, deliver, klarna_contact
) -> None:
    deliver(mail(subject="Faktura 1001"))
    deliver(mail(subject="Hej", body="Bara en fråga", sender="kalle@example.com"))
    page = open_page(admin)

    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name="Rules").click()
    page.get_by_role("link", name="+ New rule").click()
    page.get_by_label("Name").fill("Invoices")
    page.get_by_label("Reply from the customer").check()
    line1 = page.get_by_role("group", name="Line 1")
    line1.get_by_label("Subject").check()
    line1.get_by_label("Text", exact=True).check()
    line1.get_by_label("Values (one per line)").fill("faktura\nbetalning")
    line2 = page.get_by_role("group", name="Line 2")
    line2.get_by_label("From", exact=True).check()
    line2.get_by_label("Values (one per line)").fill("*@klarna.se")
    action1 = page.get_by_role("group", name="Action 1")
    action1.get_by_label("Action", exact=True).select_option("set_priority")
    action1.get_by_label("Value or text").fill("high")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The rule is saved.")).to_be_visible()
    rule = Rule.objects.get()
    assert not rule.is_active and rule.events == ["new", "reply"]

    # The tester, with a pasted mail; the rule is still off, so it is asked for.
    page.get_by_role("link", name="Rules").click()
    page.get_by_role("link", name="Tester").click()
    page.get_by_label("A mail (paste it with its headers)").fill(
        mail(subject="Påminnelse: faktura 4711").decode()
    )
    page.get_by_label("Include rules that are switched off").check()
    page.get_by_role("button", name="Test").click()
    expect(page.get_by_text("✓ from: *@klarna.se — matched: *@klarna.se (from)")).to_be_visible()
    expect(page.locator(".rule-report")).to_contain_text("applies")
    expect(page.locator("pre")).to_contain_text('"priority": "high"')

    # The dry run over the last 30 days, then on.
    page.goto(f"{live_server.url}/settings/rules/{rule.pk}/")
    page.get_by_role("link", name="Dry run").click()
    expect(
        page.get_by_text("Would have matched 1 ticket of 2 from the last 30 days.")
    ).to_be_visible()
    page.get_by_role("button", name="Switch the rule on").click()
    expect(page.get_by_text("“Invoices” is on.")).to_be_visible()

    ticket = deliver(mail(subject="Ny faktura 4712"))
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.HIGH
    page.get_by_role("link", name="Rules").click()
    expect(page.locator("table.tickets tbody tr td").nth(5)).to_have_text("1")  # hits
