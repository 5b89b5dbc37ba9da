"""The API's shapes: what a ticket, contact or company looks like in JSON, and what a write may
send. Serializers only read and check input; the actions (tickets/actions.py) and the UI's forms
(crm/forms.py) do the changing, so the API obeys the same rules as the agent UI."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from helpa.accounts.models import Team, User
from helpa.automation.actions import filled_response
from helpa.automation.models import CannedResponse, TicketTemplate
from helpa.crm.models import Brand, Company, Contact, brand_allowed_q
from helpa.kb.models import Article as KbArticle
from helpa.kb.models import ArticleText as KbText
from helpa.kb.models import Category as KbCategory
from helpa.lib.html import text_to_html
from helpa.reports.report import Report, ReportKind, Table, plain
from helpa.tickets.actions import MAX_ENTRY_MINUTES
from helpa.tickets.forms import AttachmentsField
from helpa.tickets.models import (
    Article,
    Attachment,
    Category,
    HelpdeskSettings,
    Priority,
    Queue,
    Status,
    Ticket,
    TicketType,
    TimeEntry,
)


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a misspelt field is an error, not silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


def _user(serializer: serializers.Serializer) -> User:
    return serializer.context["request"].user


# --- Reading -------------------------------------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "is_inline", "created_at"]


class TicketAttachmentSerializer(AttachmentSerializer):
    """A file of the ticket: the entry it came with (none for the description's files) and
    where to download it."""

    # Reads `ticket` and `request` from the context.
    download_url = serializers.SerializerMethodField()

    class Meta(AttachmentSerializer.Meta):
        fields = [*AttachmentSerializer.Meta.fields, "article", "download_url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, attachment: Attachment) -> str:
        path = reverse(
            "api:attachment_download", args=[self.context["ticket"].number, attachment.pk]
        )
        return str(self.context["request"].build_absolute_uri(path))


class TimeEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = TimeEntry
        fields = ["id", "minutes", "billable", "worked_on", "user", "article", "note", "created_at"]
        read_only_fields = fields


class ArticleSerializer(serializers.ModelSerializer):
    author_name = serializers.CharField(source="display_author", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    body_html = serializers.SerializerMethodField()
    body_text = serializers.SerializerMethodField()

    class Meta:
        model = Article
        fields = [
            "id",
            "kind",
            "is_public",
            "author",
            "author_contact",
            "author_name",
            "body_html",
            "body_text",
            "time_spent_minutes",
            "created_at",
            "deleted_at",
            "attachments",
        ]

    # A deleted discussion post stays in the thread, without its text (as on the ticket page).
    def get_body_html(self, article: Article) -> str:
        return "" if article.deleted_at else article.body_html

    def get_body_text(self, article: Article) -> str:
        return "" if article.deleted_at else article.body_text


TICKET_FIELDS = [
    "id",
    "number",
    "title",
    "status",
    "priority",
    "queue",
    "team",
    "owner",
    "contact",
    "company",
    "type",
    "category",
    "channel",
    "due_at",
    "hidden_until",
    "on_hold_until",
    "is_draft",
    "version",
    "created_at",
    "updated_at",
    "resolved_at",
    "closed_at",
    "sla_due_at",
]


class TicketListSerializer(serializers.ModelSerializer):
    """A row of the list: ids for related objects, so a page costs one query."""

    class Meta:
        model = Ticket
        fields = TICKET_FIELDS
        read_only_fields = fields


class TicketSerializer(serializers.ModelSerializer):
    """One ticket with its description, relations and whole thread (public and internal)."""

    parent = serializers.SlugRelatedField(slug_field="number", read_only=True)
    children = serializers.SlugRelatedField(slug_field="number", many=True, read_only=True)
    followers = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    articles = ArticleSerializer(many=True, read_only=True)
    time_spent_minutes = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            *TICKET_FIELDS,
            "description",
            "description_text",
            "created_by",
            "parent",
            "children",
            "followers",
            "time_spent_minutes",
            "articles",
        ]
        read_only_fields = fields

    def get_time_spent_minutes(self, ticket: Ticket) -> int:
        return sum(a.time_spent_minutes for a in ticket.articles.all())


class QueueSerializer(serializers.ModelSerializer):
    class Meta:
        model = Queue
        fields = ["id", "name", "slug", "brand", "is_active"]


class TeamSerializer(serializers.ModelSerializer):
    members = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "members"]


class UserSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="full_name")

    class Meta:
        model = User
        fields = ["id", "name", "email", "role", "is_active"]
        read_only_fields = fields


class BrandSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "code", "name", "sender_address", "sender_name"]


class ContactSerializer(serializers.ModelSerializer):
    other_emails = serializers.SlugRelatedField(
        source="emails", slug_field="address", many=True, read_only=True
    )
    phones = serializers.SlugRelatedField(slug_field="number", many=True, read_only=True)
    has_portal_login = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "email",
            "other_emails",
            "phones",
            "company",
            "language",
            "portal_sees_company_tickets",
            "notes",
            "has_portal_login",
        ]
        read_only_fields = fields

    def get_has_portal_login(self, contact: Contact) -> bool:
        return contact.user_id is not None


class CompanySerializer(serializers.ModelSerializer):
    phones = serializers.SlugRelatedField(slug_field="number", many=True, read_only=True)
    domains = serializers.SlugRelatedField(slug_field="domain", many=True, read_only=True)

    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "brand",
            "organisation_number",
            "customer_number",
            "visiting_address",
            "postal_address",
            "invoice_address",
            "portal_shares_tickets",
            "notes",
            "legal_hold",
            "phones",
            "domains",
        ]
        read_only_fields = fields


# --- Writing tickets -----------------------------------------------------------------------------

FORMATS = [("html", "HTML"), ("text", _("Plain text"))]


def as_html(text: str, text_format: str) -> str:
    """Bodies arrive as HTML (sanitised by the actions) or as plain text."""
    return text_to_html(text) if text_format == "text" else text


class TicketWriteSerializer(StrictSerializer):
    """Create (`partial=False`) or change (`partial=True`) a ticket's fields. The choices are
    the ticket form's: the user's queues, active types and categories, agents as owners,
    contacts and companies the user may see."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=200_000)
    format = serializers.ChoiceField(choices=FORMATS, required=False, default="html")
    queue = serializers.PrimaryKeyRelatedField(queryset=Queue.objects.none())
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    type = serializers.PrimaryKeyRelatedField(
        queryset=TicketType.objects.filter(is_active=True), required=False, allow_null=True
    )
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.filter(is_active=True), required=False, allow_null=True
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.agents(), required=False, allow_null=True
    )
    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.none(), required=False, allow_null=True
    )
    company = serializers.PrimaryKeyRelatedField(
        queryset=Company.objects.none(), required=False, allow_null=True
    )
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    hidden_until = serializers.DateTimeField(required=False, allow_null=True)
    on_hold_until = serializers.DateTimeField(required=False, allow_null=True)
    is_draft = serializers.BooleanField(required=False)
    parent = serializers.SlugRelatedField(
        slug_field="number",
        queryset=Ticket.objects.none(),
        required=False,
        allow_null=True,
        help_text=_("The parent ticket's number."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return  # the schema generator: the types are what it needs
        user = request.user
        queues = Queue.objects.filter(is_active=True)
        if not user.is_admin:
            queues = queues.filter(teams__members=user).filter(brand_allowed_q(user)).distinct()
        self.fields["queue"].queryset = queues
        self.fields["contact"].queryset = Contact.objects.visible_to(user)
        self.fields["company"].queryset = Company.objects.visible_to(user)
        self.fields["parent"].queryset = Ticket.objects.visible_to(user)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.partial and "parent" in attrs:
            # As in the UI: a sub-ticket is opened from its parent; moving a ticket under
            # another one afterwards could make a ticket its own ancestor.
            raise serializers.ValidationError(
                {"parent": [_("The parent can only be given when the ticket is created.")]}
            )
        if not self.partial:
            # The admin's field rules (T11) hold for the API as for the ticket form.
            rules = HelpdeskSettings.load()
            missing = {
                name: [_("This field is required.")]
                for name in HelpdeskSettings.OPTIONAL_FIELDS
                if rules.rule_for(name) == "required" and attrs.get(name) in (None, "")
            }
            if missing:
                raise serializers.ValidationError(missing)
        return attrs

    def changes(self) -> dict[str, Any]:
        """The validated fields as the actions take them (description as HTML)."""
        data = dict(self.validated_data)
        text_format = data.pop("format", "html")
        if "description" in data:
            data["description"] = as_html(data["description"], text_format)
        return data


@extend_schema_field(
    {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 20}
)
class FilesField(serializers.ListField):
    """Uploaded files (the schema says binary, as multipart/form-data sends them)."""


class ArticleWriteSerializer(StrictSerializer):
    """A reply or note. Files come as multipart/form-data (`files`, once per file) and are
    checked by the UI's own rules (AttachmentsField: not empty, within the admin's limit)."""

    body = serializers.CharField(max_length=200_000, required=False, allow_blank=True, default="")
    format = serializers.ChoiceField(choices=FORMATS, required=False, default="html")
    time_spent_minutes = serializers.IntegerField(
        required=False, default=0, min_value=0, max_value=24 * 60 * 7
    )
    billable = serializers.BooleanField(
        required=False, default=True, help_text=_("Whether the time spent is billable.")
    )
    send_by = serializers.ChoiceField(
        choices=["mail", "sms"],
        required=False,
        default="mail",
        help_text=_(
            "For a reply: how it reaches the contact — by mail (the queue's policy) or by SMS "
            "(to the number the contact last wrote from, else their first number)."
        ),
    )
    files = FilesField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        default=list,
        max_length=20,
        help_text=_("Files to attach (multipart/form-data only)."),
    )

    def validate_files(self, files: list[Any]) -> list[Any]:
        field = AttachmentsField(max_bytes=HelpdeskSettings.load().max_attachment_bytes)
        try:
            return field.clean(files)
        except forms.ValidationError as error:
            raise serializers.ValidationError(error.messages) from error

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["body"].strip() and not attrs["files"]:
            raise serializers.ValidationError({"body": [_("Write something or attach a file.")]})
        return attrs


class StatusWriteSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Status.choices)
    on_hold_until = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=_(
            "For On hold: when the ticket wakes up again; empty means until further notice."
        ),
    )
    close_children = serializers.BooleanField(
        required=False, default=False, help_text=_("For Closed: close the open sub-tickets too.")
    )


class FollowerWriteSerializer(StrictSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.agents())


# --- Writing contacts and companies --------------------------------------------------------------
# Checked for types here, then by the UI's own forms (crm/forms.py), which hold the rules.


class ContactWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    email = serializers.CharField(max_length=254)
    company = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    language = serializers.ChoiceField(
        choices=Contact._meta.get_field("language").choices, required=False
    )
    portal_sees_company_tickets = serializers.BooleanField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    other_emails = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, max_length=50
    )
    phones = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=50
    )


class CompanyWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    organisation_number = serializers.CharField(required=False, allow_blank=True, max_length=20)
    customer_number = serializers.CharField(required=False, allow_blank=True, max_length=40)
    visiting_address = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    postal_address = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    invoice_address = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    portal_shares_tickets = serializers.BooleanField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    legal_hold = serializers.BooleanField(required=False, help_text=_("Admins only."))
    phones = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=50
    )
    domains = serializers.ListField(
        child=serializers.CharField(max_length=253), required=False, max_length=50
    )


# --- Time entries --------------------------------------------------------------------------------


class TimeEntryWriteSerializer(StrictSerializer):
    """Time worked on a ticket without a reply or note (tickets/actions.log_time_entry)."""

    minutes = serializers.IntegerField(min_value=1, max_value=MAX_ENTRY_MINUTES)
    billable = serializers.BooleanField(required=False, default=True)
    worked_on = serializers.DateField(
        required=False,
        default=None,
        allow_null=True,
        help_text=_("The day the work was done; today when not given."),
    )
    note = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=200, trim_whitespace=True
    )

    def validate_worked_on(self, day: date | None) -> date | None:
        if day is not None and day > timezone.localdate():
            raise serializers.ValidationError(
                _("Time cannot be logged on a day that has not come yet.")
            )
        return day


class TimeEntryChangeSerializer(StrictSerializer):
    billable = serializers.BooleanField()


# --- Templates and canned responses (automation/) -----------------------------------------------


class TicketTemplateSerializer(serializers.ModelSerializer):
    """A ticket template: the fields a ticket opened from it starts with, the agent's steps and
    solution, and its sub-tickets' templates in order."""

    type = serializers.PrimaryKeyRelatedField(source="ticket_type", read_only=True)
    steps = serializers.ListField(child=serializers.CharField(), read_only=True)
    sub_templates = serializers.SerializerMethodField()

    class Meta:
        model = TicketTemplate
        fields = [
            "id",
            "name",
            "title",
            "description",
            "solution",
            "instructions",
            "steps",
            "status",
            "priority",
            "queue",
            "brand",
            "team",
            "owner",
            "type",
            "category",
            "sub_templates",
            "updated_at",
        ]
        read_only_fields = fields

    def get_sub_templates(self, template: TicketTemplate) -> list[int]:
        # Reads the prefetched links (ordered by position).
        return [link.sub_template_id for link in template.sub_ticket_links.all()]


class CannedResponseSerializer(serializers.ModelSerializer):
    """A canned response: `body` as written, with its placeholders. Read with `?ticket=`,
    `text` and `html` are the body filled in for that ticket and the reader, as the reply
    editor inserts it; otherwise they are null."""

    # Reads `ticket` (or None) and `request` from the context.
    text = serializers.SerializerMethodField()
    html = serializers.SerializerMethodField()

    class Meta:
        model = CannedResponse
        fields = ["id", "name", "queue", "brand", "body", "text", "html", "updated_at"]
        read_only_fields = fields

    def _filled(self, response: CannedResponse) -> dict[str, Any] | None:
        ticket = self.context.get("ticket")
        if ticket is None:
            return None
        cache = self.context.setdefault("filled", {})
        if response.pk not in cache:
            cache[response.pk] = filled_response(response, ticket, _user(self))
        return cache[response.pk]

    @extend_schema_field(OpenApiTypes.STR)
    def get_text(self, response: CannedResponse) -> str | None:
        filled = self._filled(response)
        return None if filled is None else filled["text"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_html(self, response: CannedResponse) -> str | None:
        filled = self._filled(response)
        return None if filled is None else filled["html"]


# --- Knowledge base (kb/) ------------------------------------------------------------------------


class KbCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = KbCategory
        fields = ["id", "name_sv", "name_en", "position"]
        read_only_fields = fields


class KbTextTitleSerializer(serializers.ModelSerializer):
    class Meta:
        model = KbText
        fields = ["language", "title"]
        read_only_fields = fields


class KbTextSerializer(serializers.ModelSerializer):
    class Meta:
        model = KbText
        fields = ["language", "title", "body_html", "body_text"]
        read_only_fields = fields


# Named in settings.SPECTACULAR_SETTINGS (an import path cannot reach a nested class).
KB_ARTICLE_STATUSES = KbArticle.Status.choices

KB_ARTICLE_FIELDS = [
    "id",
    "category",
    "visibility",
    "status",
    "is_for_customers",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "published_at",
]


class KbArticleListSerializer(serializers.ModelSerializer):
    """A row of the article list: each language's title."""

    is_for_customers = serializers.BooleanField(read_only=True)
    texts = KbTextTitleSerializer(many=True, read_only=True)

    class Meta:
        model = KbArticle
        fields = [*KB_ARTICLE_FIELDS, "texts"]
        read_only_fields = fields


class KbArticleSerializer(KbArticleListSerializer):
    """One article with its texts (Swedish and/or English) in full."""

    texts = KbTextSerializer(many=True, read_only=True)

    class Meta(KbArticleListSerializer.Meta):
        pass


class KbArticleWriteSerializer(StrictSerializer):
    """An article as the article form takes it (kb/forms.ArticleForm): a title and text per
    language; a language whose title is emptied is removed. Files are added in the UI."""

    category = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    visibility = serializers.ChoiceField(choices=KbArticle.Visibility.choices, required=False)
    status = serializers.ChoiceField(choices=KB_ARTICLE_STATUSES, required=False)
    title_sv = serializers.CharField(required=False, allow_blank=True, max_length=200)
    body_sv = serializers.CharField(required=False, allow_blank=True, max_length=200_000)
    title_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    body_en = serializers.CharField(required=False, allow_blank=True, max_length=200_000)
    format = serializers.ChoiceField(choices=FORMATS, required=False, default="html")

    def changes(self) -> dict[str, Any]:
        """The validated fields as the form takes them (bodies as HTML)."""
        data = dict(self.validated_data)
        text_format = data.pop("format", "html")
        for name in ("body_sv", "body_en"):
            if name in data:
                data[name] = as_html(data[name], text_format)
        return data


# --- Report figures (reports/report.py) ----------------------------------------------------------


def report_value(value: Any) -> Any:
    """A table cell as JSON: numbers as numbers, days and times in ISO 8601, text as text."""
    value = plain(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class ReportKindSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, kind: ReportKind) -> str:
        path = reverse("api:report", args=[kind.key])
        return str(self.context["request"].build_absolute_uri(path))


class ReportSeriesSerializer(serializers.Serializer):
    name = serializers.CharField()
    values = serializers.ListField(child=serializers.FloatField(allow_null=True))


class ReportChartSerializer(serializers.Serializer):
    title = serializers.CharField()
    kind = serializers.CharField(help_text=_("bar, line or stacked"))
    unit = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())
    series = ReportSeriesSerializer(many=True)


class ReportTableSerializer(serializers.Serializer):
    title = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.SerializerMethodField()

    @extend_schema_field({"type": "array", "items": {"type": "array", "items": {}}})
    def get_rows(self, table: Table) -> list[list[Any]]:
        return [[report_value(v) for v in row] for row in table.rows]


class ReportTileSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.JSONField()


class ReportSerializer(serializers.Serializer):
    """A report's figures: the tiles, each chart's series and each table's rows, as the report
    page shows them (and its Excel export holds)."""

    # Reads `key` from the context.
    key = serializers.SerializerMethodField()
    title = serializers.CharField()
    description = serializers.CharField()
    tiles = serializers.SerializerMethodField()
    charts = ReportChartSerializer(many=True)
    tables = ReportTableSerializer(many=True)

    def get_key(self, report: Report) -> str:
        return str(self.context["key"])

    @extend_schema_field(ReportTileSerializer(many=True))
    def get_tiles(self, report: Report) -> list[dict[str, Any]]:
        return [{"label": str(label), "value": report_value(v)} for label, v, _url in report.tiles]
