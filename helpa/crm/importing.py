"""Contacts and companies from CSV and Excel files exported from another system (C2).

One path for the settings page, the background job and `helpa import-contacts`:

    table = read_table(path)                     # headers + (row number, cells), header = row 1
    mapping = guess_mapping(table.headers)       # one field (or "") per column
    result = Importer(mapping).run(table.rows)   # counts and row errors

Rules a support team moving from a CRM can rely on:

- A contact is matched by its e-mail address (primary or further), a company by its organisation
  number, else its customer number, else its name (case-insensitive). What matches is updated,
  what does not is created.
- Only mapped columns are written, and an empty cell leaves the stored value alone: an export
  with gaps never erases what the desk already knows. Phone numbers are added, never removed.
  So the same file imported twice changes nothing the second time ("unchanged").
- Every row is validated before anything is written; a row with a bad e-mail address,
  organisation number (check digit), phone number or language, or without the company name a
  new company needs, is reported with its row number as the spreadsheet shows it and skipped.
  The good rows still import.
- A second row with the e-mail address of an earlier row (or a second company-only row for the
  same company) is reported as a duplicate and not imported: the first one wins. The first row
  that names a company sets that company's fields for the whole file.
- Cells are text. A cell beginning with =, +, - or @ is stored exactly as written; in an .xlsx
  file the formula's text is read, never a computed value.

Rows are written in batches (bulk inserts and updates, one transaction per batch), so 50,000
rows take seconds; a batch that the database refuses is written again row by row, each row in
its own savepoint, so one bad row costs only itself.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpa.lib import events

from .identifiers import normalise_org_number, normalise_phone
from .models import Company, CompanyPhone, Contact, ContactEmail, ContactPhone

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ERRORS_KEPT = 1000  # a job keeps this many row errors, and counts all of them
BATCH = 1000

# The fields a column can be mapped to, in the order the mapping page offers them.
FIELDS: dict[str, Any] = {
    "": gettext_lazy("— ignore —"),
    "name": gettext_lazy("Contact: name"),
    "first_name": gettext_lazy("Contact: first name"),
    "last_name": gettext_lazy("Contact: last name"),
    "email": gettext_lazy("Contact: e-mail address"),
    "phone": gettext_lazy("Contact: phone number"),
    "language": gettext_lazy("Contact: language"),
    "notes": gettext_lazy("Contact: notes"),
    "company": gettext_lazy("Company: name"),
    "organisation_number": gettext_lazy("Company: organisation number"),
    "customer_number": gettext_lazy("Company: customer number"),
    "company_phone": gettext_lazy("Company: phone number"),
    "visiting_address": gettext_lazy("Company: visiting address"),
    "postal_address": gettext_lazy("Company: postal address"),
    "invoice_address": gettext_lazy("Company: invoice address"),
    "company_notes": gettext_lazy("Company: notes"),
}
# Fields several columns may share (Telefon and Mobil; Adress, Postnr and Ort); their values
# are joined. Every other field takes one column.
MULTI_FIELDS = {
    "phone",
    "company_phone",
    "notes",
    "company_notes",
    "visiting_address",
    "postal_address",
    "invoice_address",
}
CONTACT_FIELDS = {"name", "first_name", "last_name", "email", "phone", "language", "notes"}
COMPANY_FIELDS = {
    "company",
    "organisation_number",
    "customer_number",
    "company_phone",
    "visiting_address",
    "postal_address",
    "invoice_address",
    "company_notes",
}

# Header names as Swedish and English exports write them, lower-cased, without spaces,
# dots, dashes or underscores.
HEADER_GUESSES: dict[str, str] = {
    **dict.fromkeys(
        [
            "namn",
            "name",
            "kontakt",
            "kontaktperson",
            "contact",
            "contactname",
            "fullname",
            "fullständigtnamn",
            "kontaktnamn",
        ],
        "name",
    ),
    **dict.fromkeys(["förnamn", "firstname", "givenname", "fornamn"], "first_name"),
    **dict.fromkeys(["efternamn", "lastname", "surname", "familyname"], "last_name"),
    **dict.fromkeys(
        [
            "epost",
            "epostadress",
            "email",
            "emailaddress",
            "mail",
            "mailadress",
            "mejl",
            "mejladress",
            "emailadress",
        ],
        "email",
    ),
    **dict.fromkeys(
        [
            "telefon",
            "tel",
            "telefonnummer",
            "telnr",
            "phone",
            "phonenumber",
            "mobil",
            "mobile",
            "mobilnummer",
            "mobiltelefon",
            "mobilephone",
            "cell",
            "cellphone",
        ],
        "phone",
    ),
    **dict.fromkeys(["språk", "language", "lang", "sprak"], "language"),
    **dict.fromkeys(
        ["anteckningar", "anteckning", "notes", "note", "kommentar", "comment", "comments"],
        "notes",
    ),
    **dict.fromkeys(
        [
            "företag",
            "foretag",
            "företagsnamn",
            "company",
            "companyname",
            "bolag",
            "firma",
            "organisation",
            "organization",
            "kundnamn",
        ],
        "company",
    ),
    **dict.fromkeys(
        [
            "organisationsnummer",
            "orgnr",
            "orgnummer",
            "organisationsnr",
            "organisationnumber",
            "organizationnumber",
            "orgno",
            "organisationno",
            "organizationno",
            "orgnumber",
        ],
        "organisation_number",
    ),
    **dict.fromkeys(
        ["kundnummer", "kundnr", "customernumber", "customerno", "customerid", "kundid"],
        "customer_number",
    ),
    **dict.fromkeys(
        ["växel", "vaxel", "företagstelefon", "companyphone", "switchboard"], "company_phone"
    ),
    **dict.fromkeys(
        [
            "adress",
            "address",
            "besöksadress",
            "visitingaddress",
            "gatuadress",
            "streetaddress",
            "besoksadress",
        ],
        "visiting_address",
    ),
    **dict.fromkeys(
        ["postadress", "postaladdress", "mailingaddress", "utdelningsadress"], "postal_address"
    ),
    **dict.fromkeys(["fakturaadress", "invoiceaddress", "billingaddress"], "invoice_address"),
}

LANGUAGE_WORDS = {
    "sv": "sv", "se": "sv", "svenska": "sv", "swedish": "sv", "svensk": "sv",
    "en": "en", "eng": "en", "engelska": "en", "english": "en",
}  # fmt: skip


class ImportFileError(Exception):
    """The file as a whole cannot be read (not CSV or .xlsx, too large, no header)."""


class MappingError(Exception):
    """The column mapping cannot be used (a field on two columns, an unknown field)."""


# --- Reading files -------------------------------------------------------------------------


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (row number as the spreadsheet shows it, cells)


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else Windows-1252 as Swedish Excel saves "CSV"."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def sniff_delimiter(text: str) -> str:
    sample = text[: 64 * 1024]
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t").delimiter
    except csv.Error:
        # The sniffer gives up on files with few rows or ragged quoting: count in the header.
        first = sample.splitlines()[0] if sample else ""
        return max(";,\t", key=first.count) if first else ","


def cell_text(value: Any) -> str:
    """An .xlsx cell as text: numbers without a spurious ".0", dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def is_xlsx(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def read_table(path: Path) -> Table:
    """The header row and the data rows of a CSV or .xlsx file (the first sheet)."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is larger than %(mb)s MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
        )
    rows = _xlsx_rows(path) if is_xlsx(path) else _csv_rows(path)
    for number, cells in rows:
        if any(c.strip() for c in cells):
            headers = [c.strip() for c in cells]
            return Table(headers, _data_rows(rows, len(headers)))
        del number
    raise ImportFileError(_("The file has no header row."))


def _data_rows(
    rows: Iterator[tuple[int, list[str]]], width: int
) -> Iterator[tuple[int, list[str]]]:
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # an empty line keeps its number but is no row
        yield number, (cells + [""] * width)[:width]


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    text = decode(path.read_bytes())
    if "\x00" in text:
        raise ImportFileError(_("This is neither a CSV file nor an Excel (.xlsx) file."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    # A quoted cell may hold line breaks; the spreadsheet still shows it as one row.
    return ((number, row) for number, row in enumerate(reader, start=1))


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    import zipfile

    import openpyxl

    try:
        # read_only streams the sheet; data_only=False gives a formula's text, never a value.
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ImportFileError(_("The Excel file cannot be read.")) from error

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            sheet = book.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [cell_text(v) for v in values]
        finally:
            book.close()

    return rows()


def count_rows(path: Path) -> int:
    return sum(1 for _row in read_table(path).rows)


# --- Mapping -------------------------------------------------------------------------------


def _header_key(header: str) -> str:
    return re.sub(r"[\s._\-/:]", "", header.strip().lower())


def guess_mapping(headers: list[str]) -> list[str]:
    """A field per column from its header name; a single field goes to its first column."""
    mapping: list[str] = []
    for header in headers:
        guess = HEADER_GUESSES.get(_header_key(header), "")
        if guess and guess not in MULTI_FIELDS and guess in mapping:
            guess = ""
        mapping.append(guess)
    return mapping


def parse_mapping_option(text: str, headers: list[str]) -> list[str]:
    """The command line's `--mapping col=field,…` on top of the guessed mapping. A column is
    named by its header, its number (1 = the first) or its letter (A)."""
    mapping = guess_mapping(headers)
    keys = [_header_key(h) for h in headers]
    for part in filter(None, (p.strip() for p in text.split(","))):
        column, sep, target = part.partition("=")
        column, target = column.strip(), target.strip()
        if not sep:
            raise MappingError(_("Write the mapping as column=field, e.g. Mejl=email."))
        if target in ("ignore", "-"):
            target = ""
        if _header_key(column) in keys:
            index = keys.index(_header_key(column))
        elif column.isdigit() and 1 <= int(column) <= len(headers):
            index = int(column) - 1
        elif re.fullmatch(r"[A-Za-z]", column) and ord(column.upper()) - 65 < len(headers):
            index = ord(column.upper()) - 65
        else:
            raise MappingError(_("The file has no column “%(column)s”.") % {"column": column})
        if target in mapping and target not in MULTI_FIELDS and target:
            mapping[mapping.index(target)] = ""
        mapping[index] = target
    return mapping


def check_mapping(mapping: list[str]) -> None:
    seen: set[str] = set()
    for target in mapping:
        if target not in FIELDS:
            raise MappingError(
                _("“%(field)s” is not a field. Fields: %(fields)s")
                % {"field": target, "fields": ", ".join(f for f in FIELDS if f)}
            )
        if target and target not in MULTI_FIELDS and target in seen:
            raise MappingError(
                _("“%(field)s” is mapped to two columns.") % {"field": FIELDS[target]}
            )
        seen.add(target)
    if not seen & (CONTACT_FIELDS | COMPANY_FIELDS):
        raise MappingError(_("Map at least one column to a field."))
    if seen & CONTACT_FIELDS and "email" not in seen:
        raise MappingError(
            _("Map a column to the contact's e-mail address: contacts are matched by it.")
        )


# --- Importing -----------------------------------------------------------------------------


class RowError(Exception):
    pass


@dataclass
class RowOutcome:
    row: int
    action: str  # "created", "updated", "unchanged", "failed"
    contact: str = ""
    company: str = ""
    changes: list[str] = field(default_factory=list)
    reason: str = ""
    # What happens to each part of the row: "created", "updated", "unchanged" or "" (none).
    contact_action: str = ""
    company_action: str = ""


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # the first MAX_ERRORS_KEPT
    error_count: int = 0
    outcomes: list[RowOutcome] = field(default_factory=list)  # only when keep_outcomes

    @property
    def processed(self) -> int:
        return self.created + self.updated + self.unchanged + self.failed

    def add(self, outcome: RowOutcome, keep: bool) -> None:
        setattr(self, outcome.action, getattr(self, outcome.action) + 1)
        if outcome.action == "failed":
            self.error_count += 1
            if len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append({"row": outcome.row, "reason": outcome.reason})
        if keep:
            self.outcomes.append(outcome)


@dataclass
class _Plan:
    """What one valid row will write."""

    outcome: RowOutcome
    creates: list[Any] = field(default_factory=list)
    updates: list[tuple[Any, set[str]]] = field(default_factory=list)
    phones: list[Any] = field(default_factory=list)  # ContactPhone / CompanyPhone to add


def _values(mapping: list[str], cells: list[str]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for target, cell in zip(mapping, cells, strict=False):
        if target and cell.strip():
            values.setdefault(target, []).append(cell.strip())
    return values


def _phones(texts: list[str]) -> list[str]:
    numbers: list[str] = []
    for text in texts:
        for part in re.split(r"[,;\n]", text):
            if part.strip():
                try:
                    number = normalise_phone(part)
                except ValidationError:
                    raise RowError(
                        _("“%(value)s” is not a phone number we can read.")
                        % {"value": part.strip()}
                    ) from None
                if number not in numbers:
                    numbers.append(number)
    return numbers


@dataclass
class _Row:
    number: int
    email: str = ""
    contact: dict[str, str] = field(default_factory=dict)
    phones: list[str] = field(default_factory=list)
    company_name: str = ""
    org: str = ""
    customer: str = ""
    company: dict[str, str] = field(default_factory=dict)
    company_phones: list[str] = field(default_factory=list)

    @property
    def has_company(self) -> bool:
        return bool(self.company_name or self.org or self.customer)


def parse_row(number: int, mapping: list[str], cells: list[str]) -> _Row:
    """A row's values cleaned and validated, or RowError with the reason. No database."""
    v = _values(mapping, cells)
    row = _Row(number)
    joined = {k: "\n".join(items) for k, items in v.items()}
    if "email" in joined:
        address = joined["email"].lower()
        try:
            validate_email(address)
        except ValidationError:
            raise RowError(
                _("“%(value)s” is not an e-mail address.") % {"value": joined["email"]}
            ) from None
        row.email = address
    name = joined.get("name") or " ".join(
        p for p in (joined.get("first_name", ""), joined.get("last_name", "")) if p
    )
    if name:
        row.contact["name"] = name[:200]
    if "notes" in joined:
        row.contact["notes"] = joined["notes"]
    if "language" in joined:
        code = LANGUAGE_WORDS.get(joined["language"].lower())
        if not code:
            raise RowError(
                _("“%(value)s” is not a language Helpa knows (sv, en).")
                % {"value": joined["language"]}
            )
        row.contact["language"] = code
    row.phones = _phones(v.get("phone", []))
    if "organisation_number" in joined:
        try:
            row.org = normalise_org_number(joined["organisation_number"])
        except ValidationError as error:
            raise RowError(" ".join(error.messages)) from None
    row.customer = joined.get("customer_number", "")[:40]
    row.company_name = joined.get("company", "")[:200]
    for key, attr in (
        ("visiting_address", "visiting_address"),
        ("postal_address", "postal_address"),
        ("invoice_address", "invoice_address"),
        ("company_notes", "notes"),
    ):
        if key in joined:
            row.company[attr] = joined[key]
    row.company_phones = _phones(v.get("company_phone", []))
    contact_data = row.contact or row.phones
    if not row.email and contact_data:
        raise RowError(_("No e-mail address: a contact is matched by its e-mail address."))
    if not row.email and not row.has_company:
        if row.company or row.company_phones:
            raise RowError(
                _("No company name, organisation number or customer number for the company.")
            )
        raise RowError(_("The row has no values in the mapped columns."))
    return row


def _diff(obj: Any, values: dict[str, str]) -> set[str]:
    changed = set()
    for attr, value in values.items():
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changed.add(attr)
    return changed


class Importer:
    """Imports rows with one mapping. One instance per file: it remembers the companies and
    addresses it has seen, for duplicates and for companies that several rows name."""

    def __init__(
        self,
        mapping: list[str],
        *,
        dry_run: bool = False,
        keep_outcomes: bool = False,
        on_batch: Callable[[ImportResult], None] | None = None,
    ) -> None:
        check_mapping(mapping)
        self.mapping = mapping
        self.dry_run = dry_run
        self.keep_outcomes = keep_outcomes
        self.on_batch = on_batch
        self.result = ImportResult()
        self._by_org: dict[str, Company] = {}
        self._by_customer: dict[str, Company] = {}
        self._by_name: dict[str, Company] = {}
        self._company_set: set[int] = set()  # id() of companies whose fields a row has set
        self._company_rows: dict[tuple[str, str], int] = {}  # company-only rows, for duplicates
        self._emails: dict[str, int] = {}  # address → first row with it
        self._contacts: dict[str, Contact] = {}
        self._by_pk: dict[int, Company] = {}
        self._phones: dict[tuple[str, int], set[str]] = {}  # (model, id()) → numbers

    def run(self, rows: Iterable[tuple[int, list[str]]]) -> ImportResult:
        iterator = iter(rows)
        while batch := list(islice(iterator, BATCH)):
            self._batch(batch)
            if self.on_batch:
                self.on_batch(self.result)
        return self.result

    # -- one batch --

    def _batch(self, batch: list[tuple[int, list[str]]]) -> None:
        parsed: list[_Row | RowOutcome] = []
        for number, cells in batch:
            try:
                parsed.append(parse_row(number, self.mapping, cells))
            except RowError as error:
                parsed.append(RowOutcome(number, "failed", reason=str(error)))
        rows = [r for r in parsed if isinstance(r, _Row)]
        self._load(rows)
        plans: list[_Plan | RowOutcome] = []
        for item in parsed:
            if isinstance(item, RowOutcome):
                plans.append(item)
                continue
            try:
                plans.append(self._plan(item))
            except RowError as error:
                plans.append(RowOutcome(item.number, "failed", reason=str(error)))
        if not self.dry_run:
            self._write(plans)
        for item in plans:
            self.result.add(item.outcome if isinstance(item, _Plan) else item, self.keep_outcomes)

    def _load(self, rows: list[_Row]) -> None:
        """The batch's contacts and companies from the database, a few queries per batch."""
        orgs = {r.org for r in rows if r.org} - self._by_org.keys()
        customers = {r.customer for r in rows if r.customer} - self._by_customer.keys()
        names = {r.company_name.lower() for r in rows if r.company_name} - self._by_name.keys()
        found: list[Company] = []
        if orgs:
            found += Company.objects.filter(organisation_number__in=orgs)
        if customers:
            found += Company.objects.filter(customer_number__in=customers)
        if names:
            found += (
                Company.objects.annotate(lname=Lower("name"))
                .filter(lname__in=names)
                .order_by("-pk")  # the oldest of equal names wins (set last)
            )
        for company in found:
            # One Python object per stored company, however many queries found it.
            company = self._by_pk.setdefault(company.pk, company)
            self._remember_company(company, replace=False)
        emails = {r.email for r in rows if r.email} - self._contacts.keys()
        if emails:
            contacts = list(
                Contact.objects.annotate(lemail=Lower("email"))
                .filter(lemail__in=emails)
                .order_by("-pk")
            )
            by_email = {c.email.lower(): c for c in contacts}
            for extra in ContactEmail.objects.filter(address__in=emails).select_related("contact"):
                by_email.setdefault(extra.address, extra.contact)
            self._contacts.update(by_email)
            self._load_phones(ContactPhone, "contact", list(by_email.values()))
        self._load_phones(CompanyPhone, "company", list({c.pk: c for c in found}.values()))

    def _load_phones(self, model: type, owner: str, objects: list[Any]) -> None:
        ids = {o.pk: o for o in objects if o.pk}
        for key in [(model.__name__, id(o)) for o in ids.values()]:
            self._phones.setdefault(key, set())
        if not ids:
            return
        for owner_id, number in model.objects.filter(**{f"{owner}_id__in": ids}).values_list(
            f"{owner}_id", "number"
        ):
            self._phones[(model.__name__, id(ids[owner_id]))].add(number)

    def _remember_company(self, company: Company, replace: bool = True) -> None:
        for index, key in (
            (self._by_org, company.organisation_number),
            (self._by_customer, company.customer_number),
            (self._by_name, company.name.lower()),
        ):
            if key and (replace or key not in index or index is self._by_name):
                index[key] = company

    def _company_for(self, row: _Row, plan: _Plan) -> Company:
        by_org = self._by_org.get(row.org) if row.org else None
        by_customer = self._by_customer.get(row.customer) if row.customer else None
        if by_org and by_customer and by_org is not by_customer:
            raise RowError(
                _(
                    "The organisation number belongs to %(org_company)s, the customer number "
                    "to %(customer_company)s."
                )
                % {"org_company": by_org.name, "customer_company": by_customer.name}
            )
        company = by_org or by_customer
        if company is None and not row.org and not row.customer:
            company = self._by_name.get(row.company_name.lower())
        if company is None:
            if not row.company_name:
                raise RowError(
                    _("The company name is missing: it is needed to create the company %(id)s.")
                    % {"id": row.org or row.customer}
                )
            company = Company(name=row.company_name)
            plan.creates.append(company)
            plan.outcome.company_action = "created"
        if id(company) not in self._company_set:
            values = dict(row.company)
            if row.company_name:
                values["name"] = row.company_name
            if row.org:
                values["organisation_number"] = row.org
            if row.customer:
                values["customer_number"] = row.customer
            changed = _diff(company, values)
            if company.pk and changed:
                plan.updates.append((company, changed))
                plan.outcome.changes += sorted(changed)
                plan.outcome.company_action = "updated"
            self._remember_company(company)
            self._company_set.add(id(company))
        if self._add_phones(plan, CompanyPhone, "company", company, row.company_phones):
            plan.outcome.company_action = plan.outcome.company_action or "updated"
        plan.outcome.company = company.name
        plan.outcome.company_action = plan.outcome.company_action or "unchanged"
        return company

    def _add_phones(
        self, plan: _Plan, model: type, owner: str, obj: Any, numbers: list[str]
    ) -> bool:
        """Plans the numbers the owner does not have yet; whether a stored owner gets one."""
        have = self._phones.setdefault((model.__name__, id(obj)), set())
        added = False
        for number in numbers:
            if number not in have:
                have.add(number)
                plan.phones.append(model(**{owner: obj, "number": number}))
                added = True
        if added and obj.pk and "phone" not in plan.outcome.changes:
            plan.outcome.changes.append("phone")
        return added and bool(obj.pk)

    def _plan(self, row: _Row) -> _Plan:
        plan = _Plan(RowOutcome(row.number, "unchanged", contact=row.email))
        if row.email in self._emails:
            raise RowError(
                _("Duplicate of row %(row)s (the same e-mail address): not imported.")
                % {"row": self._emails[row.email]}
            )
        if not row.email:
            key = (
                ("org", row.org)
                if row.org
                else ("customer", row.customer)
                if row.customer
                else (
                    "name",
                    row.company_name.lower(),
                )
            )
            if key in self._company_rows:
                raise RowError(
                    _("Duplicate of row %(row)s (the same company): not imported.")
                    % {"row": self._company_rows[key]}
                )
        company = self._company_for(row, plan) if row.has_company else None
        if not row.email:
            self._company_rows[key] = row.number
        else:
            self._emails[row.email] = row.number
            contact = self._contacts.get(row.email)
            values: dict[str, Any] = dict(row.contact)
            if contact is None:
                contact = Contact(email=row.email, name=values.pop("name", row.email))
                plan.creates.append(contact)
                self._contacts[row.email] = contact
                plan.outcome.contact_action = "created"
            contact_updates = len(plan.updates)
            if company is not None and (company.pk is None or contact.company_id != company.pk):
                contact.company = company
                if contact.pk:
                    plan.updates.append((contact, {"company"}))
                    plan.outcome.changes.append("company")
            changed = _diff(contact, values)
            if contact.pk and changed:
                plan.updates.append((contact, changed))
                plan.outcome.changes += sorted(changed)
            added = self._add_phones(plan, ContactPhone, "contact", contact, row.phones)
            if not plan.outcome.contact_action:
                touched = added or len(plan.updates) > contact_updates
                plan.outcome.contact_action = "updated" if touched else "unchanged"
        if plan.creates:
            plan.outcome.action = "created"
        elif plan.updates or plan.phones:
            plan.outcome.action = "updated"
        return plan

    # -- writing --

    def _write(self, plans: list[_Plan | RowOutcome]) -> None:
        todo = [p for p in plans if isinstance(p, _Plan) and p.outcome.action != "unchanged"]
        if not todo:
            return
        try:
            with transaction.atomic():
                self._write_plans(todo)
        except (IntegrityError, DatabaseError, ValueError):
            # One row the database refuses (a number another process stored meanwhile) must
            # not cost the batch: write again row by row.
            _forget_pks(todo)
            for plan in todo:
                try:
                    with transaction.atomic():
                        self._write_plans([plan])
                except (IntegrityError, DatabaseError, ValueError) as error:
                    _forget_pks([plan])
                    plan.outcome.action = "failed"
                    plan.outcome.reason = _("The row could not be saved: %(error)s") % {
                        "error": error
                    }

    def _write_plans(self, plans: list[_Plan]) -> None:
        new_contacts: list[Contact] = []
        for model in (Company, Contact):
            creates = [o for p in plans for o in p.creates if isinstance(o, model) and not o.pk]
            model.objects.bulk_create(creates)
            if model is Contact:
                new_contacts = creates
            updates: dict[int, tuple[Any, set[str]]] = {}
            for p in plans:
                for obj, fields in p.updates:
                    if isinstance(obj, model):
                        updates.setdefault(id(obj), (obj, set()))[1].update(fields)
            by_fields: dict[frozenset[str], list[Any]] = {}
            for obj, fields in updates.values():
                by_fields.setdefault(frozenset(fields), []).append(obj)
            for fields, objects in by_fields.items():
                model.objects.bulk_update(objects, sorted(fields))
        for phone_model in (CompanyPhone, ContactPhone):
            phones = [o for p in plans for o in p.phones if isinstance(o, phone_model)]
            phone_model.objects.bulk_create(phones, ignore_conflicts=True)
        if new_contacts:
            # A bulk insert sends no post_save: those who follow new contacts (webhooks) hear
            # of them here, in the same transaction, with their numbers already written.
            events.publish("crm.contacts_created", contacts=new_contacts)


def _forget_pks(plans: list[_Plan]) -> None:
    """After a rollback the objects a bulk insert gave keys to are new again."""
    for plan in plans:
        for obj in plan.creates + plan.phones:
            obj.pk = None
            obj._state.adding = True


# --- Jobs ----------------------------------------------------------------------------------

# A file with more rows than this is imported by the worker; smaller ones in the request.
BACKGROUND_ROWS = 2000


def job_path(job: Any) -> Path:
    from django.conf import settings

    return Path(settings.MEDIA_ROOT) / job.stored_path


def run_job(job_id: int) -> None:
    """Runs a queued (or, from the page, uploaded) import job once: the atomic claim keeps a
    retried task or a second worker from importing the file twice."""
    from django.utils import timezone

    from .models import ImportJob

    claimed = ImportJob.objects.filter(
        pk=job_id, state__in=[ImportJob.State.QUEUED, ImportJob.State.UPLOADED]
    ).update(state=ImportJob.State.RUNNING, started_at=timezone.now())
    if not claimed:
        return
    job = ImportJob.objects.get(pk=job_id)

    def progress(result: ImportResult) -> None:
        job.processed = result.processed
        job.created, job.updated = result.created, result.updated
        job.unchanged, job.failed = result.unchanged, result.failed
        job.errors, job.error_count = result.errors, result.error_count
        job.save(
            update_fields=[
                "processed", "created", "updated", "unchanged", "failed", "errors", "error_count"
            ]
        )  # fmt: skip

    try:
        Importer(job.mapping, on_batch=progress).run(read_table(job_path(job)).rows)
    except (ImportFileError, MappingError) as error:
        job.state, job.message = ImportJob.State.FAILED, str(error)
    else:
        job.state = ImportJob.State.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "message", "finished_at"])
