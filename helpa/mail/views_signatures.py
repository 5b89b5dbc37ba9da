"""An agent's own signatures: the personal one and one per brand (M6's first and third levels).

The order a reply's mail takes its signature from: the agent's own for the ticket's brand → the
brand's → the agent's own → the general one (see outbound.signature_for). An agent limited to
brands sees only their brands here.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpa.accounts.permissions import agent_required
from helpa.crm.models import Brand, brand_allowed_q

from .models import AgentBrandSignature, AgentSignature

_PLACEHOLDERS = gettext_lazy("Placeholders: {agent}, {queue}, {number}.")


def _brands_for(user) -> list[Brand]:  # type: ignore[no-untyped-def]
    return list(Brand.objects.filter(brand_allowed_q(user, "pk")).order_by("code"))


class SignaturesForm(forms.Form):
    def __init__(self, *args, user, brands: list[Brand], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        personal = AgentSignature.objects.filter(user=user).first()
        own = dict(
            AgentBrandSignature.objects.filter(user=user).values_list("brand_id", "signature")
        )
        self.fields["personal"] = forms.CharField(
            label=_("My signature"),
            required=False,
            initial=personal.signature if personal else "",
            widget=forms.Textarea(attrs={"rows": 4}),
            help_text=_("Used for brands where you have no signature of your own.")
            + " "
            + str(_PLACEHOLDERS),
        )
        self.brands = brands
        for brand in brands:
            self.fields[f"brand_{brand.pk}"] = forms.CharField(
                label=_("My signature for %(brand)s") % {"brand": brand.name},
                required=False,
                initial=own.get(brand.pk, ""),
                widget=forms.Textarea(attrs={"rows": 4}),
                help_text=_("Empty: the brand's signature (or yours above when it has none)."),
            )

    @transaction.atomic
    def save(self, user) -> None:  # type: ignore[no-untyped-def]
        AgentSignature.objects.update_or_create(
            user=user, defaults={"signature": self.cleaned_data["personal"].strip()}
        )
        for brand in self.brands:
            text = self.cleaned_data[f"brand_{brand.pk}"].strip()
            if text:
                AgentBrandSignature.objects.update_or_create(
                    user=user, brand=brand, defaults={"signature": text}
                )
            else:
                AgentBrandSignature.objects.filter(user=user, brand=brand).delete()


@agent_required
def my_signatures(request: HttpRequest) -> HttpResponse:
    brands = _brands_for(request.user)
    form = SignaturesForm(request.POST or None, user=request.user, brands=brands)
    if request.method == "POST" and form.is_valid():
        form.save(request.user)
        messages.success(request, _("Your signatures are saved."))
        return redirect("mail:my_signatures")
    return render(
        request,
        "mail/my_signatures.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )
