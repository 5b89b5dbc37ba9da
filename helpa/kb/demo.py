"""Demo articles for `helpa demo_data` (it publishes `demo_data.loaded`; see KbConfig.ready)."""

from __future__ import annotations

from typing import Any

from helpa.accounts.models import User

from . import actions
from .models import Article, Category

# (category, visibility, {language: (title, body HTML)})
ARTICLES: list[tuple[str, str, dict[str, tuple[str, str]]]] = [
    (
        "Skrivare",
        Article.Visibility.PUBLIC,
        {
            "sv": (
                "Skrivaren drar in flera papper samtidigt",
                "<p>Lufta pappersbunten, lägg i högst 200 ark och kontrollera att pappersstödet "
                "ligger an mot bunten. Rengör matarrullarna med en fuktig trasa.</p>",
            ),
            "en": (
                "The printer pulls in several sheets at once",
                "<p>Fan the paper, load at most 200 sheets and check that the guide touches the "
                "stack. Clean the feed rollers with a damp cloth.</p>",
            ),
        },
    ),
    (
        "Konto och inloggning",
        Article.Visibility.PUBLIC,
        {
            "sv": (
                "Så byter du lösenord",
                "<ol><li>Logga in på kundportalen.</li><li>Välj <strong>Mitt konto</strong>."
                "</li><li>Skriv det nya lösenordet två gånger och spara.</li></ol>",
            ),
            "en": (
                "How to change your password",
                "<ol><li>Log in to the customer portal.</li><li>Choose <strong>My account"
                "</strong>.</li><li>Type the new password twice and save.</li></ol>",
            ),
        },
    ),
    (
        "Faktura",
        Article.Visibility.PUBLIC,
        {
            "sv": (
                "Varför har fakturan ett annat belopp än offerten?",
                "<p>Fakturan tar med moms och eventuella tillval som beställts efter offerten. "
                "Skriv till oss med fakturanumret så går vi igenom raderna.</p>",
            ),
        },
    ),
    (
        "Skrivare",
        Article.Visibility.INTERNAL,
        {
            "sv": (
                "Internt: återställa skrivarkön på servern",
                "<p>Stoppa tjänsten <code>spooler</code>, töm kökatalogen och starta tjänsten "
                "igen. Meddela kunden när det är klart.</p>",
            ),
        },
    ),
]


def load(admin: User, **_payload: Any) -> None:
    categories: dict[str, Category] = {}
    for name, visibility, texts in ARTICLES:
        if name not in categories:
            categories[name] = Category.objects.create(
                name_sv=name, name_en=_ENGLISH.get(name, name), position=len(categories)
            )
        actions.save_article(
            admin,
            None,
            category=categories[name],
            visibility=visibility,
            status=Article.Status.PUBLISHED,
            texts=texts,
        )


_ENGLISH = {
    "Skrivare": "Printers",
    "Konto och inloggning": "Account and login",
    "Faktura": "Invoices",
}
