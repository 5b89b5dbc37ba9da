"""Helpa's own settings pages: only admins get in, and what they save is what the desk then does.

Personas from helpa/conftest.py: `admin` (Ada), `alice` (agent in team_support, which works
queue_support), `customer` (Carl).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from helpa.accounts.models import Role, Team, User
from helpa.tickets import actions
from helpa.tickets.models import Category, HelpdeskSettings, Queue, Ticket, TicketType

SETTINGS_URLS = [
    "/settings/",
    "/settings/queues/",
    "/settings/queues/new/",
    "/settings/teams/",
    "/settings/agents/",
    "/settings/agents/new/",
    "/settings/types/new/",
    "/settings/categories/",
    "/settings/ticket-fields/",
]


def _login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin: User) -> Client:
    """Ada, the admin (replaces pytest-django's fixture of the same name)."""
    return _login(admin)


@pytest.fixture
def customer_client(customer: User) -> Client:
    return _login(customer)


def _html(response) -> str:
    return response.content.decode()


def _ticket_fields_post(**overrides: Any) -> dict[str, Any]:
    """The "Ticket fields and editor" form as the browser posts it, unchanged."""
    data: dict[str, Any] = {"editor_mode": "html", "max_attachment_mb": 5}
    data.update({f"field_{name}": "optional" for name in HelpdeskSettings.OPTIONAL_FIELDS})
    data.update(overrides)
    return data


# --- Who gets in -------------------------------------------------------------------------------


def test_agents_and_customers_are_refused_every_settings_page(
    agent_client: Client, customer_client: Client, queue_support: Queue
) -> None:
    for client in (agent_client, customer_client):
        for url in [*SETTINGS_URLS, f"/settings/queues/{queue_support.pk}/"]:
            response = client.get(url)
            assert response.status_code == 403, url
            assert "You do not have access to this page." in _html(response)
        # A forged post changes nothing either.
        assert client.post("/settings/queues/new/", {"name": "X", "slug": "x"}).status_code == 403
        assert (
            client.post(
                "/settings/ticket-fields/", _ticket_fields_post(max_attachment_mb=50)
            ).status_code
            == 403
        )
        assert (
            client.post(
                "/settings/agents/new/",
                {
                    "full_name": "Mallory",
                    "email": "mallory@example.com",
                    "role": Role.ADMIN,
                    "is_active": "on",
                    "password": "a long enough secret",
                },
            ).status_code
            == 403
        )
    assert list(Queue.objects.values_list("slug", flat=True)) == ["support"]
    assert HelpdeskSettings.load().max_attachment_mb == 5
    assert not User.objects.filter(email="mallory@example.com").exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client) -> None:
    for url in SETTINGS_URLS:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/login/?next=" + url


def test_only_admins_see_the_settings_link(agent_client: Client, admin_client: Client) -> None:
    assert 'href="/settings/"' in _html(admin_client.get("/tickets/"))
    assert 'href="/settings/"' not in _html(agent_client.get("/tickets/"))


def test_unknown_section_is_not_found(admin_client: Client) -> None:
    assert admin_client.get("/settings/nonsense/").status_code == 404
    assert admin_client.get("/settings/queues/999999/").status_code == 404


def test_the_settings_start_page_leads_to_the_queues(admin_client: Client) -> None:
    response = admin_client.get("/settings/", follow=True)
    assert response.redirect_chain == [("/settings/queues/", 302)]
    assert "<h1>Queues</h1>" in _html(response)


# --- Setting up the desk ------------------------------------------------------------------------


def test_admin_sets_up_a_queue_team_and_agent_who_can_then_log_in_and_work(
    admin_client: Client,
) -> None:
    created = admin_client.post(
        "/settings/queues/new/", {"name": "Returns", "slug": "returns", "is_active": "on"}
    )
    assert created.status_code == 302 and created["Location"] == "/settings/queues/"
    queue = Queue.objects.get(slug="returns")
    assert "Returns" in _html(admin_client.get("/settings/queues/"))

    admin_client.post(
        "/settings/agents/new/",
        {
            "full_name": "Nils Nyberg",
            "email": "  Nils@Example.com ",
            "role": Role.AGENT,
            "language": "sv",
            "is_active": "on",
            "password": "a long enough secret",
        },
    )
    nils = User.objects.get(email="nils@example.com")
    assert (nils.role, nils.language, nils.is_agent, nils.is_admin) == (
        Role.AGENT,
        "sv",
        True,
        False,
    )
    assert "Nils Nyberg" in _html(admin_client.get("/settings/agents/"))

    admin_client.post("/settings/teams/new/", {"name": "Returns team", "members": [nils.pk]})
    team = Team.objects.get(name="Returns team")
    assert list(team.members.all()) == [nils]
    admin_client.post(
        f"/settings/queues/{queue.pk}/",
        {"name": "Returns", "slug": "returns", "teams": [team.pk], "is_active": "on"},
    )
    assert list(queue.teams.all()) == [team]

    # Nils logs in with the password the admin gave him, in the language the admin chose.
    nils_client = Client()
    login = nils_client.post(
        "/login/", {"username": "nils@example.com", "password": "a long enough secret"}
    )
    assert login.status_code == 302
    overview = nils_client.get("/tickets/")
    assert overview.status_code == 200 and '<html lang="sv">' in _html(overview)
    new_page = nils_client.get("/tickets/new/")
    assert [q.name for q in new_page.context["form"].fields["queue"].queryset] == ["Returns"]
    nils_client.post(
        "/tickets/new/",
        {"title": "Parcel came back", "queue": queue.pk, "status": "new", "priority": 2},
    )
    assert Ticket.objects.get().queue == queue


def test_a_duplicate_queue_is_refused_with_a_message(
    admin_client: Client, queue_support: Queue
) -> None:
    response = admin_client.post(
        "/settings/queues/new/", {"name": "Support", "slug": "support", "is_active": "on"}
    )
    assert response.status_code == 400
    assert "Queue with this Name already exists." in _html(response)
    assert Queue.objects.count() == 1


def test_a_new_agent_needs_a_password_and_a_valid_email(admin_client: Client) -> None:
    response = admin_client.post(
        "/settings/agents/new/",
        {"full_name": "No Password", "email": "not-an-email", "role": Role.AGENT},
    )
    body = _html(response)
    assert response.status_code == 400
    assert "This field is required." in body and "Enter a valid email address." in body
    assert 'value="No Password"' in body  # what was typed is kept
    assert not User.objects.filter(full_name="No Password").exists()


def test_editing_an_agent_keeps_the_password_when_left_empty(
    admin_client: Client, alice: User, team_support: Team
) -> None:
    page = _html(admin_client.get(f"/settings/agents/{alice.pk}/"))
    assert re.search(rf'name="teams" value="{team_support.pk}"[^>]*checked', page)
    assert 'name="password"' in page and "Leave empty to keep the current password." in page
    response = admin_client.post(
        f"/settings/agents/{alice.pk}/",
        {
            "full_name": "Alice Andersson",
            "email": "alice@example.com",
            "role": Role.ADMIN,
            "language": "",
            "is_active": "on",
            "password": "",
            "teams": [team_support.pk],
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.full_name, alice.role) == ("Alice Andersson", Role.ADMIN)
    assert alice.check_password("pw")


def test_customers_are_not_edited_as_agents(admin_client: Client, customer: User) -> None:
    assert admin_client.get(f"/settings/agents/{customer.pk}/").status_code == 404
    page = admin_client.get("/settings/agents/new/")
    roles = [value for value, _label in page.context["form"].fields["role"].choices]
    assert roles == [Role.AGENT, Role.ADMIN]
    assert "Carl Customer" not in _html(admin_client.get("/settings/agents/"))


def test_ticket_type_instructions_show_on_its_tickets(
    admin_client: Client, agent_client: Client, alice: User, queue_support: Queue
) -> None:
    admin_client.post(
        "/settings/types/new/",
        {"name": "Fault", "instructions": "Ask for a screenshot first.\nThen", "is_active": "on"},
    )
    kind = TicketType.objects.get(name="Fault")
    typed = actions.open_ticket(alice, queue=queue_support, title="Broken", type=kind)
    plain = actions.open_ticket(alice, queue=queue_support, title="Other")

    page = _html(agent_client.get(f"/t/{typed.number}/"))
    assert "<strong>Fault:</strong> Ask for a screenshot first.<br>Then" in page
    assert "Ask for a screenshot first." not in _html(agent_client.get(f"/t/{plain.number}/"))

    # A type the admin switches off is no longer offered for new tickets.
    admin_client.post(f"/settings/types/{kind.pk}/", {"name": "Fault", "instructions": ""})
    kind.refresh_from_db()
    assert not kind.is_active
    form = agent_client.get("/tickets/new/").context["form"]
    assert list(form.fields["type"].queryset) == []


def test_a_new_category_is_offered_on_tickets_and_in_the_filters(
    admin_client: Client, agent_client: Client
) -> None:
    response = admin_client.post(
        "/settings/categories/new/", {"name": "Hardware", "is_active": "on"}
    )
    assert response.status_code == 302
    category = Category.objects.get(name="Hardware")
    assert "Hardware" in _html(admin_client.get("/settings/categories/"))
    assert list(agent_client.get("/tickets/new/").context["form"].fields["category"].queryset) == [
        category
    ]
    overview = _html(agent_client.get("/tickets/"))
    assert f'<option value="{category.pk}" >Hardware</option>' in overview


# --- Ticket fields, editor and attachment limit -----------------------------------------------


@pytest.mark.parametrize("limit", [0, 1000, -3, "abc", ""])
def test_an_invalid_attachment_limit_is_refused_with_a_message(
    admin_client: Client, limit: Any
) -> None:
    response = admin_client.post(
        "/settings/ticket-fields/",
        _ticket_fields_post(editor_mode="plain", max_attachment_mb=limit, field_team="hidden"),
    )
    body = _html(response)
    assert response.status_code == 400
    message = {
        0: "Choose between 1 and 100 MB.",
        1000: "Choose between 1 and 100 MB.",
        -3: "Ensure this value is greater than or equal to 0.",
        "abc": "Enter a whole number.",
        "": "This field is required.",
    }[limit]
    assert message in body and 'role="alert"' in body
    # Nothing is saved, and the other choices on the form are kept for the next try.
    settings = HelpdeskSettings.load()
    assert (settings.editor_mode, settings.max_attachment_mb, settings.field_rules) == (
        "html",
        5,
        {},
    )
    assert '<option value="plain" selected>' in body
    assert re.search(r'name="field_team"[^>]*>.*?<option value="hidden" selected>', body, re.S)


def test_editor_mode_and_attachment_limit_are_saved_and_used(
    admin_client: Client, agent_client: Client, alice: User, queue_support: Queue
) -> None:
    ticket = actions.open_ticket(alice, queue=queue_support, title="Plain")
    assert 'class="editable"' in _html(agent_client.get(f"/t/{ticket.number}/"))

    response = admin_client.post(
        "/settings/ticket-fields/",
        _ticket_fields_post(editor_mode="plain", max_attachment_mb=12),
        follow=True,
    )
    assert "Saved." in _html(response)
    settings = HelpdeskSettings.load()
    assert (settings.editor_mode, settings.max_attachment_mb) == ("plain", 12)

    page = _html(agent_client.get(f"/t/{ticket.number}/"))
    assert 'class="editable"' not in page  # no HTML editor in plain mode
    assert f'data-max-bytes="{12 * 1024 * 1024}"' in page
    assert "is larger than the 12.0\xa0MB allowed." in page


def test_plain_text_mode_stores_text_as_safe_paragraphs(
    admin_client: Client, agent_client: Client, alice: User, queue_support: Queue
) -> None:
    admin_client.post("/settings/ticket-fields/", _ticket_fields_post(editor_mode="plain"))
    ticket = actions.open_ticket(alice, queue=queue_support, title="Plain")
    agent_client.post(
        f"/t/{ticket.number}/post/",
        {"kind": "reply", "body": "Hello <b>there</b>\n\nSecond line"},
    )
    article = ticket.articles.get()
    assert article.body_html == "<p>Hello &lt;b&gt;there&lt;/b&gt;</p><p>Second line</p>"


def test_field_rules_set_on_the_page_shape_the_new_ticket_form(
    admin_client: Client, agent_client: Client, queue_support: Queue
) -> None:
    admin_client.post(
        "/settings/ticket-fields/",
        _ticket_fields_post(field_category="required", field_team="hidden"),
    )
    settings = HelpdeskSettings.load()
    assert (settings.rule_for("category"), settings.rule_for("team")) == ("required", "hidden")
    assert settings.rule_for("owner") == "optional"
    page = admin_client.get("/settings/ticket-fields/")
    assert page.context["form"]["field_category"].value() == "required"

    new = _html(agent_client.get("/tickets/new/"))
    assert 'for="id_category">Category *</label>' in new and 'name="team"' not in new
    refused = agent_client.post(
        "/tickets/new/", {"title": "x", "queue": queue_support.pk, "status": "new", "priority": 2}
    )
    assert refused.status_code == 200 and refused.context["form"].errors["category"]
    assert not Ticket.objects.exists()


def test_an_unknown_field_rule_is_refused(admin_client: Client) -> None:
    response = admin_client.post(
        "/settings/ticket-fields/", _ticket_fields_post(field_owner="mandatory-ish")
    )
    assert response.status_code == 400
    assert "Select a valid choice." in _html(response)
    assert HelpdeskSettings.load().field_rules == {}


def test_names_and_instructions_an_admin_types_are_shown_as_text(
    admin_client: Client, agent_client: Client, alice: User, queue_support: Queue
) -> None:
    xss = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    admin_client.post(
        "/settings/types/new/", {"name": "Type " + xss, "instructions": xss, "is_active": "on"}
    )
    admin_client.post("/settings/categories/new/", {"name": "Cat " + xss, "is_active": "on"})
    admin_client.post("/settings/teams/new/", {"name": "Team " + xss})
    kind = TicketType.objects.get()
    ticket = actions.open_ticket(alice, queue=queue_support, title="T", type=kind)
    for page in (
        admin_client.get("/settings/types/"),
        admin_client.get(f"/settings/types/{kind.pk}/"),
        admin_client.get("/settings/categories/"),
        admin_client.get("/settings/teams/"),
        admin_client.get("/settings/queues/new/"),
        agent_client.get(f"/t/{ticket.number}/"),
        agent_client.get("/tickets/"),
    ):
        body = _html(page)
        assert page.status_code == 200
        assert "<script>alert" not in body
        assert "<img src=x onerror" not in body and '<img src="x" onerror' not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
