"""Merging a duplicate ticket into another: pick the target by number, confirm with both titles
in view, then `actions.merge_tickets`. The ticket page links here ("Merge into…")."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpa.accounts.permissions import agent_required

from . import actions
from .models import Ticket
from .views import _ticket_for


class MergeForm(forms.Form):
    target = forms.CharField(
        label=gettext_lazy("Number of the ticket to merge into"), max_length=20
    )
    # Present on the confirm step only: the versions both titles were shown at.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    target_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean_target(self) -> int:
        raw = self.cleaned_data["target"].strip().lstrip("#").strip()
        if not raw.isdigit():
            raise forms.ValidationError(_("Give a ticket number, such as 10042."))
        return int(raw)


def _target_for(request: HttpRequest, number: int) -> Ticket | None:
    """The target the agent may open; None for one that does not exist or is not theirs
    (both read the same, so a number outside one's queues tells nothing)."""
    return (
        Ticket.objects.visible_to(request.user)
        .select_related("queue", "owner", "merged_into")
        .filter(number=number)
        .first()
    )


@agent_required
def ticket_merge(request: HttpRequest, number: int) -> HttpResponse:
    source = _ticket_for(request, number)
    data = (
        request.POST
        if request.method == "POST"
        else (request.GET if "target" in request.GET else None)
    )
    form = MergeForm(data, initial={"version": source.version})
    target = None
    if form.is_bound and form.is_valid():
        target = _target_for(request, form.cleaned_data["target"])
        if target is None:
            form.add_error("target", _("There is no ticket with that number that you can open."))
        elif request.method == "POST" and form.cleaned_data["confirm"]:
            try:
                actions.merge_tickets(
                    request.user,
                    source,
                    target,
                    expected_version=form.cleaned_data["version"],
                    expected_target_version=form.cleaned_data["target_version"],
                )
            except actions.StaleTicket:
                form.add_error(
                    None,
                    _("One of the tickets changed while you were looking. Check and merge again."),
                )
                source = _ticket_for(request, number)
                target = _target_for(request, target.number)
            except actions.TicketError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("%(source)s was merged into %(target)s.")
                    % {"source": source.display_number, "target": target.display_number},
                )
                return redirect("tickets:detail", number=target.number)
    return render(
        request,
        "tickets/merge.html",
        {
            "ticket": source,
            "target": target if not form.errors.get("target") else None,
            "form": form,
        },
    )
