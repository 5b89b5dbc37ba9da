"""The REST API's views (/api/v1/). Thin: each finds the object the way the UI does (404 for
what the user may not see), checks input with a serializer and calls the same action or form
as the agent UI. Authentication, permissions, throttling and error shapes are set once in
settings.REST_FRAMEWORK."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from helpa.accounts.models import Team, User
from helpa.crm.models import Brand, Company, Contact, ContactPhone, brand_allowed_q
from helpa.tickets import actions
from helpa.tickets.models import (
    Article,
    Attachment,
    Channel,
    Queue,
    Status,
    Ticket,
    TimeEntry,
)
from helpa.tickets.overview import VIEWS, build_overview
from helpa.tickets.views_contacts import search_companies, search_contacts

from . import crm_writes, serializers
from .errors import PreconditionFailed
from .filters import TICKET_SORTS, check_params, ticket_list_params

# --- Concurrency: ETag is the ticket's version; If-Match must name the current one ------------


def etag(ticket: Ticket) -> str:
    return f'"{ticket.version}"'


def expected_version(request: Request, ticket: Ticket) -> int | None:
    """The version a write is based on, from If-Match: None when the client sent none (or
    "*"); 412 at once when it names another version than the current one. The action checks
    the returned version again under the row lock."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    tags = {t.strip().removeprefix("W/").strip('"') for t in header.split(",")}
    if str(ticket.version) not in tags:
        raise PreconditionFailed()
    return ticket.version


def _with_etag(response: Response, ticket: Ticket) -> Response:
    response["ETag"] = etag(ticket)
    return response


# --- Tickets -------------------------------------------------------------------------------------


def _ticket_for(request: Request, number: int, *, thread: bool = False) -> Ticket:
    """The ticket behind a URL, or 404 when it does not exist or the user may not see it."""
    qs = Ticket.objects.visible_to(request.user)
    if thread:
        qs = qs.select_related("parent").prefetch_related(
            Prefetch(
                "articles",
                queryset=Article.objects.select_related(
                    "author", "author_contact"
                ).prefetch_related(
                    Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
                ),
            ),
            # Only the sub-tickets the user may open: even a number is not theirs to see.
            Prefetch(
                "children",
                queryset=Ticket.objects.visible_to(request.user).only("id", "number", "parent_id"),
            ),
            Prefetch("followers", queryset=User.objects.only("id")),
        )
    return get_object_or_404(qs, number=number)


def _ticket_response(request: Request, number: int, code: int = status.HTTP_200_OK) -> Response:
    ticket = _ticket_for(request, number, thread=True)
    data = serializers.TicketSerializer(ticket, context={"request": request}).data
    return _with_etag(Response(data, status=code), ticket)


class _OneTicket(generics.GenericAPIView):
    """A view of one ticket (by its number) and its parts."""

    lookup_field = "number"

    def get_queryset(self) -> QuerySet[Ticket]:
        # Also what the browsable API's forms read: the tickets the user may see.
        return Ticket.objects.visible_to(self.request.user)


TICKET_LIST_PARAMETERS = [
    OpenApiParameter("view", str, enum=list(VIEWS), description="As the overview's; default all."),
    OpenApiParameter("sort", str, enum=list(TICKET_SORTS)),
    OpenApiParameter("q", str, description="Search words or a ticket number."),
    OpenApiParameter("status", str, many=True, enum=list(Status.values)),
    OpenApiParameter("priority", int, many=True),
    OpenApiParameter("owner", str, many=True, description="User ids, `me` or `none`."),
    OpenApiParameter("due", str, enum=["overdue", "today", "week", "none"]),
    *(
        OpenApiParameter(key, int, many=True)
        for key in ("queue", "team", "type", "category", "company")
    ),
]


class TicketList(generics.ListCreateAPIView):
    """Tickets the user may see, filtered as in the overview; and creating one."""

    serializer_class = serializers.TicketListSerializer

    def get_queryset(self) -> QuerySet[Ticket]:
        params = ticket_list_params(self.request.query_params)
        return build_overview(self.request.user, params).queryset

    def cursor_ordering(self, request: Request) -> tuple[str, ...]:
        return TICKET_SORTS[request.query_params.get("sort") or "updated"]

    @extend_schema(parameters=TICKET_LIST_PARAMETERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=serializers.TicketWriteSerializer, responses={201: serializers.TicketSerializer}
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_params(request.query_params, ())
        form = serializers.TicketWriteSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        changes = form.changes()
        ticket = actions.open_ticket(
            request.user,
            queue=changes.pop("queue"),
            title=changes.pop("title"),
            description=changes.pop("description", ""),
            channel=Channel.API,
            **changes,
        )
        response = _ticket_response(request, ticket.number, status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(
            reverse("api:ticket", args=[ticket.number])
        )
        return response


class TicketDetail(_OneTicket):
    """One ticket with its thread; PATCH changes fields (send If-Match with its ETag)."""

    serializer_class = serializers.TicketSerializer

    def get(self, request: Request, number: int) -> Response:
        check_params(request.query_params, ())
        return _ticket_response(request, number)

    @extend_schema(
        request=serializers.TicketWriteSerializer,
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER)],
    )
    def patch(self, request: Request, number: int) -> Response:
        ticket = _ticket_for(request, number)
        version = expected_version(request, ticket)
        form = serializers.TicketWriteSerializer(
            data=request.data, partial=True, context={"request": request}
        )
        form.is_valid(raise_exception=True)
        try:
            actions.update_ticket(request.user, ticket, form.changes(), expected_version=version)
        except actions.StaleTicket as stale:
            raise PreconditionFailed() from stale
        return _ticket_response(request, number)


class TicketStatus(_OneTicket):
    """Move a ticket to a status (Closed closes it as the Close button does)."""

    serializer_class = serializers.StatusWriteSerializer

    @extend_schema(
        responses=serializers.TicketSerializer,
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER)],
    )
    def post(self, request: Request, number: int) -> Response:
        ticket = _ticket_for(request, number)
        version = expected_version(request, ticket)
        form = serializers.StatusWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            if data["status"] == Status.CLOSED:
                actions.close_ticket(
                    request.user,
                    ticket,
                    expected_version=version,
                    close_children=data["close_children"],
                )
            else:
                actions.set_status(
                    request.user,
                    ticket,
                    data["status"],
                    expected_version=version,
                    on_hold_until=data.get("on_hold_until"),
                )
        except actions.StaleTicket as stale:
            raise PreconditionFailed() from stale
        return _ticket_response(request, number)


class _ArticleCreate(_OneTicket):
    serializer_class = serializers.ArticleWriteSerializer
    add = staticmethod(actions.add_reply)

    @extend_schema(
        responses={201: serializers.ArticleSerializer},
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER)],
    )
    def post(self, request: Request, number: int) -> Response:
        ticket = _ticket_for(request, number)
        # A reply written to a version the client has seen: refused when the ticket moved on.
        expected_version(request, ticket)
        form = serializers.ArticleWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        article = self.add(
            request.user,
            ticket,
            serializers.as_html(data["body"], data["format"]),
            time_spent_minutes=data["time_spent_minutes"],
            billable=data["billable"],
            attachments=data["files"],
            send_by=data["send_by"],  # a note ignores it
        )
        body = serializers.ArticleSerializer(
            Article.objects.select_related("author", "author_contact")
            .prefetch_related("attachments")
            .get(pk=article.pk)
        ).data
        return _with_etag(Response(body, status=status.HTTP_201_CREATED), ticket)


class TicketReply(_ArticleCreate):
    """A reply to the contact (mailed as from the UI)."""

    add = staticmethod(actions.add_reply)


class TicketNote(_ArticleCreate):
    """An internal note, never shown to the contact."""

    add = staticmethod(actions.add_note)


class TicketChildren(_OneTicket, generics.ListAPIView):
    """A ticket's sub-tickets (those the user may see), as rows of the ticket list. A sub-ticket
    is opened by passing `parent` when creating a ticket."""

    serializer_class = serializers.TicketListSerializer

    def get_queryset(self) -> QuerySet[Ticket]:
        if getattr(self, "swagger_fake_view", False):
            return Ticket.objects.none()
        check_params(self.request.query_params, ())
        parent = _ticket_for(self.request, self.kwargs["number"])
        return Ticket.objects.visible_to(self.request.user).filter(parent=parent)


class TicketAttachments(_OneTicket, generics.ListAPIView):
    """The files of a ticket: its description's and every entry's, internal notes' included
    (as on the ticket page)."""

    serializer_class = serializers.TicketAttachmentSerializer

    def get_queryset(self) -> QuerySet[Attachment]:
        if getattr(self, "swagger_fake_view", False):
            return Attachment.objects.none()
        check_params(self.request.query_params, ())
        self.ticket = _ticket_for(self.request, self.kwargs["number"])
        return Attachment.objects.filter(ticket=self.ticket)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "ticket": getattr(self, "ticket", None)}


class AttachmentDownload(_OneTicket):
    """One file of a ticket, always as a download (never rendered on our origin)."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The file answers any Accept header (`application/octet-stream`, the file's type);
        # the renderers only shape the JSON errors.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, number: int, pk: int) -> FileResponse:
        check_params(request.query_params, ())
        ticket = _ticket_for(request, number)
        # Only a file of this ticket: another ticket's id is "not found", as in the UI.
        attachment = get_object_or_404(Attachment, pk=pk, ticket=ticket)
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.filename,
            content_type=attachment.content_type or "application/octet-stream",
        )
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class TicketTimeEntries(_OneTicket, generics.ListAPIView):
    """The time logged on a ticket (with replies and notes, or on its own); POST logs time
    without writing in the thread."""

    serializer_class = serializers.TimeEntrySerializer

    def get_queryset(self) -> QuerySet[TimeEntry]:
        if getattr(self, "swagger_fake_view", False):
            return TimeEntry.objects.none()
        check_params(self.request.query_params, ())
        ticket = _ticket_for(self.request, self.kwargs["number"])
        return TimeEntry.objects.filter(ticket=ticket)

    @extend_schema(
        request=serializers.TimeEntryWriteSerializer,
        responses={201: serializers.TimeEntrySerializer},
    )
    def post(self, request: Request, number: int) -> Response:
        check_params(request.query_params, ())
        ticket = _ticket_for(request, number)
        form = serializers.TimeEntryWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        entry = actions.log_time_entry(request.user, ticket, **form.validated_data)
        return Response(serializers.TimeEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class TicketTimeEntry(_OneTicket):
    """One time entry of a ticket. Its author or an admin marks it billable or not, or deletes
    it, as on the ticket page."""

    serializer_class = serializers.TimeEntrySerializer

    def _entry(self, request: Request, number: int, pk: int, *, change: bool = False) -> TimeEntry:
        """The entry, on a ticket the user may open (else 404), that they may change (else
        403) — tickets/views_time.py's rule."""
        check_params(request.query_params, ())
        ticket = _ticket_for(request, number)
        entry = get_object_or_404(TimeEntry, pk=pk, ticket=ticket)
        if change and not actions.may_change_time_entry(request.user, entry):
            raise exceptions.PermissionDenied(
                _("Only the agent who logged the time or an admin may change it.")
            )
        return entry

    def get(self, request: Request, number: int, pk: int) -> Response:
        return Response(serializers.TimeEntrySerializer(self._entry(request, number, pk)).data)

    @extend_schema(request=serializers.TimeEntryChangeSerializer)
    def patch(self, request: Request, number: int, pk: int) -> Response:
        entry = self._entry(request, number, pk, change=True)
        form = serializers.TimeEntryChangeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        entry = actions.set_time_entry_billable(
            request.user, entry, form.validated_data["billable"]
        )
        return Response(serializers.TimeEntrySerializer(entry).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, number: int, pk: int) -> Response:
        actions.delete_time_entry(request.user, self._entry(request, number, pk, change=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TicketFollowers(_OneTicket):
    """The colleagues who follow a ticket; POST adds one."""

    serializer_class = serializers.UserSerializer

    def get(self, request: Request, number: int) -> Response:
        ticket = _ticket_for(request, number)
        users = ticket.followers.order_by("full_name", "id")
        return Response(serializers.UserSerializer(users, many=True).data)

    @extend_schema(
        request=serializers.FollowerWriteSerializer,
        responses=serializers.UserSerializer(many=True),
    )
    def post(self, request: Request, number: int) -> Response:
        ticket = _ticket_for(request, number)
        form = serializers.FollowerWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        actions.follow(request.user, ticket, form.validated_data["user"])
        return self.get(request, number)


class TicketFollower(_OneTicket):
    serializer_class = serializers.UserSerializer

    @extend_schema(responses={204: None})
    def delete(self, request: Request, number: int, user_id: int) -> Response:
        ticket = _ticket_for(request, number)
        colleague = get_object_or_404(User.objects.agents(), pk=user_id)
        actions.unfollow(request.user, ticket, colleague)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Contacts and companies ----------------------------------------------------------------------


def _contacts(user: User) -> QuerySet[Contact]:
    return Contact.objects.visible_to(user).prefetch_related(
        "emails", Prefetch("phones", queryset=ContactPhone.objects.order_by("id"))
    )


def _companies(user: User) -> QuerySet[Company]:
    return Company.objects.visible_to(user).prefetch_related("phones", "domains")


class ContactList(generics.ListCreateAPIView):
    """Contacts the user may see (brand limits), searched as on the contacts page."""

    serializer_class = serializers.ContactSerializer

    def get_queryset(self) -> QuerySet[Contact]:
        params = self.request.query_params
        check_params(params, ("q", "company"))
        contacts = search_contacts(params.get("q", ""), _contacts(self.request.user))
        if params.get("company"):
            contacts = contacts.filter(company=params["company"])
        return contacts

    @extend_schema(
        parameters=[OpenApiParameter("q", str), OpenApiParameter("company", int)],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=serializers.ContactWriteSerializer, responses={201: serializers.ContactSerializer}
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = serializers.ContactWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        contact = crm_writes.save_contact(request.user, dict(form.validated_data))
        data = serializers.ContactSerializer(_contacts(request.user).get(pk=contact.pk)).data
        return Response(data, status=status.HTTP_201_CREATED)


class ContactDetail(generics.RetrieveAPIView):
    serializer_class = serializers.ContactSerializer

    def get_queryset(self) -> QuerySet[Contact]:
        return _contacts(self.request.user)

    @extend_schema(request=serializers.ContactWriteSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        contact = self.get_object()
        form = serializers.ContactWriteSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        crm_writes.save_contact(request.user, dict(form.validated_data), contact)
        return Response(serializers.ContactSerializer(self.get_queryset().get(pk=pk)).data)


class CompanyList(generics.ListCreateAPIView):
    """Companies the user may see (brand limits), searched as on the companies page."""

    serializer_class = serializers.CompanySerializer

    def get_queryset(self) -> QuerySet[Company]:
        params = self.request.query_params
        check_params(params, ("q",))
        return search_companies(params.get("q", ""), _companies(self.request.user))

    @extend_schema(parameters=[OpenApiParameter("q", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=serializers.CompanyWriteSerializer, responses={201: serializers.CompanySerializer}
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = serializers.CompanyWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        company = crm_writes.save_company(request.user, dict(form.validated_data))
        data = serializers.CompanySerializer(_companies(request.user).get(pk=company.pk)).data
        return Response(data, status=status.HTTP_201_CREATED)


class CompanyDetail(generics.RetrieveAPIView):
    serializer_class = serializers.CompanySerializer

    def get_queryset(self) -> QuerySet[Company]:
        return _companies(self.request.user)

    @extend_schema(request=serializers.CompanyWriteSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        company = self.get_object()
        form = serializers.CompanyWriteSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        crm_writes.save_company(request.user, dict(form.validated_data), company)
        return Response(serializers.CompanySerializer(self.get_queryset().get(pk=pk)).data)


# --- Read-only lists -----------------------------------------------------------------------------


class QueueList(generics.ListAPIView):
    """Queues the user may see (brand limits)."""

    serializer_class = serializers.QueueSerializer

    def get_queryset(self) -> QuerySet[Queue]:
        check_params(self.request.query_params, ())
        return Queue.objects.filter(brand_allowed_q(self.request.user))


class QueueDetail(generics.RetrieveAPIView):
    serializer_class = serializers.QueueSerializer

    def get_queryset(self) -> QuerySet[Queue]:
        return Queue.objects.filter(brand_allowed_q(self.request.user))


class TeamList(generics.ListAPIView):
    serializer_class = serializers.TeamSerializer

    def get_queryset(self) -> QuerySet[Team]:
        check_params(self.request.query_params, ())
        return Team.objects.prefetch_related(Prefetch("members", queryset=User.objects.only("id")))


class TeamDetail(generics.RetrieveAPIView):
    serializer_class = serializers.TeamSerializer
    queryset = Team.objects.prefetch_related(Prefetch("members", queryset=User.objects.only("id")))


class UserList(generics.ListAPIView):
    """The agents and admins (customers' logins are not listed)."""

    serializer_class = serializers.UserSerializer

    def get_queryset(self) -> QuerySet[User]:
        check_params(self.request.query_params, ())
        return User.objects.agents()


class UserDetail(generics.RetrieveAPIView):
    serializer_class = serializers.UserSerializer

    def get_queryset(self) -> QuerySet[User]:
        return User.objects.agents()


class BrandList(generics.ListAPIView):
    """The brands the user may see (all, unless limited to some)."""

    serializer_class = serializers.BrandSerializer

    def get_queryset(self) -> QuerySet[Brand]:
        check_params(self.request.query_params, ())
        return Brand.objects.filter(brand_allowed_q(self.request.user, "pk"))


class BrandDetail(generics.RetrieveAPIView):
    serializer_class = serializers.BrandSerializer

    def get_queryset(self) -> QuerySet[Brand]:
        return Brand.objects.filter(brand_allowed_q(self.request.user, "pk"))


class Me(generics.GenericAPIView):
    """The user the token (or session) acts as."""

    serializer_class = serializers.UserSerializer

    def get_queryset(self) -> QuerySet[User]:
        return User.objects.filter(pk=self.request.user.pk)

    def get(self, request: Request) -> Response:
        return Response(serializers.UserSerializer(request.user).data)
