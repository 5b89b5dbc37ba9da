"""The customer portal (signed-in contacts), ticket links (no login) and the sign-in ways.

Every ticket reached here goes through `access.tickets_for` (portal) or a usable ticket link
(link pages); anything else is a 404, the same answer as for a ticket that does not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView, redirect_to_login
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from helpa.accounts.forms import LoginForm
from helpa.accounts.models import Role, User
from helpa.accounts.permissions import admin_required, agent_required
from helpa.administration.views import SECTIONS
from helpa.crm.models import Brand, Contact
from helpa.lib import events
from helpa.lib.files import stored_file_response
from helpa.lib.tokens import token_hash
from helpa.tickets.actions import TicketError
from helpa.tickets.models import (
    ACTIVE_STATUSES,
    PUBLIC_KINDS,
    Article,
    ArticleKind,
    Attachment,
    Status,
    Ticket,
)

from . import actions, links
from .access import portal_contact, public_articles, shares_company_tickets, tickets_for
from .forms import (
    LoginLinkForm,
    MessageForm,
    NewTicketForm,
    PortalSettingsForm,
    RegisterForm,
    image_type,
)
from .models import FormSubmission, LoginLink, PortalSettings

PAGE_SIZE = 25
# A person writes a few messages in ten minutes; a script writes hundreds. Past this many, the
# form says to wait (nothing typed is lost: the refused form is shown again, filled in).
FLOOD_MESSAGES = 20
FLOOD_WINDOW = timedelta(minutes=10)


def _private(response: HttpResponse) -> HttpResponse:
    """Pages with a customer's tickets: never indexed, never cached, and no Referer leaves for
    another site (the address of a link page is its key). Not "no-referrer": browsers then
    send `Origin: null` with the page's own forms, which CSRF protection rightly refuses."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    return response


def customer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in contacts only. Agents go to their workspace; anonymous visitors sign in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        if request.user.is_agent:
            return redirect("tickets:overview")
        contact = portal_contact(request.user)
        if contact is None:
            return render(request, "portal/no_contact.html", status=403)
        request.contact = contact  # type: ignore[attr-defined]
        return _private(view(request, *args, **kwargs))

    return wrapper


def _submit_once(request: HttpRequest, who: str, carry_out: Callable[[], str]) -> str:
    """Carry out a form post at most once per form shown; returns where it leads.

    Each form carries a random `once` key. Its first post stores the key with the result in
    the same transaction; a second post with that key (a double click, a reload that resends)
    finds it and leads to the same place. Two posts at the same instant: the unique key lets
    one commit and rolls the other back, which then finds the first one's result."""
    once = request.POST.get("once", "")
    if not once or len(once) > 64:
        return carry_out()
    key = token_hash(f"{who}:{once}")
    try:
        with transaction.atomic():
            done = FormSubmission.objects.filter(key=key).first()
            if done is not None:
                return done.result_url
            url = carry_out()
            FormSubmission.objects.create(key=key, result_url=url)
            return url
    except IntegrityError:
        return FormSubmission.objects.get(key=key).result_url


def _flooding(contact: Contact) -> bool:
    since = timezone.now() - FLOOD_WINDOW
    recent = Article.objects.filter(
        author_contact=contact, kind=ArticleKind.CUSTOMER, created_at__gte=since
    )
    return recent.count() >= FLOOD_MESSAGES


FLOOD_MESSAGE = _lazy(
    "You have sent many messages in the last few minutes. Please wait a little and send again."
)


def _once(request: HttpRequest) -> str:
    """The key for the form being shown (kept when a refused form is shown again)."""
    posted = request.POST.get("once", "")
    return posted if 0 < len(posted) <= 64 else secrets.token_urlsafe(16)


def _portal_ticket(request: HttpRequest, number: int) -> Ticket:
    qs = tickets_for(request.contact).select_related("queue", "owner", "contact")  # type: ignore[attr-defined]
    return get_object_or_404(qs, number=number)


# --- Signing in -------------------------------------------------------------------------------


class PortalLoginView(LoginView):
    """Password sign-in, with the one-time link offered beside it."""

    template_name = "portal/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["link_form"] = LoginLinkForm()
        context["portal"] = PortalSettings.current()
        return context

    def get_default_redirect_url(self) -> str:
        return reverse("portal:tickets")


def _send_sign_in_mail(user: User, purpose: str) -> None:
    raw = links.issue_login_link(user, purpose)
    if raw is None:
        return  # asked too often: the same answer, but no more mail to that address
    name = "portal:verify" if purpose == LoginLink.Purpose.VERIFY else "portal:login_link"
    # From the configured address, never the request's Host header (a forged one would send
    # the customer a link to someone else's site).
    url = settings.BASE_URL + reverse(name, args=[raw])
    events.publish("portal.sign_in_link", user=user, url=url, purpose=purpose)


def _customer_for_address(address: str) -> User | None:
    """The customer login for an address, made on first use for a contact we know."""
    user = User.objects.filter(email__iexact=address).first()
    if user is not None:
        return user if user.role == Role.CUSTOMER and user.is_active else None
    contact = (
        Contact.objects.filter(email__iexact=address, user=None).order_by("pk").first()
        if address
        else None
    )
    if contact is None:
        return None
    with transaction.atomic():
        user = User.objects.create_user(
            address, None, full_name=contact.name or address, role=Role.CUSTOMER
        )
        contact.user = user
        contact.save(update_fields=["user"])
    return user


@require_POST
def login_link_request(request: HttpRequest) -> HttpResponse:
    """Mail a one-time sign-in link. The answer never tells whether the address is known."""
    form = LoginLinkForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "portal/login.html",
            {"form": LoginForm(request), "link_form": form, "portal": PortalSettings.current()},
            status=400,
        )
    user = _customer_for_address(form.cleaned_data["email"].strip().lower())
    if user is not None:
        _send_sign_in_mail(user, LoginLink.Purpose.LOGIN)
    return render(request, "portal/link_sent.html", {"email": form.cleaned_data["email"]})


def _spend_link(request: HttpRequest, token: str, purpose: str) -> HttpResponse:
    """GET shows a button; only the POST spends the link, so a mail scanner that follows links
    does not use up (or use) the customer's sign-in."""
    if request.method != "POST":
        return _private(render(request, "portal/confirm_link.html", {"purpose": purpose}))
    user = links.use_login_link(token, purpose)
    if user is None:
        return _private(render(request, "portal/link_invalid.html", status=404))
    if purpose == LoginLink.Purpose.VERIFY:
        _verify(user)
    if not user.is_active or user.role != Role.CUSTOMER:
        return _private(render(request, "portal/link_invalid.html", status=404))
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("portal:tickets")


def login_link(request: HttpRequest, token: str) -> HttpResponse:
    return _spend_link(request, token, LoginLink.Purpose.LOGIN)


def verify(request: HttpRequest, token: str) -> HttpResponse:
    return _spend_link(request, token, LoginLink.Purpose.VERIFY)


@transaction.atomic
def _verify(user: User) -> None:
    """A registered address is proven: activate the login and give it its contact — the one
    mail already made for that address, if nobody else has claimed it."""
    if user.is_active:
        return
    user.is_active = True
    user.save(update_fields=["is_active"])
    contact = Contact.objects.filter(email__iexact=user.email, user=None).order_by("pk").first()
    if contact is None:
        Contact.objects.create(name=user.full_name, email=user.email, user=user)
    else:
        contact.user = user
        contact.save(update_fields=["user"])


def register(request: HttpRequest) -> HttpResponse:
    portal = PortalSettings.current()
    if not portal.self_registration:
        raise Http404
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        address = form.cleaned_data["email"].strip().lower()
        existing = User.objects.filter(email__iexact=address).first()
        if existing is None:
            user = User.objects.create_user(
                address,
                form.cleaned_data["password"],
                full_name=form.cleaned_data["name"],
                role=Role.CUSTOMER,
                is_active=False,  # nothing is shown until the address is verified
            )
            _send_sign_in_mail(user, LoginLink.Purpose.VERIFY)
        elif existing.role == Role.CUSTOMER:
            # Already registered: a sign-in link instead; the page says the same either way.
            purpose = LoginLink.Purpose.LOGIN if existing.is_active else LoginLink.Purpose.VERIFY
            _send_sign_in_mail(existing, purpose)
        return render(request, "portal/link_sent.html", {"email": address, "registered": True})
    return render(request, "portal/register.html", {"form": form, "portal": portal})


# --- The customer's tickets -----------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("tickets:overview" if request.user.is_agent else "portal:tickets")
    return render(request, "portal/home.html", {"portal": PortalSettings.current()})


@customer_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    contact: Contact = request.contact  # type: ignore[attr-defined]
    show_closed = request.GET.get("show") == "closed"
    company_wide = request.GET.get("scope") == "company" and shares_company_tickets(contact)
    qs = tickets_for(contact, company_wide=company_wide)
    statuses = [Status.RESOLVED, Status.CLOSED] if show_closed else ACTIVE_STATUSES
    qs = qs.filter(status__in=statuses).select_related("contact").order_by("-updated_at", "-pk")
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    rows = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    return render(
        request,
        "portal/tickets.html",
        {
            "tickets": rows[:PAGE_SIZE],
            "page": page,
            "has_next": len(rows) > PAGE_SIZE,
            "show_closed": show_closed,
            "company_wide": company_wide,
            "can_see_company": shares_company_tickets(contact),
            "contact": contact,
        },
    )


@customer_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    contact: Contact = request.contact  # type: ignore[attr-defined]
    portal = PortalSettings.current()
    form = NewTicketForm(request.POST or None, request.FILES or None, portal=portal)
    if request.method == "POST" and form.is_valid():
        queue = form.cleaned_data.get("queue") or portal.queue_for_new_tickets()
        if _flooding(contact):
            form.add_error(None, FLOOD_MESSAGE)
        elif queue is None:
            form.add_error(None, _("Requests cannot be received right now. Please mail us."))
        else:

            def create() -> str:
                ticket = actions.create_ticket(
                    contact,
                    queue=queue,
                    title=form.cleaned_data["title"],
                    body_html=form.body_html,
                    attachments=form.cleaned_data.get("attachments") or [],
                    **form.ticket_fields(),
                )
                messages.success(
                    request,
                    _("Thank you. Your request is registered as %(number)s.")
                    % {"number": ticket.display_number},
                )
                return reverse("portal:ticket", args=[ticket.number])

            try:
                return redirect(_submit_once(request, f"contact-{contact.pk}", create))
            except TicketError as exc:
                form.add_error(None, str(exc))
    return render(
        request, "portal/new.html", {"form": form, "portal": portal, "once": _once(request)}
    )


def _thread_context(ticket: Ticket, form: MessageForm, **extra: Any) -> dict[str, Any]:
    return {
        "ticket": ticket,
        "articles": list(public_articles(ticket)),
        "form": form,
        "is_closed": ticket.status == Status.CLOSED,
        "can_reopen": actions.can_reopen(ticket),
        **extra,
    }


def _add_message(
    request: HttpRequest, contact: Contact, ticket: Ticket, form: MessageForm, token: str = ""
) -> str:
    actions.add_message(contact, ticket, form.body_html, form.cleaned_data.get("attachments") or [])
    messages.success(request, _("Your message has been added."))
    if token:
        return reverse("portal:link", args=[token])
    return reverse("portal:ticket", args=[ticket.number])


@customer_required
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    contact: Contact = request.contact  # type: ignore[attr-defined]
    ticket = _portal_ticket(request, number)
    form = MessageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid() and _flooding(contact):
        form.add_error(None, FLOOD_MESSAGE)
    if request.method == "POST" and form.is_valid():
        try:
            return redirect(
                _submit_once(
                    request,
                    f"contact-{contact.pk}",
                    lambda: _add_message(request, contact, ticket, form),
                )
            )
        except TicketError as exc:
            form.add_error(None, str(exc))
    context = _thread_context(
        ticket,
        form,
        once=_once(request),
        post_url=reverse("portal:ticket", args=[number]),
        close_url=reverse("portal:close", args=[number]),
        reopen_url=reverse("portal:reopen", args=[number]),
        attachment_url=reverse("portal:attachment", args=[number, 0]).rsplit("0/", 1)[0],
    )
    return render(request, "portal/ticket.html", context, status=400 if form.errors else 200)


@customer_required
@require_POST
def ticket_close(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _portal_ticket(request, number)
    actions.close(request.contact, ticket)  # type: ignore[attr-defined]
    messages.success(request, _("The ticket is closed. Thank you!"))
    return redirect("portal:ticket", number=number)


@customer_required
@require_POST
def ticket_reopen(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _portal_ticket(request, number)
    try:
        actions.reopen(request.contact, ticket)  # type: ignore[attr-defined]
    except TicketError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The ticket is open again."))
    return redirect("portal:ticket", number=number)


def _public_attachment(ticket: Ticket, pk: int) -> FileResponse:
    """A file of the public thread only: never one of a note or a discussion post."""
    attachment = get_object_or_404(
        Attachment, pk=pk, ticket=ticket, article__kind__in=PUBLIC_KINDS, article__deleted_at=None
    )
    return _private(
        stored_file_response(attachment.file, attachment.filename, attachment.content_type)
    )


@customer_required
def attachment_download(request: HttpRequest, number: int, pk: int) -> FileResponse:
    return _public_attachment(_portal_ticket(request, number), pk)


# --- Ticket links (no login) -------------------------------------------------------------------


def _link_or_404(token: str) -> Any:
    link = links.usable_ticket_link(token)
    if link is None:
        raise Http404
    return link


def link_page(request: HttpRequest, token: str) -> HttpResponse:
    """One ticket for the contact the link was mailed to: status, public thread, add more."""
    link = _link_or_404(token)
    ticket = link.ticket
    form = MessageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid() and _flooding(link.contact):
        form.add_error(None, FLOOD_MESSAGE)
    if request.method == "POST" and form.is_valid():
        try:
            return redirect(
                _submit_once(
                    request,
                    f"link-{link.pk}",
                    lambda: _add_message(request, link.contact, ticket, form, token=token),
                )
            )
        except TicketError as exc:
            form.add_error(None, str(exc))
    context = _thread_context(
        ticket,
        form,
        once=_once(request),
        post_url=reverse("portal:link", args=[token]),
        attachment_url=reverse("portal:link", args=[token]) + "files/",
        via_link=True,
    )
    response = render(request, "portal/ticket.html", context, status=400 if form.errors else 200)
    return _private(response)


def link_attachment(request: HttpRequest, token: str, pk: int) -> FileResponse:
    return _public_attachment(_link_or_404(token).ticket, pk)


@agent_required
@require_POST
def revoke_links(request: HttpRequest, number: int) -> HttpResponse:
    """An agent ends every customer link of a ticket (e.g. a mail was forwarded to the wrong
    person). New mail to the contact carries a new link."""
    ticket = get_object_or_404(Ticket.objects.visible_to(request.user), number=number)
    count = links.revoke_ticket_links(ticket)
    messages.success(request, _("%(count)s customer links revoked.") % {"count": count})
    next_url = request.POST.get("next") or reverse("tickets:detail", args=[number])
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse("tickets:detail", args=[number])
    return redirect(next_url)


# --- The look and the settings ---------------------------------------------------------------


def logo(request: HttpRequest) -> HttpResponse:
    portal = PortalSettings.current()
    if not portal.logo:
        raise Http404
    with portal.logo.open("rb") as handle:
        data = handle.read()
    content_type = image_type(data[:16])
    if content_type is None:
        raise Http404
    response = HttpResponse(data, content_type=content_type)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "public, max-age=300"
    return response


def brand_logo(request: HttpRequest, code: str) -> HttpResponse:
    """A brand's logo, for its customer pages, forms and the settings' preview. Public, like
    the portal's logo; served only as PNG, JPEG or WebP, sandboxed."""
    brand = Brand.objects.filter(code__iexact=code[:8]).first()
    if brand is None or not brand.logo:
        raise Http404
    with brand.logo.open("rb") as handle:
        data = handle.read()
    content_type = image_type(data[:16])
    if content_type not in ("image/png", "image/jpeg", "image/webp"):
        raise Http404
    response = HttpResponse(data, content_type=content_type)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=300"
    return response


@admin_required
def portal_settings(request: HttpRequest) -> HttpResponse:
    portal = PortalSettings.current()
    form = PortalSettingsForm(request.POST or None, request.FILES or None, instance=portal)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Portal settings saved."))
        return redirect("portal:settings")
    return render(
        request,
        "portal/settings.html",
        {"form": form, "section": "portal", "sections": SECTIONS},
    )
