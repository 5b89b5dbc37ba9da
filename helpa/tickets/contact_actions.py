"""Actions on contacts that reach into tickets: merging two contacts.

They live here, not in crm, because they rewrite tickets and their history, and crm sits below
tickets (DESIGN.md). Rows of the apps above (mail participants, portal links, …) follow through
Django's own list of the relations that point at a contact, so tickets imports none of them.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from helpa.accounts.models import User
from helpa.crm.models import Contact, ContactEmail, ContactPhone

from .actions import TicketError
from .models import Article, HistoryEntry, Ticket


class MergeRefused(TicketError):
    pass


# The relations merge_contacts moves itself; every other one pointing at Contact moves as is.
_HANDLED = {
    (Ticket, "contact"),
    (Article, "author_contact"),
    (ContactEmail, "contact"),
    (ContactPhone, "contact"),
}


@transaction.atomic
def merge_contacts(actor: User, keep: Contact, drop: Contact) -> Contact:
    """Merges `drop` into `keep`: its tickets, the articles it wrote, its addresses, phone
    numbers and portal login move to `keep`, each moved ticket records it in its history, and
    `drop` is deleted. Refused when both have a portal login (one person cannot keep two)."""
    if keep.pk == drop.pk:
        raise MergeRefused(_("A contact cannot be merged into itself."))
    locked = {
        c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=[keep.pk, drop.pk])
    }
    keep, drop = locked[keep.pk], locked[drop.pk]
    if keep.user_id and drop.user_id:
        raise MergeRefused(
            _(
                "Both %(keep)s and %(drop)s have a portal login. Remove one of the logins "
                "first: a contact can have only one."
            )
            % {"keep": keep, "drop": drop}
        )
    label = _("%(drop)s into %(keep)s") % {"drop": drop, "keep": keep}

    # Tickets: the contact's own, and those where they wrote, each get one history entry.
    written = Article.objects.filter(author_contact=drop).values("ticket_id")
    tickets = list(
        Ticket.objects.select_for_update()
        .filter(Q(contact=drop) | Q(pk__in=written))
        .values_list("pk", "version")
    )
    Ticket.objects.filter(contact=drop).update(contact=keep)
    Ticket.objects.filter(pk__in=[pk for pk, _v in tickets]).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    HistoryEntry.objects.bulk_create(
        HistoryEntry(
            ticket_id=pk,
            actor=actor,
            field="contact_merged",
            old_value=str(drop),
            new_value=label,
            version=version + 1,
        )
        for pk, version in tickets
    )
    Article.objects.filter(author_contact=drop).update(author_contact=keep)

    # Addresses and phone numbers.
    if not keep.email:
        keep.email = drop.email
    elif drop.email and drop.email.lower() != keep.email.lower():
        if not ContactEmail.objects.filter(address=drop.email.lower()).exists():
            ContactEmail.objects.create(contact=keep, address=drop.email)
    ContactEmail.objects.filter(contact=drop, address=keep.email.lower()).delete()
    ContactEmail.objects.filter(contact=drop).update(contact=keep)
    have = set(keep.phones.values_list("number", flat=True))
    ContactPhone.objects.filter(contact=drop, number__in=have).delete()
    ContactPhone.objects.filter(contact=drop).update(contact=keep)

    # Whatever else points at the contact (mail participants, portal links, …).
    for relation in Contact._meta.related_objects:
        model, field = relation.related_model, relation.field.name
        if (model, field) in _HANDLED or not (relation.many_to_one or relation.one_to_one):
            continue
        rows = model._base_manager.filter(**{field: drop})
        if relation.one_to_one and model._base_manager.filter(**{field: keep}).exists():
            continue  # keep has its own; drop's goes with it
        rows.update(**{field: keep})

    # The portal login, and what keep lacks.
    if drop.user_id:
        user_id = drop.user_id
        drop.user = None
        drop.save(update_fields=["user"])
        keep.user_id = user_id
    if not keep.company_id:
        keep.company_id = drop.company_id
    if drop.notes.strip():
        keep.notes = f"{keep.notes.rstrip()}\n\n{drop.notes.strip()}".strip()
    keep.save(update_fields=["user", "company", "notes", "email"])
    drop.delete()
    return keep
