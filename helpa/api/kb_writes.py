"""Knowledge-base articles are written through the article form (kb/forms.py), which holds the
rules (a title in one language at least, a text needs a title in its language), and saved by
kb's own action (`save_article`: sanitising, search index, publishing date)."""

from __future__ import annotations

from copy import copy
from typing import Any

from helpa.accounts.models import User
from helpa.kb import actions
from helpa.kb.forms import ArticleForm
from helpa.kb.models import Article
from helpa.tickets.models import HelpdeskSettings

from .crm_writes import form_errors

TEXT_FIELDS = ("title_sv", "body_sv", "title_en", "body_en")


def _html_settings() -> HelpdeskSettings:
    """The helpdesk settings with the HTML editor: the API sends bodies as HTML (the serializer
    turns plain text into HTML first), whichever editor the admin chose for the pages."""
    settings = copy(HelpdeskSettings.load())
    settings.editor_mode = HelpdeskSettings.EditorMode.HTML
    return settings


def save_article(user: User, data: dict[str, Any], article: Article | None = None) -> Article:
    """Create (`article` None) or change an article. A change keeps what `data` leaves out:
    the category, visibility, status and each language's title and text."""
    settings = _html_settings()
    if article is None:
        # What the empty form starts with on the page: public, draft.
        current: dict[str, Any] = {
            "visibility": Article.Visibility.PUBLIC,
            "status": Article.Status.DRAFT,
        }
    else:
        current = ArticleForm.initial_for(article, settings)
    values = {**current, **data}
    if values.get("category") is None:
        values["category"] = ""
    for name in TEXT_FIELDS:
        values[name] = values.get(name) or ""
    form = ArticleForm(values, settings=settings, article=article)
    if not form.is_valid():
        raise form_errors(form)
    return actions.save_article(
        user,
        article,
        category=form.cleaned_data["category"],
        visibility=form.cleaned_data["visibility"],
        status=form.cleaned_data["status"],
        texts=form.texts(),
    )
