"""Knowledge-base personas: articles as a reader meets them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpa.accounts.models import User
from helpa.kb import actions
from helpa.kb.models import Article, Category

MakeArticle = Callable[..., Article]


@pytest.fixture
def make_article(alice: User) -> MakeArticle:
    def make(
        sv: tuple[str, str] | None = None,
        en: tuple[str, str] | None = None,
        *,
        visibility: str = Article.Visibility.PUBLIC,
        status: str = Article.Status.PUBLISHED,
        category: Category | None = None,
        files: list[SimpleUploadedFile] | None = None,
    ) -> Article:
        texts = {}
        if sv:
            texts["sv"] = sv
        if en:
            texts["en"] = en
        return actions.save_article(
            alice,
            None,
            category=category,
            visibility=visibility,
            status=status,
            texts=texts,
            uploads=files or [],
        )

    return make


@pytest.fixture
def printer_article(make_article: MakeArticle) -> Article:
    """Published, public, in both languages."""
    return make_article(
        ("Skrivarna på plan 3", "<p>Om en skrivare har papperstrassel: öppna luckan.</p>"),
        ("The printers on floor 3", "<p>When a printer jams: open the front door.</p>"),
    )


@pytest.fixture
def internal_article(make_article: MakeArticle) -> Article:
    return make_article(
        ("Intern rutin för skrivare", "<p>Servicenummer 0701234567.</p>"),
        visibility=Article.Visibility.INTERNAL,
        files=[SimpleUploadedFile("secret.txt", b"internal", content_type="text/plain")],
    )


@pytest.fixture
def draft_article(make_article: MakeArticle) -> Article:
    return make_article(
        ("Utkast om skrivare", "<p>Inte klart.</p>"),
        status=Article.Status.DRAFT,
        files=[SimpleUploadedFile("draft.txt", b"draft", content_type="text/plain")],
    )
