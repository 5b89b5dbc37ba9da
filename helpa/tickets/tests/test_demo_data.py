"""`helpa demo_data`: a whole small helpdesk, loaded once, through the ticket actions."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from helpa.accounts.models import Role, Team, User
from helpa.crm.models import Company, Contact
from helpa.tickets import search
from helpa.tickets.models import (
    ACTIVE_STATUSES,
    Article,
    ArticleKind,
    Attachment,
    HelpdeskSettings,
    HistoryEntry,
    Queue,
    Status,
    Ticket,
    TicketType,
)

DEMO_LOGINS = ["admin@example.com", "agent@example.com", "customer@example.com"]


def _counts() -> dict[str, int]:
    models = [User, Team, Queue, Company, Contact, Ticket, Article, Attachment, HistoryEntry]
    return {model.__name__: model.objects.count() for model in models}


def test_demo_data_loads_a_helpdesk_once(db: None, settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    out = StringIO()
    call_command("demo_data", stdout=out)
    assert "Demo data loaded" in out.getvalue()
    now = timezone.now()

    # The people and the organisation.
    assert Queue.objects.count() == 3
    assert Team.objects.count() == 2
    assert User.objects.agents().count() == 5
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_admin and admin.is_staff and admin.is_superuser
    assert admin.full_name == "Ada Admin"
    anna = User.objects.get(email="agent@example.com", role=Role.AGENT, full_name="Anna Agent")
    assert anna.teams.filter(name="Support").exists()
    assert all(queue.teams.exists() for queue in Queue.objects.all())
    assert Queue.objects.filter(teams__members=anna).distinct().count() >= 2
    for email in DEMO_LOGINS:
        assert authenticate(email=email, password="demo") is not None, email
    carl = User.objects.get(email="customer@example.com", role=Role.CUSTOMER)
    assert carl.contact.company is not None
    assert Company.objects.count() == 5
    assert Contact.objects.count() == 20
    assert Company.objects.annotate(n=Count("contacts")).filter(n=0).count() == 0
    assert TicketType.objects.exclude(instructions="").count() == 3
    assert HelpdeskSettings.objects.count() == 1

    # The tickets: every status, numbered in the order they were created over three months.
    tickets = Ticket.objects.all()
    assert 190 <= tickets.count() <= 210
    assert set(tickets.values_list("status", flat=True)) == set(Status.values)
    assert not tickets.filter(status=Status.NEW, owner__isnull=False).exists()
    assert not tickets.exclude(status=Status.NEW).filter(owner__isnull=True).exists()
    on_hold = tickets.filter(status=Status.ON_HOLD)
    assert on_hold.filter(on_hold_until=None).exists()
    assert on_hold.filter(on_hold_until__gt=now).exists()
    assert tickets.filter(status__in=ACTIVE_STATUSES, due_at__lt=now).exists()  # overdue
    assert tickets.filter(status__in=ACTIVE_STATUSES, due_at__gt=now).exists()
    assert tickets.filter(status__in=ACTIVE_STATUSES, owner=anna).count() >= 10
    assert carl.contact.tickets.exists()
    assert tickets.filter(created_at__lt=now - timedelta(days=60)).exists()
    assert not tickets.filter(updated_at__gt=now).exists()
    by_number = list(tickets.order_by("number").values_list("created_at", flat=True))
    assert by_number == sorted(by_number)
    assert tickets.filter(status=Status.CLOSED, closed_at__isnull=True).count() == 0
    assert tickets.values("queue").distinct().count() == 3
    assert tickets.values("priority").distinct().count() == 3
    assert tickets.values("type").exclude(type=None).distinct().count() == 3

    # Sub-tickets, threads, attachments, history and the search index.
    assert tickets.filter(parent__isnull=False).count() == 10
    assert tickets.filter(children__isnull=False).distinct().count() == 3
    assert HistoryEntry.objects.filter(field="closed_with_parent").exists()
    kinds = set(Article.objects.values_list("kind", flat=True))
    assert {
        ArticleKind.CUSTOMER,
        ArticleKind.REPLY,
        ArticleKind.NOTE,
        ArticleKind.DISCUSSION,
    } <= kinds
    assert not Article.objects.filter(kind=ArticleKind.CUSTOMER, author_contact=None).exists()
    assert Article.objects.filter(kind=ArticleKind.NOTE, time_spent_minutes__gt=0).exists()
    assert Article.objects.filter(
        kind=ArticleKind.DISCUSSION, body_text__contains="@agent"
    ).exists()
    longest = tickets.annotate(n=Count("articles")).order_by("-n").first()
    assert longest is not None and longest.n >= 25
    assert 10 <= Attachment.objects.count() <= 20
    assert Attachment.objects.filter(content_type="image/png").exists()
    assert Attachment.objects.filter(is_inline=True).exists()
    assert Ticket.objects.filter(followers__isnull=False).exists()
    assert search.apply_search(Ticket.objects.all(), "skrivaren").exists()

    # A second run finds tickets and adds nothing.
    before = _counts()
    out = StringIO()
    call_command("demo_data", stdout=out)
    assert "demo data already present" in out.getvalue().lower()
    assert _counts() == before


def test_demo_data_leaves_a_database_in_use_alone(ticket: Ticket) -> None:
    out = StringIO()
    call_command("demo_data", stdout=out)
    assert "demo data already present" in out.getvalue().lower()
    assert Ticket.objects.count() == 1
    assert not User.objects.filter(email="agent@example.com").exists()


@pytest.mark.django_db(transaction=True)
def test_nothing_of_the_demo_waits_to_be_mailed() -> None:
    """Committed for real, so what happens after commit happens, as in `make run` (the portal
    requests' confirmations, written when the demo's transaction commits)."""
    from helpa.mail.models import OutgoingMail

    call_command("demo_data", stdout=StringIO())
    assert OutgoingMail.objects.filter(kind=OutgoingMail.Kind.AUTO_REPLY).exists()
    replies = OutgoingMail.objects.filter(kind=OutgoingMail.Kind.REPLY)
    assert replies.exists()  # the demo's replies were mailed to their contacts …
    assert not OutgoingMail.objects.filter(state=OutgoingMail.State.QUEUED).exists()  # … long ago
    assert all(m.sent_at == m.article.created_at for m in replies.select_related("article"))


def test_the_demo_has_a_knowledge_base(db: None) -> None:
    from helpa.kb.models import Article as KbArticle

    call_command("demo_data", stdout=StringIO())
    published = KbArticle.objects.filter(status=KbArticle.Status.PUBLISHED)
    assert published.filter(visibility=KbArticle.Visibility.PUBLIC).count() >= 3
    assert published.filter(visibility=KbArticle.Visibility.INTERNAL).exists()


def test_the_demo_has_a_contact_form(db: None, client) -> None:
    call_command("demo_data", stdout=StringIO())
    page = client.get("/forms/kontakt/")
    assert page.status_code == 200 and 'name="email"' in page.content.decode()
