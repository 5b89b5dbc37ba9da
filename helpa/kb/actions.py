"""Changing the knowledge base: every view (and later the API) goes through these."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from helpa.accounts.models import User
from helpa.lib.html import html_to_text, sanitize_html

from . import search
from .models import Article, ArticleFile, ArticleText, Category


def _store_files(article: Article, uploads: Sequence[UploadedFile]) -> list[ArticleFile]:
    stored = []
    for upload in uploads:
        name = (upload.name or "file").replace("\\", "/").rsplit("/", 1)[-1][:200] or "file"
        record = ArticleFile(
            article=article,
            filename=name,
            content_type=(upload.content_type or "application/octet-stream")[:150],
            size=upload.size or 0,
        )
        record.file.save(name, upload, save=False)
        record.save()
        stored.append(record)
    return stored


def _point_at_files(html: str, files: Sequence[ArticleFile]) -> str:
    """A pasted image arrives as a file and a `cid:<filename>` reference: point it at the
    stored file's download address."""
    for record in files:
        ref = f"cid:{record.filename}"
        if ref in html:
            html = html.replace(ref, reverse("kb:file", args=[record.article_id, record.pk]))
    return html


def _delete_files(records: Sequence[ArticleFile]) -> None:
    names = [r.file.name for r in records if r.file]
    storage = ArticleFile._meta.get_field("file").storage  # type: ignore[attr-defined]
    ArticleFile.objects.filter(pk__in=[r.pk for r in records]).delete()
    transaction.on_commit(lambda: [storage.delete(name) for name in names])


@transaction.atomic
def save_article(
    actor: User,
    article: Article | None,
    *,
    category: Category | None,
    visibility: str,
    status: str,
    texts: dict[str, tuple[str, str]],
    uploads: Sequence[UploadedFile] = (),
    remove_file_ids: Sequence[int] = (),
) -> Article:
    """Create or update an article and its language versions (`texts`: language → (title,
    body HTML from the editor)); a language left out is removed. HTML is sanitised here."""
    now = timezone.now()
    if article is None:
        article = Article(created_by=actor, created_at=now)
    article.category = category
    article.visibility = visibility
    article.status = status
    article.updated_by = actor
    article.updated_at = now
    if status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = now
    article.save()

    if remove_file_ids:
        _delete_files(list(article.files.filter(pk__in=remove_file_ids)))
    new_files = _store_files(article, uploads)

    existing = {t.language: t for t in article.texts.all()}
    gone = [t for lang, t in existing.items() if lang not in texts]
    if gone:
        search.forget_texts([t.pk for t in gone])
        ArticleText.objects.filter(pk__in=[t.pk for t in gone]).delete()
    bodies = []
    for language, (title, body) in texts.items():
        html = _point_at_files(sanitize_html(body), new_files)
        bodies.append(html)
        text = existing.get(language) or ArticleText(article=article, language=language)
        text.title = title[:200]
        text.body_html = html
        text.body_text = html_to_text(html)
        text.save()
        search.index_text(text)
    # A file shown in a text is not listed again below it.
    for record in article.files.all():
        url = reverse("kb:file", args=[article.pk, record.pk])
        shown = any(url in html for html in bodies)
        if shown != record.is_inline:
            record.is_inline = shown
            record.save(update_fields=["is_inline"])
    return article


@transaction.atomic
def delete_article(actor: User, article: Article) -> None:
    search.forget_texts(list(article.texts.values_list("pk", flat=True)))
    _delete_files(list(article.files.all()))
    article.delete()


@transaction.atomic
def delete_category(actor: User, category: Model) -> None:
    """Its articles stay, without a category."""
    category.delete()
