"""A contact form of a brand's queue, and the portal's ticket page of a brand's ticket, wear the
brand's name, logo and colours (C3); other pages keep the installation's look."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from helpa.crm.models import Brand
from helpa.portal.links import ticket_link_url
from helpa.tickets import actions

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


@pytest.fixture
def acme(queue_support) -> Brand:
    brand = Brand.objects.create(
        code="ACME", name="Acme Kundtjänst", primary_colour="#aa0000", accent_colour="#ffeeee"
    )
    brand.logo.save("logo.png", ContentFile(PNG))
    queue_support.brand = brand
    queue_support.save()
    return brand


def test_the_contact_form_of_a_brands_queue_wears_the_brand(contact_form, acme) -> None:
    client = Client()
    page = client.get(reverse("webforms:form", args=[contact_form.slug])).content.decode()
    assert "Acme Kundtjänst" in page and "/portal/logo/ACME/" in page
    css = client.get(reverse("webforms:stylesheet", args=[contact_form.slug])).content.decode()
    assert "--brand: #aa0000" in css and "--brand-soft: #ffeeee" in css


def test_the_portal_ticket_page_wears_the_brand(alice, queue_support, contact, acme) -> None:
    ticket = actions.open_ticket(alice, queue=queue_support, title="Fråga", contact=contact)
    url = ticket_link_url(ticket, contact).split("://", 1)[1].split("/", 1)[1]
    page = Client().get("/" + url, follow=True).content.decode()
    assert "Acme Kundtjänst" in page and "--brand: #aa0000" in page
    assert "/portal/logo/ACME/" in page
    home = Client().get(reverse("kb:home")).content.decode()
    assert "Acme Kundtjänst" not in home
