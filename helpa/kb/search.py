"""Full-text search over article texts, stemmed in each text's own language.

PostgreSQL: a `tsvector` column on kb_articletext with a GIN index, built with the text
search configuration of the text's language ('swedish' or 'english'). SQLite: an FTS5 table
whose rowid is the text's id and whose columns hold the Snowball stems of the words (the same
algorithm PostgreSQL's configurations use), so "skrivaren" finds "skrivare" and "skrivarna" on
both databases. Both are created by migration 0002 and kept current by `index_text`.

Every query word is also a prefix ("skriv" while the customer is still typing finds
"skrivaren").
"""

from __future__ import annotations

import re
from functools import cache

import snowballstemmer
from django.db import connection
from django.db.models import QuerySet

from .models import Article, ArticleText

# Letters and digits; "_" is a separator for FTS5 too.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
CONFIGS = {"sv": "swedish", "en": "english"}
MAX_QUERY_WORDS = 12
# PostgreSQL refuses tsvectors over 1 MB.
MAX_DOCUMENT_CHARS = 500_000


@cache
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(CONFIGS.get(language, "english"))


def stems(text: str, language: str) -> list[str]:
    return _stemmer(language).stemWords(_WORD.findall(text.lower()))


def index_text(text: ArticleText) -> None:
    """Write (or rewrite) one text's search entry."""
    body = text.body_text[:MAX_DOCUMENT_CHARS]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            config = CONFIGS.get(text.language, "english")
            cursor.execute(
                "UPDATE kb_articletext SET search_document = "
                "setweight(to_tsvector(%s::regconfig, %s), 'A') || to_tsvector(%s::regconfig, %s) "
                "WHERE id = %s",
                [config, text.title, config, body, text.pk],
            )
        else:
            cursor.execute("DELETE FROM kb_articletext_fts WHERE rowid = %s", [text.pk])
            cursor.execute(
                "INSERT INTO kb_articletext_fts (rowid, title, body, lang) VALUES (%s, %s, %s, %s)",
                [
                    text.pk,
                    " ".join(stems(text.title, text.language)),
                    " ".join(stems(body, text.language)),
                    text.language,
                ],
            )


def forget_texts(text_ids: list[int]) -> None:
    """SQLite's FTS table has no foreign key: remove the entries of deleted texts."""
    if connection.vendor != "postgresql" and text_ids:
        with connection.cursor() as cursor:
            marks = ",".join(["%s"] * len(text_ids))
            cursor.execute(f"DELETE FROM kb_articletext_fts WHERE rowid IN ({marks})", text_ids)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())[:MAX_QUERY_WORDS]


def _matching_texts(
    texts: QuerySet[ArticleText], text: str, *, any_word: bool
) -> QuerySet[ArticleText] | None:
    """`texts` narrowed to those matching `text`, annotated with `rank` (lower is better)."""
    words = _words(text)
    if not words:
        return None
    if connection.vendor == "postgresql":
        # Words are letters and digits only, so quoting them cannot break out of the tsquery syntax.
        query = (" | " if any_word else " & ").join(f"'{w}':*" for w in words)
        where = (
            "((kb_articletext.language = 'sv' AND "
            "kb_articletext.search_document @@ to_tsquery('swedish', %s)) OR "
            "(kb_articletext.language = 'en' AND "
            "kb_articletext.search_document @@ to_tsquery('english', %s)))"
        )
        rank = (
            "-ts_rank(kb_articletext.search_document, CASE kb_articletext.language "
            "WHEN 'sv' THEN to_tsquery('swedish', %s) ELSE to_tsquery('english', %s) END)"
        )
        return texts.extra(
            select={"rank": rank},
            select_params=[query, query],
            where=[where],
            params=[query, query],
        )
    joiner = " OR " if any_word else " AND "
    queries = {}
    for language in CONFIGS:
        language_stems = [s for s in _stemmer(language).stemWords(words) if s]
        queries[language] = joiner.join(f'"{s}"*' for s in language_stems)
    where = (
        "kb_articletext.id IN ("
        "SELECT rowid FROM kb_articletext_fts WHERE kb_articletext_fts MATCH %s AND lang = 'sv' "
        "UNION ALL "
        "SELECT rowid FROM kb_articletext_fts WHERE kb_articletext_fts MATCH %s AND lang = 'en')"
    )
    # bm25: lower is better; a word in the title counts five times one in the body.
    rank = (
        "(SELECT bm25(kb_articletext_fts, 5.0, 1.0) FROM kb_articletext_fts "
        "WHERE kb_articletext_fts MATCH (CASE kb_articletext.language WHEN 'sv' THEN %s ELSE %s END) "
        "AND kb_articletext_fts.rowid = kb_articletext.id)"
    )
    return texts.extra(
        select={"rank": rank},
        select_params=[queries["sv"], queries["en"]],
        where=[where],
        params=[queries["sv"], queries["en"]],
    )


def search_article_ids(
    articles: QuerySet[Article], text: str, *, any_word: bool = False, limit: int = 200
) -> list[int]:
    """The ids of the `articles` whose title or text (in either language) has every word of
    `text` (any word, best first, with `any_word`), best match first."""
    texts = _matching_texts(
        ArticleText.objects.filter(article__in=articles.values("pk")), text, any_word=any_word
    )
    if texts is None:
        return []
    ids: list[int] = []
    rows = texts.order_by("rank", "-article_id").values_list("article_id", "rank")
    for article_id, _rank in rows[: limit * 2]:
        if article_id not in ids:
            ids.append(article_id)
            if len(ids) == limit:
                break
    return ids
