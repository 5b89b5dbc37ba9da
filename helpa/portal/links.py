"""Ticket links (open one ticket without a login) and one-time login links.

`ticket_link_url` is what outgoing mail to a contact calls: every mail carries a fresh link, so
a contact who keeps writing always holds one that works, while an old, forwarded mail's link
expires. An agent can revoke every link of a ticket at once.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from helpa.accounts.models import User
from helpa.crm.models import Contact
from helpa.lib import rows
from helpa.lib.tokens import new_token, token_hash
from helpa.tickets.models import Ticket

from .models import LoginLink, PortalSettings, TicketLink

# How many login links one address may ask for in an hour (the rest of the requests are
# answered the same way, but no mail goes out).
LOGIN_LINKS_PER_HOUR = 5


def ticket_link_url(ticket: Ticket, contact: Contact | None) -> str:
    """The absolute URL to put in a mail to `contact` about `ticket`.

    Without a contact (an address we do not know), the portal page, which asks to sign in."""
    if contact is None or contact.pk is None:
        return settings.BASE_URL + reverse("portal:ticket", args=[ticket.number])
    raw = issue_ticket_link(ticket, contact)
    return settings.BASE_URL + reverse("portal:link", args=[raw])


def issue_ticket_link(ticket: Ticket, contact: Contact) -> str:
    raw, hashed = new_token()
    days = PortalSettings.cached().link_valid_days
    rows.insert(
        TicketLink(
            ticket=ticket,
            contact=contact,
            token_hash=hashed,
            expires_at=timezone.now() + timedelta(days=days),
        )
    )
    return raw


def usable_ticket_link(raw: str) -> TicketLink | None:
    """The link behind a token, if it is neither expired nor revoked (else None, like unknown)."""
    if not raw or len(raw) > 100:
        return None
    link = (
        TicketLink.objects.select_related("ticket", "ticket__queue", "contact")
        .filter(token_hash=token_hash(raw))
        .first()
    )
    if link is None or not link.is_usable or link.ticket.is_draft:
        return None
    now = timezone.now()
    if link.last_used_at is None or now - link.last_used_at > timedelta(minutes=5):
        TicketLink.objects.filter(pk=link.pk).update(last_used_at=now)
    return link


def revoke_ticket_links(ticket: Ticket) -> int:
    """End every customer link of a ticket now; returns how many were still usable."""
    now = timezone.now()
    return TicketLink.objects.filter(ticket=ticket, revoked_at=None, expires_at__gt=now).update(
        revoked_at=now
    )


def active_ticket_links(ticket: Ticket) -> int:
    now = timezone.now()
    return TicketLink.objects.filter(ticket=ticket, revoked_at=None, expires_at__gt=now).count()


def issue_login_link(user: User, purpose: str) -> str | None:
    """A fresh one-time link's raw token, or None when the address asked too often."""
    now = timezone.now()
    recent = LoginLink.objects.filter(user=user, created_at__gt=now - timedelta(hours=1))
    if recent.count() >= LOGIN_LINKS_PER_HOUR:
        return None
    raw, hashed = new_token()
    LoginLink.objects.create(
        user=user,
        purpose=purpose,
        token_hash=hashed,
        expires_at=now + LoginLink.LIFETIME[LoginLink.Purpose(purpose)],
    )
    return raw


def use_login_link(raw: str, purpose: str) -> User | None:
    """Spend a one-time link: its user, or None when unknown, used, expired or for another use.

    The UPDATE … WHERE used_at IS NULL makes spending atomic: two clicks, one sign-in."""
    if not raw or len(raw) > 100:
        return None
    now = timezone.now()
    link = LoginLink.objects.filter(token_hash=token_hash(raw), purpose=purpose).first()
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    spent = LoginLink.objects.filter(pk=link.pk, used_at=None).update(used_at=now)
    if not spent:
        return None
    # Other unused links of the same purpose are no longer needed.
    LoginLink.objects.filter(user_id=link.user_id, purpose=purpose, used_at=None).update(
        used_at=now
    )
    return User.objects.filter(pk=link.user_id).first()
