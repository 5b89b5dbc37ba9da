"""Ticket templates and canned responses (automation/), read-only: what the agent UI offers the
user, chosen by automation's own functions (`templates_for`, `responses_for`) where the UI asks
about one ticket; a canned response filled in for a ticket as the reply editor inserts it."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from helpa.accounts.models import User
from helpa.automation.actions import responses_for, templates_for
from helpa.automation.models import CannedResponse, SubTicketTemplate, TicketTemplate
from helpa.crm.models import brand_allowed_q
from helpa.tickets.models import Ticket, visible_queue_ids

from . import serializers
from .filters import check_params, is_id

TICKET_PARAMETER = OpenApiParameter(
    "ticket",
    int,
    description="A ticket's number: only what is offered on that ticket, as on its page.",
)
TICKET_CHECK = {"ticket": is_id}


def _ticket_param(request: Request) -> Ticket | None:
    """The ticket `?ticket=<number>` names (checked by check_params): None without one, 404
    for a ticket the user may not open (as for one that does not exist)."""
    number = request.query_params.get("ticket")
    if not number:
        return None
    visible = Ticket.objects.visible_to(request.user).select_related("contact", "company")
    return get_object_or_404(visible, number=int(number))


# --- Templates ---------------------------------------------------------------------------------


def _templates(user: User) -> QuerySet[TicketTemplate]:
    """The templates the new-ticket menu offers (every active one, automation's
    `active_templates`), less those of a brand the user may not see: such a template could not
    be used on any of their queues (`brand_mismatch`)."""
    return (
        TicketTemplate.objects.filter(is_active=True)
        .filter(brand_allowed_q(user))
        .prefetch_related(
            Prefetch("sub_ticket_links", queryset=SubTicketTemplate.objects.order_by("position"))
        )
    )


class TemplateList(generics.ListAPIView):
    """The ticket templates the user may start a ticket from; with `?ticket=`, those they may
    apply to that ticket (of every brand or of its queue's brand)."""

    serializer_class = serializers.TicketTemplateSerializer

    def get_queryset(self) -> QuerySet[TicketTemplate]:
        check_params(self.request.query_params, TICKET_CHECK, TICKET_CHECK)
        templates = _templates(self.request.user)
        ticket = _ticket_param(self.request)
        if ticket is not None:
            templates = templates.filter(pk__in=[t.pk for t in templates_for(ticket)])
        return templates

    @extend_schema(parameters=[TICKET_PARAMETER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class TemplateDetail(generics.RetrieveAPIView):
    serializer_class = serializers.TicketTemplateSerializer

    def get_queryset(self) -> QuerySet[TicketTemplate]:
        check_params(self.request.query_params, ())
        return _templates(self.request.user)


# --- Canned responses --------------------------------------------------------------------------


def _canned(user: User) -> QuerySet[CannedResponse]:
    """The canned responses offered on some ticket the user may open: active ones, of every
    queue or of one of theirs, of every brand or of one they may see. On one ticket the
    composer offers fewer (`responses_for`)."""
    responses = CannedResponse.objects.filter(is_active=True).filter(brand_allowed_q(user))
    if not user.is_admin:
        responses = responses.filter(Q(queue__isnull=True) | Q(queue__in=visible_queue_ids(user)))
    return responses.select_related("queue")


class CannedResponseList(generics.ListAPIView):
    """The canned responses the user may use; with `?ticket=`, those the reply editor offers on
    that ticket, each filled in for it (`text`, `html`)."""

    serializer_class = serializers.CannedResponseSerializer

    def get_queryset(self) -> QuerySet[CannedResponse]:
        check_params(self.request.query_params, TICKET_CHECK, TICKET_CHECK)
        responses = _canned(self.request.user)
        self.ticket = _ticket_param(self.request)
        if self.ticket is not None:
            responses = responses.filter(pk__in=[r.pk for r in responses_for(self.ticket)])
        return responses

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "ticket": getattr(self, "ticket", None)}

    @extend_schema(parameters=[TICKET_PARAMETER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CannedResponseDetail(generics.RetrieveAPIView):
    """One canned response; with `?ticket=`, filled in for that ticket (400 when the reply
    editor does not offer it there)."""

    serializer_class = serializers.CannedResponseSerializer

    def get_queryset(self) -> QuerySet[CannedResponse]:
        return _canned(self.request.user)

    @extend_schema(parameters=[TICKET_PARAMETER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_params(request.query_params, TICKET_CHECK, TICKET_CHECK)
        response = self.get_object()
        ticket = _ticket_param(request)
        if ticket is not None and response.pk not in {r.pk for r in responses_for(ticket)}:
            raise ValidationError(
                {"ticket": [_("This canned response is not offered on this ticket.")]}
            )
        context = {**self.get_serializer_context(), "ticket": ticket}
        return Response(serializers.CannedResponseSerializer(response, context=context).data)
