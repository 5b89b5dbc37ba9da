"""The knowledge base: articles in categories, each with a Swedish and/or an English text.

An article is public (customers may read it once published) or internal (agents only), and a
draft until published. Who may read what is decided in one place, `ArticleQuerySet.readable_by`.

Suggestion visits record what happened after the portal or a contact form suggested articles
while a customer typed a new request's title: which suggestions were opened, whether the
customer said one solved the problem, and whether a ticket was created anyway (see
deflection.py for the counting rules).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from helpa.crm.models import Contact


class Language(models.TextChoices):
    SV = "sv", _("Swedish")
    EN = "en", _("English")


LANGUAGES = [Language.SV.value, Language.EN.value]


def preferred_languages(language: str | None = None) -> list[str]:
    """The language asked for (or the active one) first, the other as the fallback."""
    first = (language or get_language() or "en")[:2]
    first = first if first in LANGUAGES else "en"
    return [first] + [code for code in LANGUAGES if code != first]


class Category(models.Model):
    name_sv = models.CharField(_("name (Swedish)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("knowledge base category")

    def __str__(self) -> str:
        return self.name_for()

    def name_for(self, language: str | None = None) -> str:
        for code in preferred_languages(language):
            name = getattr(self, f"name_{code}")
            if name:
                return str(name)
        return ""


class ArticleQuerySet(models.QuerySet["Article"]):
    def for_customers(self) -> ArticleQuerySet:
        return self.filter(status=Article.Status.PUBLISHED, visibility=Article.Visibility.PUBLIC)

    def readable_by(self, user: object, *, anonymous_allowed: bool) -> ArticleQuerySet:
        """Agents read everything; customers published public articles; anonymous visitors
        the same, when the admin lets the knowledge base be read without logging in."""
        if getattr(user, "is_authenticated", False):
            return self if getattr(user, "is_agent", False) else self.for_customers()
        return self.for_customers() if anonymous_allowed else self.none()


class Article(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public")
        INTERNAL = "internal", _("Internal")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    category = models.ForeignKey(
        Category,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="articles",
        verbose_name=_("category"),
    )
    visibility = models.CharField(
        _("visibility"),
        max_length=8,
        choices=Visibility.choices,
        default=Visibility.PUBLIC,
        help_text=_("Internal articles are for agents only."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "visibility", "category"], name="kb_article_reader_idx")
        ]

    def __str__(self) -> str:
        return self.title or f"#{self.pk}"

    @property
    def is_for_customers(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.visibility == self.Visibility.PUBLIC

    def text_for(self, language: str | None = None) -> ArticleText | None:
        """The text in the reader's language, else the other one. Uses prefetched texts."""
        texts = {text.language: text for text in self.texts.all()}
        for code in preferred_languages(language):
            if code in texts:
                return texts[code]
        return None

    @property
    def title(self) -> str:
        text = self.text_for()
        return text.title if text else ""


class ArticleText(models.Model):
    """One language's version of an article. Its search entry lives beside it (search.py)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(max_length=2, choices=Language.choices)
    title = models.CharField(_("title"), max_length=200)
    body_html = models.TextField(blank=True)  # sanitised
    body_text = models.TextField(blank=True)  # for search, excerpts and plain-text replies

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "language"], name="kb_one_text_per_language")
        ]


def _file_path(instance: ArticleFile, filename: str) -> str:
    return f"kb/{instance.article_id}/{filename}"


class ArticleFile(models.Model):
    """An attachment or a pasted image of an article: readable by whoever may read the article."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to=_file_path, max_length=500)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=150, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    is_inline = models.BooleanField(default=False)  # shown in the text, not listed below it
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class KbSettings(models.Model):
    """One row (pk=1)."""

    public_without_login = models.BooleanField(
        _("public articles can be read without logging in"),
        default=True,
        help_text=_(
            "Off: customers log in to the portal to read the knowledge base, and contact "
            "forms suggest no articles."
        ),
    )

    class Meta:
        verbose_name = _("knowledge base settings")

    @classmethod
    def current(cls) -> KbSettings:
        row, _created = cls.objects.get_or_create(pk=1)
        return row


class SuggestionVisit(models.Model):
    """One customer's stay on a new-request form (portal or contact form) where articles were
    suggested and at least one was opened. `key` is the random part of the signed token the
    browser holds."""

    key = models.CharField(max_length=32, unique=True)
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    last_article = models.ForeignKey(
        Article, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    solved_article = models.ForeignKey(
        Article, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    solved_at = models.DateTimeField(null=True, blank=True)
    ticket_at = models.DateTimeField(null=True, blank=True)  # a request was sent after all

    class Meta:
        indexes = [
            models.Index(fields=["contact", "last_seen_at"], name="kb_visit_contact_idx"),
        ]


class SuggestionOpen(models.Model):
    """A suggested article opened during a visit (once per visit and article)."""

    visit = models.ForeignKey(SuggestionVisit, on_delete=models.CASCADE, related_name="opens")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="suggestion_opens")
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visit", "article"], name="kb_open_once_per_visit")
        ]
