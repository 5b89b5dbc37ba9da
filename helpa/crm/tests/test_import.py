"""The contact and company import (C2): messy files from other systems, built in the test."""

from __future__ import annotations

import io
import time
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from helpa.crm.importing import Importer, guess_mapping, read_table
from helpa.crm.models import Company, CompanyPhone, Contact, ContactEmail, ContactPhone, ImportJob

# Swedish Excel's "CSV (semikolonavgränsad)": Windows-1252, semicolons; a BOM-less file.
SWEDISH_HEADER = "Namn;E-post;Telefon;Företag;Organisationsnummer;Kundnummer;Anteckningar;Språk"
SWEDISH_ROWS = [
    "Åsa Öberg;asa@example.se;070-123 45 67;Ärlig Städ AB;556036-0793;K-100;=SUM(A1:A2);svenska",
    "Örjan Ång;orjan@example.se;;Ärlig Städ AB;5560360793;K-100;+46 är ingen formel;sv",
    "Bad Org;bad@example.se;;Fel AB;556036-0794;;;",  # wrong check digit
    "Bad Phone;phone@example.se;12;Ärlig Städ AB;;;;",  # unreadable phone
    "Åsa Öberg;ASA@example.se;070-123 45 67;Ärlig Städ AB;556036-0793;K-100;;sv",  # duplicate
    "No Mail;inte-en-adress;;;;;;",  # bad e-mail
    ";;;;923609016;;;",  # company row without a name: a new company needs one
    "Eve English;eve@example.com;+47 912 34 567;;;;@mention;english",
]


def swedish_csv(tmp_path: Path, bom: bool = False, encoding: str = "cp1252") -> Path:
    text = "\r\n".join([SWEDISH_HEADER, *SWEDISH_ROWS]) + "\r\n"
    path = tmp_path / "kunder.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def run(path: Path, **kwargs):  # type: ignore[no-untyped-def]
    table = read_table(path)
    return Importer(guess_mapping(table.headers), **kwargs).run(table.rows)


def errors(result) -> dict[int, str]:  # type: ignore[no-untyped-def]
    return {e["row"]: e["reason"] for e in result.errors}


@pytest.mark.django_db
@pytest.mark.parametrize(("bom", "encoding"), [(False, "cp1252"), (True, "utf-8")])
def test_swedish_excel_csv(tmp_path: Path, bom: bool, encoding: str) -> None:
    result = run(swedish_csv(tmp_path, bom, encoding))

    asa = Contact.objects.get(email="asa@example.se")
    assert asa.name == "Åsa Öberg"
    assert asa.notes == "=SUM(A1:A2)"  # a formula-looking cell, stored as written
    assert asa.language == "sv"
    assert list(asa.phones.values_list("number", flat=True)) == ["+46701234567"]
    company = Company.objects.get(organisation_number="556036-0793")
    assert company.name == "Ärlig Städ AB" and company.customer_number == "K-100"
    orjan = Contact.objects.get(email="orjan@example.se")
    assert orjan.company == asa.company == company
    assert orjan.notes == "+46 är ingen formel"
    eve = Contact.objects.get(email="eve@example.com")
    assert eve.language == "en" and eve.notes == "@mention" and eve.company is None
    assert list(eve.phones.values_list("number", flat=True)) == ["+4791234567"]
    assert Company.objects.count() == 1

    rows = errors(result)
    assert set(rows) == {4, 5, 6, 7, 8}
    assert "check digit" in rows[4]
    assert "“12” is not a phone number" in rows[5]
    assert rows[6] == "Duplicate of row 2 (the same e-mail address): not imported."
    assert "“inte-en-adress” is not an e-mail address" in rows[7]
    assert "company name is missing" in rows[8]
    assert (result.created, result.updated, result.unchanged, result.failed) == (3, 0, 0, 5)


@pytest.mark.django_db
def test_the_same_file_twice_changes_nothing(tmp_path: Path) -> None:
    path = swedish_csv(tmp_path)
    run(path)
    before = (Contact.objects.count(), Company.objects.count(), ContactPhone.objects.count())
    again = run(path)
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 3, 5)
    assert (
        Contact.objects.count(),
        Company.objects.count(),
        ContactPhone.objects.count(),
    ) == before


@pytest.mark.django_db
def test_an_update_writes_only_mapped_fields_and_matches_by_any_address(tmp_path: Path) -> None:
    company = Company.objects.create(name="Old Name AB", customer_number="77", notes="keep")
    known = Contact.objects.create(name="Kim", email="kim@example.se", notes="keep me")
    ContactEmail.objects.create(contact=known, address="kim.other@example.se")
    path = tmp_path / "u.csv"
    path.write_text(
        "Email,Name,Customer number,Company\n"
        "KIM.OTHER@example.se,Kim Karlsson,77,New Name AB\n"
        "new@example.se,,77,\n"
    )
    result = run(path)
    known.refresh_from_db()
    company.refresh_from_db()
    assert known.name == "Kim Karlsson" and known.notes == "keep me"
    assert known.email == "kim@example.se" and known.company == company
    assert company.name == "New Name AB" and company.notes == "keep"
    new = Contact.objects.get(email="new@example.se")
    assert new.name == "new@example.se" and new.company == company
    assert (result.created, result.updated) == (1, 1)


@pytest.mark.django_db
def test_companies_by_organisation_number_and_tabs(tmp_path: Path) -> None:
    path = tmp_path / "bolag.txt"
    path.write_text(
        "Företag\tOrgnr\tVäxel\tAdress\tPostadress\n"
        "Nordbolaget AS\t923 609 016\t+47 22 12 34 56\tStorgata 1\tPostboks 4\n"
        "Nordbolaget AS\tNO923609016\t\t\t\n"
        "Okänt\t123\t\t\t\n",
        encoding="utf-8",
    )
    result = run(path)
    company = Company.objects.get(organisation_number="923609016")
    assert company.visiting_address == "Storgata 1" and company.postal_address == "Postboks 4"
    assert list(CompanyPhone.objects.values_list("number", flat=True)) == ["+4722123456"]
    assert errors(result) == {
        3: "Duplicate of row 2 (the same company): not imported.",
        4: "“123” is not an organisation number: a Swedish one has 10 digits (NNNNNN-NNNN), "
        "a Norwegian one 9.",
    }


@pytest.mark.django_db
def test_xlsx_formulas_are_text_and_numbers_lose_no_digits(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Email", "Mobile", "Company", "Org nr", "Notes"])
    sheet.append(["Ann", "ann@example.se", 46701234567, "Ann AB", "556036-0793", "=1+1"])
    sheet.append([None, None, None, None, None, None])  # an empty row keeps its number
    sheet.append(["Bo", "bo@", None, None, None, "-x"])
    path = tmp_path / "export.xlsx"
    book.save(path)

    result = run(path)
    ann = Contact.objects.get(email="ann@example.se")
    assert ann.notes == "=1+1"
    assert ann.phones.get().number == "+46701234567"
    assert ann.company.organisation_number == "556036-0793"
    assert list(errors(result)) == [4]


@pytest.mark.django_db
def test_dry_run_writes_nothing_and_describes_the_rows(tmp_path: Path) -> None:
    Contact.objects.create(name="Åsa", email="asa@example.se")
    result = run(swedish_csv(tmp_path), dry_run=True, keep_outcomes=True)
    assert Contact.objects.count() == 1 and Company.objects.count() == 0
    first, second = result.outcomes[:2]
    assert (first.contact_action, first.contact, first.company_action, first.company) == (
        "updated",
        "asa@example.se",
        "created",
        "Ärlig Städ AB",
    )
    assert "name" in first.changes and "company" in first.changes
    assert (second.contact_action, second.company_action) == ("created", "unchanged")


def test_header_guesses() -> None:
    assert guess_mapping(
        ["Namn", "E-post", "Mejl", "Mobil", "Telefon", "Kundnr", "Org.nr", "Språk", "Fax"]
    ) == [
        "name",
        "email",
        "",
        "phone",
        "phone",
        "customer_number",
        "organisation_number",
        "language",
        "",
    ]


# --- The command line ------------------------------------------------------------------------


def command(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import-contacts", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit:
        code = int(exit.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_command_line(tmp_path: Path) -> None:
    path = swedish_csv(tmp_path)
    code, out, err = command(str(path), "--dry-run")
    assert code == 1 and "Dry run: nothing was written." in out
    assert Contact.objects.count() == 0

    code, out, err = command(str(path))
    assert code == 1
    assert "3 created, 0 updated, 0 unchanged, 5 failed." in out
    assert "Row 6: Duplicate of row 2 (the same e-mail address): not imported." in err

    good = tmp_path / "good.csv"
    good.write_text("Mejl;Vem;Övrigt\nny@example.se;Ny Person;x\n")
    code, out, err = command(str(good), "--mapping", "Vem=name,3=notes")
    assert (code, err) == (0, "")
    assert "1 created" in out
    assert Contact.objects.get(email="ny@example.se").notes == "x"
    code, out, _err = command(str(good), "--mapping", "Vem=name,C=notes")
    assert code == 0 and "0 created, 0 updated, 1 unchanged, 0 failed." in out


@pytest.mark.django_db
def test_fifty_thousand_rows(tmp_path: Path) -> None:
    lines = ["Namn;E-post;Telefon;Företag;Kundnummer"]
    for i in range(50_000):
        lines.append(
            f"Person {i};p{i}@example.se;070-{i % 1000:03d} {i % 100:02d} 00;Bolag {i % 500};{i % 500}"
        )
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    start = time.monotonic()
    result = run(path)
    first = time.monotonic() - start
    assert (result.created, result.failed) == (50_000, 0)
    assert Contact.objects.count() == 50_000 and Company.objects.count() == 500
    start = time.monotonic()
    again = run(path)
    second = time.monotonic() - start
    assert again.unchanged == 50_000
    print(f"\n50,000 rows: first run {first:.1f} s, second run {second:.1f} s")


# --- The pages -------------------------------------------------------------------------------


def upload(client, path: Path):  # type: ignore[no-untyped-def]
    with open(path, "rb") as handle:
        return client.post(reverse("crm_import:start"), {"file": handle})


@pytest.mark.django_db
def test_agents_may_not_import(agent_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert agent_client.get(reverse("crm_import:start")).status_code == 403
    assert upload(agent_client, swedish_csv(tmp_path)).status_code == 403
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_upload_map_preview_and_run(admin_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    response = upload(admin_client, swedish_csv(tmp_path))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("crm_import:job", args=[job.pk])
    assert job.total_rows == 8 and job.headers[0] == "Namn"

    page = admin_client.get(response.url).content.decode()
    assert '<option value="email" selected>' in page
    assert "asa@example.se: <strong>will be created</strong>" in page
    assert "Duplicate of row 2 (the same e-mail address): not imported." in page
    assert Contact.objects.count() == 0 and Company.objects.count() == 0  # a preview writes nothing

    # Ignore the notes column (index 6), then run.
    mapping = {f"col{i}": f for i, f in enumerate(job.mapping)}
    mapping["col6"] = ""
    response = admin_client.post(reverse("crm_import:run", args=[job.pk]), mapping)
    job.refresh_from_db()
    assert (job.state, job.created, job.failed, job.processed) == ("done", 3, 5, 8)
    assert {"row": 4, "reason": job.errors[0]["reason"]} == job.errors[0]
    assert Contact.objects.get(email="asa@example.se").notes == ""
    page = admin_client.get(reverse("crm_import:job", args=[job.pk])).content.decode()
    assert "3 created, 0 updated, 0 unchanged, 5 failed." in page
    assert 'value="100"' in page


@pytest.mark.django_db
def test_a_large_file_runs_in_the_background(admin_client, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from helpa.crm import importing

    monkeypatch.setattr(importing, "BACKGROUND_ROWS", 3)
    monkeypatch.setattr(importing, "BATCH", 2)
    response = upload(admin_client, swedish_csv(tmp_path))
    job = ImportJob.objects.get()
    admin_client.post(
        reverse("crm_import:run", args=[job.pk]), {f"col{i}": f for i, f in enumerate(job.mapping)}
    )
    job.refresh_from_db()  # huey runs immediately in tests
    assert (job.state, job.created, job.processed) == ("done", 3, 8)
    assert job.started_at and job.finished_at
    fragment = admin_client.get(response.url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="import-progress"')
    assert "hx-trigger" not in fragment  # finished: no more polling


@pytest.mark.django_db
def test_not_a_spreadsheet(admin_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04garbage")
    response = upload(admin_client, path)
    assert response.status_code == 200
    assert "The Excel file cannot be read." in response.content.decode()
