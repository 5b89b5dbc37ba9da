"""Knowledge base pages.

Readers (customers, anonymous visitors when the admin allows it, agents) get the portal's look
(portal/base.html); every article they reach goes through `_readable`, which is
`ArticleQuerySet.readable_by`: internal articles and drafts reach agents only. Agents manage
articles and categories in the workspace (base.html) and insert articles into replies.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from helpa.accounts.permissions import admin_required, agent_required
from helpa.administration.views import SECTIONS
from helpa.lib.files import stored_file_response
from helpa.portal.access import portal_contact
from helpa.tickets.models import HelpdeskSettings

from . import actions, deflection, search
from .forms import ArticleForm, CategoryForm, KbSettingsForm
from .models import (
    LANGUAGES,
    Article,
    ArticleQuerySet,
    Category,
    KbSettings,
    Language,
    preferred_languages,
)

PAGE_SIZE = 50
SUGGESTIONS = 5
MIN_SUGGEST_CHARS = 3


def _readable(request: HttpRequest) -> ArticleQuerySet:
    allowed = KbSettings.current().public_without_login
    return Article.objects.readable_by(request.user, anonymous_allowed=allowed)


def reader_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anyone when the admin lets the knowledge base be read without login; else signed-in
    users (customers sign in on the portal)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated and not KbSettings.current().public_without_login:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        return view(request, *args, **kwargs)

    return wrapper


def _posted(request: HttpRequest) -> Any:
    """The POST data of a POST (also an empty one: an unticked box), else None."""
    return request.POST if request.method == "POST" else None


def _language(request: HttpRequest) -> str:
    asked = request.GET.get("lang", "")
    return asked if asked in LANGUAGES else (get_language() or "en")[:2]


def _in_order(ids: list[int], queryset: ArticleQuerySet) -> list[Article]:
    by_id = {a.pk: a for a in queryset.filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


def _with_texts(queryset: ArticleQuerySet) -> ArticleQuerySet:
    return queryset.select_related("category").prefetch_related("texts")


# --- Readers -----------------------------------------------------------------------------------


@reader_required
def home(request: HttpRequest) -> HttpResponse:
    readable = _readable(request)
    per_category = dict(
        readable.order_by().values("category").annotate(n=Count("pk")).values_list("category", "n")
    )
    categories = [
        (category, per_category[category.pk])
        for category in Category.objects.all()
        if per_category.get(category.pk)
    ]
    recent = list(_with_texts(readable.order_by("-updated_at", "-pk"))[:10])
    return render(
        request,
        "kb/home.html",
        {"categories": categories, "recent": recent, "uncategorised": per_category.get(None, 0)},
    )


@reader_required
def category(request: HttpRequest, pk: int) -> HttpResponse:
    current = get_object_or_404(Category, pk=pk)
    articles = list(_with_texts(_readable(request).filter(category=current)))
    return render(request, "kb/category.html", {"category": current, "articles": articles})


@reader_required
def search_page(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    readable = _readable(request)
    ids = search.search_article_ids(readable, query, limit=PAGE_SIZE) if query else []
    results = _in_order(ids, _with_texts(readable))
    return render(request, "kb/search.html", {"query": query, "results": results})


@reader_required
def article_page(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(
        _readable(request).select_related("category").prefetch_related("texts", "files"), pk=pk
    )
    language = _language(request)
    text = article.text_for(language)
    contact = portal_contact(request.user)
    token = request.GET.get("visit", "")
    from_suggestion = (
        bool(token)
        and article.is_for_customers
        and not getattr(request.user, "is_agent", False)
        and deflection.record_open(token, article, contact)
    )
    others = [t for t in article.texts.all() if text is None or t.language != text.language]
    response = render(
        request,
        "kb/article.html",
        {
            "article": article,
            "text": text,
            "other_texts": others,
            "files": [f for f in article.files.all() if not f.is_inline],
            "visit": token if from_suggestion else "",
            "solved": request.GET.get("solved") == "1",
            "is_customer": contact is not None,
        },
    )
    if not article.is_for_customers:
        response["Cache-Control"] = "private, no-store"
    return response


@reader_required
def article_file(request: HttpRequest, pk: int, file_pk: int) -> FileResponse:
    article = get_object_or_404(_readable(request), pk=pk)
    record = get_object_or_404(article.files.all(), pk=file_pk)
    response = stored_file_response(record.file, record.filename, record.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=300" if article.is_for_customers else "no-store"
    return response


@require_POST
@reader_required
def solved(request: HttpRequest, pk: int) -> HttpResponse:
    """ "This solved my problem" on an article opened from a suggestion."""
    article = get_object_or_404(_readable(request).for_customers(), pk=pk)
    deflection.record_solved(request.POST.get("visit", ""), article, portal_contact(request.user))
    return redirect(reverse("kb:article", args=[pk]) + "?" + urlencode({"solved": "1"}))


def suggest(request: HttpRequest) -> JsonResponse:
    """Published public articles matching a new request's title, for the suggestion script:
    {"visit": token, "results": [{"id", "title", "url", "excerpt"}]}. Anonymous callers (contact
    forms) get suggestions only when the knowledge base may be read without login."""
    query = request.GET.get("q", "").strip()[:200]
    language = request.GET.get("lang", "")
    language = language if language in LANGUAGES else (get_language() or "en")[:2]
    token = deflection.new_token(request.GET.get("visit", ""))
    results = []
    allowed = request.user.is_authenticated or KbSettings.current().public_without_login
    if allowed and len(query) >= MIN_SUGGEST_CHARS:
        customers = Article.objects.for_customers()
        ids = search.search_article_ids(customers, query, any_word=True, limit=SUGGESTIONS)
        for article in _in_order(ids, _with_texts(customers)):
            text = article.text_for(language)
            if text is None:
                continue
            url = reverse("kb:article", args=[article.pk])
            results.append(
                {
                    "id": article.pk,
                    "title": text.title,
                    "language": text.language,
                    "url": url + "?" + urlencode({"lang": text.language, "visit": token}),
                    "excerpt": Truncator(text.body_text.replace("\n", " ")).chars(160),
                }
            )
    response = JsonResponse({"visit": token, "results": results})
    response["Cache-Control"] = "private, no-store"
    return response


# The suggestion script posts this with navigator.sendBeacon when the form it watches is
# submitted, also from contact forms embedded on other sites, where no CSRF cookie reaches the
# frame. It can only mark a visit "ended in a ticket", which lowers a count: no CSRF check.
@csrf_exempt
@require_POST
def suggest_ticket(request: HttpRequest) -> HttpResponse:
    deflection.record_ticket(request.POST.get("visit", ""))
    return HttpResponse(status=204)


# --- Agents ------------------------------------------------------------------------------------


@agent_required
def agent_list(request: HttpRequest) -> HttpResponse:
    articles = Article.objects.all()
    filters = {
        "q": request.GET.get("q", "").strip()[:200],
        "category": request.GET.get("category", ""),
        "status": request.GET.get("status", ""),
        "visibility": request.GET.get("visibility", ""),
    }
    if filters["category"] == "none":
        articles = articles.filter(category=None)
    elif filters["category"].isdigit():
        articles = articles.filter(category_id=int(filters["category"]))
    if filters["status"] in Article.Status.values:
        articles = articles.filter(status=filters["status"])
    if filters["visibility"] in Article.Visibility.values:
        articles = articles.filter(visibility=filters["visibility"])
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    start = (page - 1) * PAGE_SIZE
    if filters["q"]:
        ids = search.search_article_ids(articles, filters["q"], limit=start + PAGE_SIZE + 1)
        rows = _in_order(ids[start:], _with_texts(articles))
    else:
        rows = list(_with_texts(articles)[start : start + PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    counts = deflection.counts([a.pk for a in rows])
    query = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "kb/agent_list.html",
        {
            "rows": [(a, counts[a.pk]) for a in rows],
            "filters": filters,
            "categories": list(Category.objects.all()),
            "statuses": Article.Status.choices,
            "visibilities": Article.Visibility.choices,
            "page": page,
            "has_next": has_next,
            "prev_query": urlencode({**query, "page": page - 1}),
            "next_query": urlencode({**query, "page": page + 1}),
        },
    )


def _edit(request: HttpRequest, article: Article | None) -> HttpResponse:
    helpdesk = HelpdeskSettings.load()
    form = ArticleForm(_posted(request), request.FILES or None, settings=helpdesk, article=article)
    if request.method == "POST" and form.is_valid():
        saved = actions.save_article(
            request.user,
            article,
            category=form.cleaned_data["category"],
            visibility=form.cleaned_data["visibility"],
            status=form.cleaned_data["status"],
            texts=form.texts(),
            uploads=form.cleaned_data.get("attachments") or [],
            remove_file_ids=[int(pk) for pk in form.cleaned_data.get("remove_files") or []],
        )
        messages.success(request, _("Article saved."))
        return redirect("kb:edit", pk=saved.pk)
    return render(
        request,
        "kb/edit.html",
        {
            "form": form,
            "article": article,
            "settings": helpdesk,
            "editors": [
                (form["title_sv"], form["body_sv"], Language.SV.label),
                (form["title_en"], form["body_en"], Language.EN.label),
            ],
        },
        status=400 if form.errors else 200,
    )


@agent_required
def article_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@agent_required
def article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article.objects.prefetch_related("texts", "files"), pk=pk)
    return _edit(request, article)


@agent_required
@require_POST
def article_delete(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(Article, pk=pk)
    actions.delete_article(request.user, article)
    messages.success(request, _("Article deleted."))
    return redirect("kb:agent_list")


@agent_required
def category_list(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Category saved."))
        return redirect("kb:categories")
    counts = dict(
        Article.objects.order_by()
        .values("category")
        .annotate(n=Count("pk"))
        .values_list("category", "n")
    )
    categories = [(c, counts.get(c.pk, 0)) for c in Category.objects.all()]
    return render(
        request,
        "kb/categories.html",
        {"form": form, "categories": categories},
        status=400 if form.errors else 200,
    )


@agent_required
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    current = get_object_or_404(Category, pk=pk)
    form = CategoryForm(_posted(request), instance=current)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Category saved."))
        return redirect("kb:categories")
    return render(
        request,
        "kb/category_edit.html",
        {"form": form, "category": current},
        status=400 if form.errors else 200,
    )


@agent_required
@require_POST
def category_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actions.delete_category(request.user, get_object_or_404(Category, pk=pk))
    messages.success(request, _("Category deleted; its articles have none now."))
    return redirect("kb:categories")


@agent_required
def pick(request: HttpRequest) -> JsonResponse:
    """Articles for the reply composer's picker: every article an agent may read, drafts
    left out (not finished), internal ones marked."""
    query = request.GET.get("q", "").strip()[:200]
    articles = Article.objects.filter(status=Article.Status.PUBLISHED)
    ids = search.search_article_ids(articles, query, any_word=False, limit=10) if query else []
    results = []
    for article in _in_order(ids, _with_texts(articles)):
        results.append(
            {
                "id": article.pk,
                "public": article.is_for_customers,
                "category": article.category.name_for() if article.category else "",
                "texts": [
                    {"language": t.language, "title": t.title}
                    for t in sorted(article.texts.all(), key=lambda t: t.language != "sv")
                ],
            }
        )
    return JsonResponse({"results": results})


@agent_required
def pick_article(request: HttpRequest, pk: int) -> JsonResponse:
    """One article's link and text for the reply editor, in the language asked for."""
    article = get_object_or_404(Article.objects.prefetch_related("texts"), pk=pk)
    text = article.text_for(request.GET.get("lang") or preferred_languages()[0])
    if text is None:
        return JsonResponse({"error": "no text"}, status=404)
    base = settings.BASE_URL
    url = base + reverse("kb:article", args=[pk]) + "?" + urlencode({"lang": text.language})
    # Images and links inside the text point at this server: make them absolute, so they
    # work in the customer's mail too.
    html = text.body_html.replace('src="/kb/', f'src="{base}/kb/').replace(
        'href="/kb/', f'href="{base}/kb/'
    )
    return JsonResponse(
        {
            "id": article.pk,
            "title": text.title,
            "language": text.language,
            "public": article.is_for_customers,
            "url": url,
            "html": html,
            "text": text.body_text,
        }
    )


@admin_required
def kb_settings(request: HttpRequest) -> HttpResponse:
    form = KbSettingsForm(_posted(request), instance=KbSettings.current())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Knowledge base settings saved."))
        return redirect("kb:settings")
    return render(
        request,
        "kb/settings.html",
        {"form": form, "section": "kb", "sections": SECTIONS},
    )
