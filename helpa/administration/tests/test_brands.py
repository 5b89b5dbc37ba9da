"""Settings → Brands (admins only): validation with clear messages and the form kept, the logo
sanitised, delete refused while queues use a brand, agents' brand limits."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from helpa.crm.models import Brand
from helpa.tickets.models import Queue

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def _good(**changes: object) -> dict:
    return {
        "code": "acme",
        "name": "Acme",
        "sender_address": "Support@Acme.example",
        "sender_name": "Acme support",
        "closing_greeting": "Hälsningar",
        "signature": "Acme AB",
        "agent_instructions": "Svara på engelska.",
        "primary_colour": "#aa0000",
        "accent_colour": "#ffeeee",
        **changes,
    }


def test_only_admins_reach_the_brand_pages(alice_client: Client, ada_client: Client) -> None:
    assert alice_client.get("/settings/brands/").status_code == 403
    assert alice_client.get("/settings/brands/new/").status_code == 403
    assert ada_client.get("/settings/brands/").status_code == 200


def test_a_brand_is_created_with_a_logo_and_shown(ada_client: Client) -> None:
    response = ada_client.post(
        "/settings/brands/new/",
        {**_good(), "logo": SimpleUploadedFile("logo.png", PNG, "image/png")},
    )
    assert response.status_code == 302
    brand = Brand.objects.get()
    assert (brand.code, brand.sender_address) == ("ACME", "support@acme.example")
    assert "ACME" in ada_client.get("/settings/brands/").content.decode()
    page = ada_client.get(f"/settings/brands/{brand.pk}/").content.decode()
    assert 'data-testid="logo-preview"' in page and 'data-testid="brand-preview"' in page
    logo = Client().get("/portal/logo/ACME/")
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": "TOOLONGID"}, "code", "at most 8 characters"),
        ({"code": "AC-ME"}, "code", "Use at most 8 letters (A–Z) and digits"),
        ({"sender_address": "not an address"}, "sender_address", "valid email address"),
        ({"primary_colour": "red"}, "primary_colour", "Write a colour as #rrggbb"),
        ({"accent_colour": "#12345"}, "accent_colour", "Write a colour as #rrggbb"),
    ],
)
def test_bad_input_is_refused_with_the_form_kept(
    ada_client: Client, changes: dict, field: str, message: str
) -> None:
    response = ada_client.post("/settings/brands/new/", _good(**changes))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'value="Acme support"' in html  # what was typed is kept
    assert not Brand.objects.exists()


def test_a_duplicate_id_is_refused(ada_client: Client) -> None:
    Brand.objects.create(code="ACME", name="Acme")
    response = ada_client.post("/settings/brands/new/", _good(code="acme"))
    assert response.status_code == 400
    assert "The id ACME is already used by another brand." in response.content.decode()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("x.svg", b"<svg onload=alert(1)></svg>", "image/svg+xml"),
            "PNG, JPEG or WebP",
        ),
        (SimpleUploadedFile("x.png", b"GIF89a" + b"0" * 20, "image/png"), "PNG, JPEG or WebP"),
        (SimpleUploadedFile("x.png", PNG + b"0" * 600_000, "image/png"), "at most 512 KB"),
    ],
)
def test_a_logo_that_is_not_a_small_image_is_refused(
    ada_client: Client, upload: SimpleUploadedFile, message: str
) -> None:
    response = ada_client.post("/settings/brands/new/", {**_good(), "logo": upload})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Brand.objects.exists()


def test_delete_is_refused_while_a_queue_uses_the_brand(ada_client: Client, support: Queue) -> None:
    brand = Brand.objects.create(code="ACME", name="Acme")
    support.brand = brand
    support.save()
    response = ada_client.post(f"/settings/brands/{brand.pk}/delete/", follow=True)
    assert "is used by the queues Support" in response.content.decode()
    assert Brand.objects.filter(pk=brand.pk).exists()
    support.brand = None
    support.save()
    ada_client.post(f"/settings/brands/{brand.pk}/delete/")
    assert not Brand.objects.filter(pk=brand.pk).exists()


def test_an_agents_brand_limits_are_edited_with_the_agent(ada_client: Client, alice) -> None:
    acme = Brand.objects.create(code="ACME", name="Acme")
    page = ada_client.get(f"/settings/agents/{alice.pk}/").content.decode()
    assert "Limited to brands" in page
    response = ada_client.post(
        f"/settings/agents/{alice.pk}/",
        {
            "full_name": alice.full_name,
            "email": alice.email,
            "role": "agent",
            "language": "",
            "is_active": "on",
            "teams": [t.pk for t in alice.teams.all()],
            "brands": [acme.pk],
        },
    )
    assert response.status_code == 302
    assert list(alice.brand_limits.all()) == [acme]
