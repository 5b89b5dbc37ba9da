"""Every API error is JSON of one shape:

    {"detail": "…", "code": "…", "errors": {"field": ["…"]}}

`errors` only for invalid input, one list of messages per field ("non_field_errors" for the
whole). DRF's own errors, 404s and the actions' refusals all pass through here."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from helpa.tickets.actions import TicketError


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = gettext_lazy(
        "The ticket changed since the version in If-Match. Fetch it again and retry."
    )
    default_code = "precondition_failed"


def _flatten(detail: Any) -> Any:
    """Field errors as lists of strings; nested serializers keep their nesting."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [str(item) for item in detail]
        return [_flatten(item) for item in detail]
    return [str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, TicketError):
        # The actions' refusals (owner required, empty reply…): the user's input, not ours.
        exc = exceptions.ValidationError({"non_field_errors": [str(exc)]})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {
            "detail": _("The request is invalid; see errors."),
            "code": "invalid",
            "errors": _flatten(errors),
        }
    elif isinstance(exc, exceptions.APIException):
        response.data = {"detail": str(exc.detail), "code": _code(exc)}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = {"detail": str(detail), "code": "error"}
    return response


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code
