"""Who may use the API: agents and admins, each seeing what they see in the UI. A read-only
token may only read."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from .models import ApiToken


class AgentWithTokenScope(BasePermission):
    message = _("The API is for agents only.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False  # DRF turns this into 401 with the Bearer challenge
        if not user.is_agent:
            return False
        token = request.auth
        if (
            isinstance(token, ApiToken)
            and not token.may_write
            and request.method not in SAFE_METHODS
        ):
            self.message = _("This token is read-only.")
            return False
        return True
