"""The agent workspace: overview, ticket page, and the small endpoints they call.

Views are thin: they check access through `_ticket_for`, validate with a form and call an action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.forms.models import model_to_dict
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpa.accounts.models import Team, User
from helpa.accounts.permissions import agent_required
from helpa.crm.models import Company, Contact, brand_allowed_q
from helpa.lib.files import stored_file_response

from . import actions, overview
from .forms import ArticleForm, NewTicketForm, QuickEditForm, SavedSearchForm, TicketForm
from .models import (
    PUBLIC_KINDS,
    Article,
    ArticleKind,
    Attachment,
    Category,
    HelpdeskSettings,
    HistoryEntry,
    Notification,
    Presence,
    Priority,
    Queue,
    SavedSearch,
    Status,
    Ticket,
    TicketType,
)
from .templatetags.helpa_tags import option_choices

PRESENCE_WINDOW = timedelta(seconds=30)


def _ticket_for(request: HttpRequest, number: int, *, for_update: bool = False) -> Ticket:
    """The ticket behind a URL, or 404 when it does not exist *or* the user may not see it
    (an agent outside the queue learns nothing about the ticket)."""
    qs = Ticket.objects.visible_to(request.user).select_related(
        "queue__brand", "owner", "type", "contact", "company", "parent", "merged_into"
    )
    return get_object_or_404(qs, number=number)


def _time_entries(ticket: Ticket, user: User) -> dict[str, object]:
    from .views_time import entries_for_page  # views_time imports this module

    return entries_for_page(ticket, user)


def _check_queue_allowed(request: HttpRequest) -> None:
    """A posted queue the user does not work is a forged form: refuse it outright (403)."""
    raw = request.POST.get("queue")
    if not raw or request.user.is_admin:
        return
    if (
        not raw.isdigit()
        or not Queue.objects.filter(pk=int(raw), teams__members=request.user)
        .filter(brand_allowed_q(request.user))
        .exists()
    ):
        raise PermissionDenied


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_agent:
        return redirect("tickets:overview")
    return redirect("portal:tickets")


# --- Overview ----------------------------------------------------------------------------------


def _filter_options(user: User) -> dict[str, Any]:
    agents = list(User.objects.agents())
    types = list(TicketType.objects.filter(is_active=True))
    return {
        # The filter panel's multiple selects, escaped once and rendered by filter_options.
        "filter_choices": {
            "queue": option_choices(
                (q.pk, q)
                for q in Queue.objects.filter(is_active=True).filter(brand_allowed_q(user))
            ),
            "team": option_choices((t.pk, t) for t in Team.objects.all()),
            "owner": option_choices(
                [("me", _("Me")), ("none", _("Nobody")), *((a.pk, a) for a in agents)]
            ),
            "type": option_choices((t.pk, t) for t in types),
            "category": option_choices((c.pk, c) for c in Category.objects.filter(is_active=True)),
            "company": option_choices(
                Company.objects.visible_to(user).values_list("pk", "name")[:500]
            ),
        },
        "labels": {
            "status": _("Status"),
            "priority": _("Priority"),
            "type": _("Type"),
            "owner": _("Owner"),
            "queue": _("Queue"),
            "due": _("Due"),
            "changed": _("Changed"),
            "draft": _("Draft"),
            "nobody": _("Nobody"),
        },
        # The quick-edit selects of every row, escaped once per page.
        "quick_choices": {
            "status": option_choices(Status.choices),
            "priority": option_choices(Priority.choices),
            "type": option_choices([("", "–"), *((t.pk, t) for t in types)]),
            "owner": option_choices([("", _("Nobody")), *((a.pk, a) for a in agents)]),
        },
    }


@agent_required
def overview_page(request: HttpRequest) -> HttpResponse:
    result = overview.build_overview(request.user, request.GET)
    paginator = overview.CappedPaginator(
        result.queryset, result.page_size, result.recent, result.counted
    )
    page = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    saved = SavedSearch.objects.filter(Q(owner=request.user) | Q(is_shared=True)).select_related(
        "owner"
    )
    context = {
        "result": result,
        "page": page,
        "tickets": list(page.object_list),
        "tiles": [(key, overview.VIEWS[key]) for key in overview.TILES],
        "tile_counts": overview.tile_counts(request.user),
        "views": overview.VIEWS,
        "query_without_page": params.urlencode(),
        "current_query": request.GET.urlencode(),
        "selected": {key: request.GET.getlist(key) for key in overview.FILTER_KEYS},
        "saved_searches": saved,
        "saved_search_form": SavedSearchForm(initial={"query": request.GET.urlencode()}),
        "page_sizes": overview.PAGE_SIZES,
        **_filter_options(request.user),
    }
    template = (
        "tickets/_overview_results.html"
        if request.htmx and request.htmx.target == "results"
        else "tickets/overview.html"
    )
    return render(request, template, context)


@agent_required
@require_POST
def quick_edit(request: HttpRequest, number: int) -> HttpResponse:
    """Change status, priority, type or owner of one row without leaving the list."""
    ticket = _ticket_for(request, number)
    form = QuickEditForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            value = form.value_for()
            ticket = actions.update_ticket(
                request.user,
                ticket,
                {form.cleaned_data["field"]: value},
                expected_version=form.cleaned_data["version"],
            )
        except actions.StaleTicket:
            error = _("Changed by someone else meanwhile; the row now shows the latest values.")
        except actions.TicketError as exc:
            error = str(exc)
        except ValidationError as exc:
            error = "; ".join(exc.messages)
    else:
        error = _("That change could not be read.")
    ticket = _ticket_for(request, number)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(request.POST.get("next") or reverse("tickets:overview"))
    return render(
        request,
        "tickets/_overview_row.html",
        {"ticket": ticket, "row_error": error, **_filter_options(request.user)},
    )


@agent_required
@require_POST
def saved_search_create(request: HttpRequest) -> HttpResponse:
    form = SavedSearchForm(request.POST)
    if form.is_valid():
        query = QueryDict(form.cleaned_data["query"] or "", mutable=True)
        query.pop("page", None)
        SavedSearch.objects.create(
            owner=request.user,
            name=form.cleaned_data["name"],
            is_shared=form.cleaned_data["is_shared"],
            query=query.urlencode(),
        )
        messages.success(request, _("Search saved."))
        return redirect(reverse("tickets:overview") + "?" + query.urlencode())
    messages.error(request, _("Give the search a name."))
    return redirect(reverse("tickets:overview") + "?" + (request.POST.get("query") or ""))


@agent_required
@require_POST
def saved_search_delete(request: HttpRequest, pk: int) -> HttpResponse:
    saved = get_object_or_404(SavedSearch, pk=pk)
    if saved.owner_id != request.user.pk and not request.user.is_admin:
        raise PermissionDenied
    saved.delete()
    messages.success(request, _("Saved search deleted."))
    return redirect("tickets:overview")


# --- Creating ----------------------------------------------------------------------------------


@agent_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    settings = HelpdeskSettings.load()
    parent = None
    parent_number = request.GET.get("parent") or request.POST.get("parent")
    if parent_number and str(parent_number).isdigit():
        parent = _ticket_for(request, int(parent_number))
    if request.method == "POST":
        _check_queue_allowed(request)
        form = NewTicketForm(request.POST, request.FILES, user=request.user, settings=settings)
        if form.is_valid():
            try:
                ticket = actions.open_ticket(request.user, parent=parent, **form.ticket_arguments())
            except actions.TicketError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, _("Ticket %(number)s created.") % {"number": ticket.display_number}
                )
                return redirect("tickets:detail", number=ticket.number)
    else:
        initial: dict[str, Any] = {"status": Status.NEW, "priority": Priority.MEDIUM}
        if parent:
            initial.update(
                queue=parent.queue_id, contact=parent.contact_id, company=parent.company_id
            )
        form = NewTicketForm(initial=initial, user=request.user, settings=settings)
    return render(
        request, "tickets/new.html", {"form": form, "parent": parent, "settings": settings}
    )


# --- The ticket page ---------------------------------------------------------------------------


# The ticket page shows the newest entries of each tab; "Show older" brings the rest (a few
# hundred entries rendered at once cost more than the whole page otherwise does).
THREAD_SHOWN = 50


@dataclass
class ThreadTab:
    key: str
    entries: list[Article]
    empty: str
    show_all: bool = False

    @property
    def shown(self) -> list[Article]:
        return self.entries if self.show_all else self.entries[-THREAD_SHOWN:]

    @property
    def older(self) -> int:
        return len(self.entries) - len(self.shown)


def _thread_tabs(ticket: Ticket, show_all: bool) -> list[ThreadTab]:
    """The thread in its three tabs; each entry's files are in `entry.files` (one query for
    the whole ticket, which costs less than prefetching per entry)."""
    # inbound_mail, mails_sent, inbound_sms, sms_sent: how a message came and went by mail or
    # SMS (the mail and SMS apps' includes in _article.html), loaded once for the whole
    # thread. As plain lists (to_attr): a prefetch into the related manager builds a queryset
    # per entry, ~0.06 ms each, 200 of them for each relation on a long thread.
    articles = list(
        ticket.articles.select_related(
            "author", "author_contact", "inbound_mail", "inbound_sms"
        ).prefetch_related(
            Prefetch("outgoing_mails", to_attr="mails_sent"),
            Prefetch("outgoing_sms", to_attr="sms_sent"),
        )
    )
    files: dict[int, list[Attachment]] = {}
    for file in Attachment.objects.filter(ticket=ticket, article__isnull=False).order_by("id"):
        files.setdefault(file.article_id, []).append(file)
    for article in articles:
        article.files = files.get(article.pk, [])  # type: ignore[attr-defined]
    return [
        ThreadTab(
            "conversation",
            [a for a in articles if a.kind in PUBLIC_KINDS or a.kind == ArticleKind.SYSTEM],
            _("No messages yet."),
            show_all,
        ),
        ThreadTab(
            "notes",
            [a for a in articles if a.kind == ArticleKind.NOTE],
            _("No internal notes yet."),
            show_all,
        ),
        ThreadTab(
            "discussion",
            [a for a in articles if a.kind == ArticleKind.DISCUSSION],
            _("No discussion yet. Mention a colleague with @ to notify them."),
            show_all,
        ),
    ]


def _kind_labels() -> dict[str, str]:
    """Labels every thread entry shows, translated once per page rather than per entry."""
    return {
        **{kind: str(label) for kind, label in ArticleKind.choices},
        "delete": _("Delete"),
        "deleted": _("This post was deleted."),
    }


RECENT_TICKETS = 5


def _recent_tickets(request: HttpRequest, ticket: Ticket) -> tuple[list[Ticket], list[Ticket]]:
    """The contact's and the company's latest tickets besides this one, of those the agent may
    open: one query for each side, each read backwards from the newest on its own index
    (ticket_contact_idx, ticket_company_idx). One query for both, as an OR of two subqueries,
    made PostgreSQL read the whole table (330 ms at 1,000,000 tickets)."""
    visible = (
        Ticket.objects.visible_to(request.user)
        .exclude(pk=ticket.pk)
        .only("number", "title", "status", "created_at", "contact_id", "company_id")
        .order_by("-created_at", "-pk")
    )

    def newest(**condition: int) -> list[Ticket]:
        return list(visible.filter(**condition)[:RECENT_TICKETS])

    of_contact = newest(contact_id=ticket.contact_id) if ticket.contact_id else []
    of_company = newest(company_id=ticket.company_id) if ticket.company_id else []
    return of_contact, of_company


def _ticket_page_context(request: HttpRequest, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    settings = extra.pop("settings", None) or HelpdeskSettings.load()
    tabs = _thread_tabs(ticket, show_all=request.GET.get("all") == "1")
    conversation, notes, _discussion = tabs
    history = list(ticket.history.select_related("actor").order_by("-created_at", "-id")[:500])
    children = list(ticket.children.select_related("owner").order_by("number"))
    followers = list(ticket.followers.all())
    documents = [
        (file, article.kind == ArticleKind.NOTE)
        for tab in (conversation, notes)
        for article in tab.entries
        for file in article.files
    ]
    contact_recent, company_recent = _recent_tickets(request, ticket)
    context = {
        "ticket": ticket,
        "settings": settings,
        "tabs": tabs,
        "contact_recent": contact_recent,
        "company_recent": company_recent,
        "documents": documents,
        "loose_attachments": Attachment.objects.filter(ticket=ticket, article=None),
        "history": history,
        "children": children,
        "open_children": [c for c in children if c.status != Status.CLOSED],
        "followers": followers,
        **_time_entries(ticket, request.user),
        "agents": User.objects.agents(),
        "article_form": extra.pop("article_form", None)
        or ArticleForm(initial={"kind": "reply"}, settings=settings),
        "form": extra.pop("form", None)
        or TicketForm(
            instance=ticket,
            initial={"version": ticket.version},
            user=request.user,
            settings=settings,
        ),
        "statuses": Status.choices,
        "kind_labels": _kind_labels(),
        **extra,
    }
    return context


@agent_required
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_for(request, number)
    Presence.objects.update_or_create(
        ticket=ticket, user=request.user, defaults={"seen_at": timezone.now(), "is_typing": False}
    )
    Notification.objects.filter(user=request.user, ticket=ticket, read_at=None).update(
        read_at=timezone.now()
    )
    return render(request, "tickets/detail.html", _ticket_page_context(request, ticket))


@agent_required
def ticket_thread(request: HttpRequest, number: int) -> HttpResponse:
    """Every entry of one tab of the ticket page (its "Show older" link asks for it)."""
    ticket = _ticket_for(request, number)
    tabs = {tab.key: tab for tab in _thread_tabs(ticket, show_all=True)}
    tab = tabs.get(request.GET.get("tab", ""))
    if tab is None:
        raise Http404
    return render(
        request,
        "tickets/_thread_tab.html",
        {"ticket": ticket, "tab": tab, "kind_labels": _kind_labels()},
    )


def _merge_after_stale_save(
    posted: QueryDict, form: TicketForm, fresh: Ticket, missed: list[HistoryEntry]
) -> QueryDict:
    """The form to show after a refused stale save: what the agent changed is kept; a field
    the agent left alone but a colleague changed shows the colleague's value, so saving again
    never silently undoes the colleague's work. The next save is checked against this version."""
    data = posted.copy()
    data["version"] = str(fresh.version)
    value_when_loaded: dict[str, str] = {}
    for entry in missed:  # oldest first: the first entry of a field holds its value back then
        value_when_loaded.setdefault(entry.field, entry.old_value)
    current = model_to_dict(fresh, fields=list(value_when_loaded))
    for field, old_value in value_when_loaded.items():
        if field not in form.fields or field not in form.cleaned_data:
            continue
        if actions.value_for_history(form.cleaned_data[field]) == old_value:
            data[field] = "" if current.get(field) is None else current[field]
    return data


@agent_required
@require_POST
def ticket_update(request: HttpRequest, number: int) -> HttpResponse:
    """Save the field panel. A stale version is refused: the page shows what changed meanwhile
    and keeps everything the agent entered."""
    ticket = _ticket_for(request, number)
    _check_queue_allowed(request)
    settings = HelpdeskSettings.load()
    form = TicketForm(
        request.POST,
        instance=Ticket.objects.get(pk=ticket.pk),
        user=request.user,
        settings=settings,
    )
    if form.is_valid():
        try:
            actions.update_ticket(
                request.user,
                ticket,
                form.changes(),
                expected_version=form.cleaned_data.get("version"),
            )
        except actions.StaleTicket as stale:
            fresh = _ticket_for(request, number)
            data = _merge_after_stale_save(request.POST, form, fresh, stale.changes)
            kept = TicketForm(data, instance=fresh, user=request.user, settings=settings)
            kept.is_valid()
            return render(
                request,
                "tickets/detail.html",
                _ticket_page_context(
                    request, fresh, form=kept, stale_changes=stale.changes, settings=settings
                ),
                status=409,
            )
        except actions.TicketError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Ticket saved."))
            return redirect("tickets:detail", number=number)
    return render(
        request,
        "tickets/detail.html",
        _ticket_page_context(request, ticket, form=form, settings=settings),
        status=400,
    )


@agent_required
@require_POST
def ticket_article(request: HttpRequest, number: int) -> HttpResponse:
    """Post a reply, an internal note or a discussion post (with files and time spent)."""
    ticket = _ticket_for(request, number)
    settings = HelpdeskSettings.load()
    form = ArticleForm(request.POST, request.FILES, settings=settings)
    if form.is_valid():
        kind = form.cleaned_data["kind"]
        try:
            actions.add_article(
                request.user,
                ticket,
                {
                    "reply": ArticleKind.REPLY,
                    "note": ArticleKind.NOTE,
                    "discussion": ArticleKind.DISCUSSION,
                }[kind],
                form.cleaned_data["body"],
                time_spent_minutes=form.cleaned_data.get("time_spent_minutes") or 0,
                billable=form.cleaned_data["billable"],
                attachments=form.cleaned_data.get("attachments") or [],
                send_by=form.cleaned_data["send_by"],
            )
        except actions.TicketError as exc:
            form.add_error("body", str(exc))
        else:
            labels = {
                "reply": _("Reply added."),
                "note": _("Note added."),
                "discussion": _("Posted."),
            }
            messages.success(request, labels[kind])
            tab = {"reply": "conversation", "note": "notes", "discussion": "discussion"}[kind]
            return redirect(reverse("tickets:detail", args=[number]) + f"#{tab}")
    return render(
        request,
        "tickets/detail.html",
        _ticket_page_context(
            request,
            ticket,
            article_form=form,
            settings=settings,
            active_tab=request.POST.get("kind"),
        ),
        status=400,
    )


@agent_required
@require_POST
def discussion_delete(request: HttpRequest, number: int, article_id: int) -> HttpResponse:
    ticket = _ticket_for(request, number)
    article = get_object_or_404(Article, pk=article_id, ticket=ticket)
    try:
        actions.delete_discussion_post(request.user, article)
    except actions.TicketError as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, _("Post deleted."))
    return redirect(reverse("tickets:detail", args=[number]) + "#discussion")


@agent_required
@require_POST
def ticket_close(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_for(request, number)
    version = request.POST.get("version")
    try:
        actions.close_ticket(
            request.user,
            ticket,
            expected_version=int(version) if version and version.isdigit() else None,
            close_children=request.POST.get("close_children") == "on",
        )
    except actions.StaleTicket:
        messages.error(
            request,
            _(
                "Someone else changed this ticket while you were looking at it. Check and close again."
            ),
        )
    except actions.TicketError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Ticket closed."))
    return redirect("tickets:detail", number=number)


@agent_required
@require_POST
def ticket_follow(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_for(request, number)
    raw = request.POST.get("user") or str(request.user.pk)
    if not raw.isdigit():
        raise Http404
    colleague = get_object_or_404(User.objects.agents(), pk=int(raw))
    if request.POST.get("action") == "remove":
        actions.unfollow(request.user, ticket, colleague)
    else:
        actions.follow(request.user, ticket, colleague)
    return redirect(reverse("tickets:detail", args=[number]) + "#followers")


@agent_required
@require_POST
def ticket_presence(request: HttpRequest, number: int) -> HttpResponse:
    """Polled by the ticket page: records that this agent is here (and typing or not), and
    answers with who else is viewing or writing."""
    ticket = _ticket_for(request, number)
    now = timezone.now()
    Presence.objects.update_or_create(
        ticket=ticket,
        user=request.user,
        defaults={"seen_at": now, "is_typing": request.POST.get("typing") == "1"},
    )
    others = (
        Presence.objects.filter(ticket=ticket, seen_at__gte=now - PRESENCE_WINDOW)
        .exclude(user=request.user)
        .select_related("user")
    )
    current_version = Ticket.objects.values_list("version", flat=True).get(pk=ticket.pk)
    return render(
        request,
        "tickets/_presence.html",
        {
            "others": others,
            "ticket": ticket,
            "current_version": current_version,
            "seen_version": request.POST.get("version"),
        },
    )


@agent_required
def attachment_download(request: HttpRequest, number: int, pk: int) -> FileResponse:
    ticket = _ticket_for(request, number)
    attachment = get_object_or_404(Attachment, pk=pk, ticket=ticket)
    return stored_file_response(attachment.file, attachment.filename, attachment.content_type)


# --- Choices for the contact and company fields (forms.LookupSelect) ----------------------------

LOOKUP_LIMIT = 20


def _lookup_options(
    request: HttpRequest, queryset: Any, name: str, fields: list[str]
) -> HttpResponse:
    """`<option>`s for a LookupSelect: the empty one, the current choice (kept selected, so a
    search alone changes nothing) and the first LOOKUP_LIMIT matches of the words typed."""
    current = request.GET.get(name, "")
    chosen = list(queryset.filter(pk=int(current))) if current.isdigit() else []
    matches = queryset.exclude(pk__in=[c.pk for c in chosen])
    for word in (request.GET.get("q") or "").split()[:5]:
        words = Q()
        for field in fields:
            words |= Q(**{f"{field}__icontains": word})
        matches = matches.filter(words)
    options = [("", "---------", False)]
    options += [(c.pk, str(c), True) for c in chosen]
    options += [(m.pk, str(m), False) for m in matches[:LOOKUP_LIMIT]]
    return HttpResponse(
        format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((value, " selected" if selected else "", label) for value, label, selected in options),
        )
    )


@agent_required
def contact_options(request: HttpRequest) -> HttpResponse:
    return _lookup_options(
        request, Contact.objects.visible_to(request.user), "contact", ["name", "email"]
    )


@agent_required
def company_options(request: HttpRequest) -> HttpResponse:
    return _lookup_options(
        request,
        Company.objects.visible_to(request.user),
        "company",
        ["name", "organisation_number", "customer_number"],
    )


# --- Notifications -----------------------------------------------------------------------------


@agent_required
def notification_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        Notification.objects.filter(user=request.user, read_at=None).update(read_at=timezone.now())
        return redirect("tickets:notifications")
    items = Notification.objects.filter(user=request.user).select_related("ticket", "actor")[:100]
    return render(request, "tickets/notifications.html", {"items": items})
