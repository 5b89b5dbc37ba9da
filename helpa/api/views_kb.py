"""Knowledge-base articles (kb/): listed and searched as on the agents' article list (the KB's own
full-text search), read with their texts, created and changed through the article form and
kb's `save_article`, as any agent may on the pages. Agents read every article, internal ones
and drafts included (`ArticleQuerySet.readable_by`)."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from helpa.accounts.models import User
from helpa.kb import search
from helpa.kb.models import LANGUAGES, Article, ArticleText, Category

from . import kb_writes, serializers
from .filters import check_params, is_id

# A search lists this many best matches (the KB's own limit), best first.
SEARCH_LIMIT = 200

LIST_CHECKS = {
    "q": lambda v: len(v) <= 200,
    "category": lambda v: v == "none" or is_id(v),
    "status": lambda v: v in Article.Status.values,
    "visibility": lambda v: v in Article.Visibility.values,
    "language": lambda v: v in LANGUAGES,
}


def _articles(user: User) -> QuerySet[Article]:
    return Article.objects.readable_by(user, anonymous_allowed=False)


def _with_texts(articles: QuerySet[Article]) -> QuerySet[Article]:
    return articles.prefetch_related(
        Prefetch("texts", queryset=ArticleText.objects.order_by("language"))
    )


class KbArticleList(generics.ListCreateAPIView):
    """Articles, newest change first; with `?q=`, the best matches of the KB's search (in
    either language, stemmed), best first. POST creates one (a draft unless `status` says
    otherwise)."""

    serializer_class = serializers.KbArticleListSerializer

    def get_queryset(self) -> QuerySet[Article]:
        params = self.request.query_params
        check_params(params, LIST_CHECKS, LIST_CHECKS)
        articles = _articles(self.request.user)
        category = params.get("category", "")
        if category == "none":
            articles = articles.filter(category=None)
        elif category:
            articles = articles.filter(category_id=int(category))
        for name in ("status", "visibility"):
            if params.get(name):
                articles = articles.filter(**{name: params[name]})
        if params.get("language"):
            with_text = ArticleText.objects.filter(language=params["language"])
            articles = articles.filter(pk__in=with_text.values("article_id"))
        query = params.get("q", "").strip()
        if query:
            ids = search.search_article_ids(articles, query, limit=SEARCH_LIMIT)
            # The cursor pages through the matches in the search's order.
            articles = articles.filter(pk__in=ids).annotate(
                hit=Case(
                    *(When(pk=pk, then=Value(i)) for i, pk in enumerate(ids)),
                    default=Value(len(ids)),
                    output_field=IntegerField(),
                )
            )
        texts = ArticleText.objects.only("id", "article_id", "language", "title")
        return articles.prefetch_related(Prefetch("texts", queryset=texts.order_by("language")))

    def cursor_ordering(self, request: Request) -> tuple[str, ...]:
        if request.query_params.get("q", "").strip():
            return ("hit", "id")
        return ("-updated_at", "-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Search words (the KB's full-text search)."),
            OpenApiParameter(
                "category", str, description="A category's id, or `none` for articles without."
            ),
            OpenApiParameter("status", str, enum=list(Article.Status.values)),
            OpenApiParameter("visibility", str, enum=list(Article.Visibility.values)),
            OpenApiParameter(
                "language",
                str,
                enum=LANGUAGES,
                description="Only articles with a text in this language.",
            ),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=serializers.KbArticleWriteSerializer,
        responses={201: serializers.KbArticleSerializer},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_params(request.query_params, ())
        form = serializers.KbArticleWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        article = kb_writes.save_article(request.user, form.changes())
        response = Response(_article_data(request, article.pk), status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(
            reverse("api:kb_article", args=[article.pk])
        )
        return response


def _article_data(request: Request, pk: int) -> dict[str, Any]:
    article = _with_texts(_articles(request.user)).get(pk=pk)
    return serializers.KbArticleSerializer(article).data


class KbArticleDetail(generics.RetrieveAPIView):
    """One article with its texts. PATCH changes it; what it leaves out stays (an emptied
    title removes that language's text, as on the article form)."""

    serializer_class = serializers.KbArticleSerializer

    def get_queryset(self) -> QuerySet[Article]:
        check_params(self.request.query_params, ())
        return _with_texts(_articles(self.request.user))

    @extend_schema(request=serializers.KbArticleWriteSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        article = self.get_object()
        form = serializers.KbArticleWriteSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        kb_writes.save_article(request.user, form.changes(), article)
        return Response(_article_data(request, pk))


class KbCategoryList(generics.ListAPIView):
    """The knowledge base's categories (for the article list's `category` filter)."""

    serializer_class = serializers.KbCategorySerializer

    def get_queryset(self) -> QuerySet[Category]:
        check_params(self.request.query_params, ())
        return Category.objects.all()
