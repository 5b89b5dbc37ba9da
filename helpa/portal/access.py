"""Which tickets a customer may see: one function, asked by every portal page.

A contact sees the tickets they asked (the ticket's contact), the tickets they were copied on
(a participant of the ticket's mail), and — when their company allows it — every ticket of
their company. Drafts never. Internal notes and discussion are filtered out where the thread
is read (`public_articles`), never left to a template.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from helpa.accounts.models import Role, User
from helpa.crm.models import Contact
from helpa.tickets.models import PUBLIC_KINDS, Article, Ticket


def portal_contact(user: User) -> Contact | None:
    """The contact behind a signed-in customer, or None for anyone else."""
    if not user.is_authenticated or not user.is_active or user.role != Role.CUSTOMER:
        return None
    return Contact.objects.select_related("company").filter(user=user).first()


def shares_company_tickets(contact: Contact) -> bool:
    """Both must allow it: the company shares its tickets, and this contact may see them."""
    return bool(
        contact.company_id
        and contact.company.portal_shares_tickets
        and contact.portal_sees_company_tickets
    )


def tickets_for(contact: Contact, *, company_wide: bool = True) -> QuerySet[Ticket]:
    """Every ticket the contact may open; `company_wide=False`: only their own and copied ones
    (the portal's default list)."""
    # `participants` is the mail channel's record of CC'd addresses (reverse relation).
    copied = Ticket.objects.filter(participants__contact=contact).values("pk")
    visible = Q(contact=contact) | Q(pk__in=copied)
    if company_wide and shares_company_tickets(contact):
        visible |= Q(company_id=contact.company_id)
    return Ticket.objects.filter(visible, is_draft=False)


def public_articles(ticket: Ticket) -> QuerySet[Article]:
    return (
        ticket.articles.filter(kind__in=PUBLIC_KINDS, deleted_at=None)
        .select_related("author", "author_contact")
        .prefetch_related("attachments")
        .order_by("created_at", "pk")
    )
