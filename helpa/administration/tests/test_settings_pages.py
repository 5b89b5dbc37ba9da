"""Helpa's own settings pages: only admins, and what they save is what the desk then does."""

from __future__ import annotations

from django.test import Client

from helpa.accounts.models import Role, Team, User
from helpa.tickets import actions
from helpa.tickets.models import HelpdeskSettings, Queue, TicketType


def test_agents_and_customers_cannot_open_settings(
    alice_client: Client, carl_client: Client
) -> None:
    for url in (
        "/settings/",
        "/settings/queues/",
        "/settings/agents/new/",
        "/settings/ticket-fields/",
    ):
        assert alice_client.get(url).status_code == 403
        assert carl_client.get(url).status_code == 403


def test_admin_sets_up_a_queue_team_and_agent_who_can_then_work(ada_client: Client) -> None:
    ada_client.post(
        "/settings/queues/new/", {"name": "Returns", "slug": "returns", "is_active": "on"}
    )
    queue = Queue.objects.get(slug="returns")
    ada_client.post(
        "/settings/agents/new/",
        {
            "full_name": "Nils Nyberg",
            "email": "Nils@Example.com",
            "role": Role.AGENT,
            "language": "sv",
            "is_active": "on",
            "password": "a long enough secret",
        },
    )
    nils = User.objects.get(email="nils@example.com")
    ada_client.post("/settings/teams/new/", {"name": "Returns team", "members": [nils.pk]})
    team = Team.objects.get(name="Returns team")
    ada_client.post(
        f"/settings/queues/{queue.pk}/",
        {"name": "Returns", "slug": "returns", "teams": [team.pk], "is_active": "on"},
    )

    nils_client = Client()
    assert nils_client.login(username="nils@example.com", password="a long enough secret")
    page = nils_client.get("/tickets/new/")
    assert [q.name for q in page.context["form"].fields["queue"].queryset] == ["Returns"]
    assert "Nils Nyberg" in ada_client.get("/settings/agents/").content.decode()


def test_ticket_type_instructions_show_on_its_tickets(
    ada_client: Client, alice: User, alice_client: Client, support: Queue
) -> None:
    ada_client.post(
        "/settings/types/new/",
        {"name": "Fault", "instructions": "Ask for a screenshot first.", "is_active": "on"},
    )
    kind = TicketType.objects.get(name="Fault")
    ticket = actions.open_ticket(alice, queue=support, title="Broken", type=kind)
    assert (
        "Ask for a screenshot first." in alice_client.get(f"/t/{ticket.number}/").content.decode()
    )


def test_editor_mode_attachment_limit_and_field_rules(ada_client: Client) -> None:
    fields = {f"field_{name}": "optional" for name in HelpdeskSettings.OPTIONAL_FIELDS}
    refused = ada_client.post(
        "/settings/ticket-fields/", {"editor_mode": "plain", "max_attachment_mb": 0, **fields}
    )
    assert refused.status_code == 400 and "Choose between 1 and 100 MB." in refused.content.decode()
    assert HelpdeskSettings.load().editor_mode == "html"

    fields["field_category"] = "required"
    ada_client.post(
        "/settings/ticket-fields/", {"editor_mode": "plain", "max_attachment_mb": 12, **fields}
    )
    settings = HelpdeskSettings.load()
    assert (settings.editor_mode, settings.max_attachment_mb) == ("plain", 12)
    assert settings.rule_for("category") == "required"


def test_plain_text_mode_stores_text_as_safe_paragraphs(
    alice_client: Client, alice: User, support: Queue
) -> None:
    settings = HelpdeskSettings.load()
    settings.editor_mode = "plain"
    settings.save()
    ticket = actions.update_ticket(
        alice, actions.open_ticket(alice, queue=support, title="Plain"), {"owner": alice}
    )
    page = alice_client.get(f"/t/{ticket.number}/").content.decode()
    assert 'class="editable"' not in page  # no HTML editor in plain mode
    alice_client.post(
        f"/t/{ticket.number}/post/", {"kind": "reply", "body": "Hello <b>there</b>\n\nSecond line"}
    )
    article = ticket.articles.get()
    assert article.body_html == "<p>Hello &lt;b&gt;there&lt;/b&gt;</p><p>Second line</p>"
