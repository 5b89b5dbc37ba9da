"""The data migration that moves phone numbers into their tables loses nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.fixture
def back_to_the_latest_schema() -> Iterator[None]:
    """Going back to an old crm state also undoes what depends on it (later crm, automation
    and other apps' migrations): the tests after this one need every table again."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_phones_and_numbers_move_and_nothing_is_lost(back_to_the_latest_schema: None) -> None:
    executor = MigrationExecutor(connection)
    before = [("crm", "0006_contact_register")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Contact, Company = old.get_model("crm", "Contact"), old.get_model("crm", "Company")
    pia = Contact.objects.create(name="Pia", email="pia@x.se", phone="070-123 45 67")
    odd = Contact.objects.create(name="Odd", email="odd@x.se", phone="ring växeln", notes="VIP")
    first = Company.objects.create(
        name="A", organisation_number="5560360793", customer_number="K1", phone="08-123 456 00"
    )
    twin = Company.objects.create(name="B", organisation_number="556036-0793", customer_number="K1")
    bad = Company.objects.create(name="C", organisation_number="556036-0794")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    after = [("crm", "0008_phone_fields_into_tables")]
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    Contact, Company = new.get_model("crm", "Contact"), new.get_model("crm", "Company")
    ContactPhone = new.get_model("crm", "ContactPhone")
    CompanyPhone = new.get_model("crm", "CompanyPhone")

    assert list(
        ContactPhone.objects.filter(contact_id=pia.pk).values_list("number", flat=True)
    ) == ["+46701234567"]
    assert Contact.objects.get(pk=odd.pk).notes == "VIP\nPhone (not understood): ring växeln"
    assert CompanyPhone.objects.get(company_id=first.pk).number == "+46812345600"
    a, b, c = (Company.objects.get(pk=x.pk) for x in (first, twin, bad))
    assert (a.organisation_number, a.customer_number) == ("556036-0793", "K1")
    assert (b.organisation_number, b.customer_number) == ("", "")
    assert "Organisation number (also another company's): 556036-0793" in b.notes
    assert "Customer number (also another company's): K1" in b.notes
    assert c.organisation_number == "" and "(not valid): 556036-0794" in c.notes
