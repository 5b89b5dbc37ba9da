"""Forms of the knowledge base. They validate; actions.py changes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpa.lib.html import html_to_text
from helpa.tickets.forms import AttachmentsField, body_from_editor
from helpa.tickets.models import HelpdeskSettings

from .models import Article, Category, KbSettings, Language


class ArticleForm(forms.Form):
    """An article with its two language versions, written in the reply editor."""

    category = forms.ModelChoiceField(
        Category.objects.all(), required=False, label=_("Category"), empty_label=_("(none)")
    )
    visibility = forms.ChoiceField(
        choices=Article.Visibility.choices,
        label=_("Visibility"),
        widget=forms.RadioSelect,
        help_text=_("Internal articles are for agents only."),
    )
    status = forms.ChoiceField(
        choices=Article.Status.choices, label=_("Status"), widget=forms.RadioSelect
    )
    title_sv = forms.CharField(label=_("Title (Swedish)"), max_length=200, required=False)
    body_sv = forms.CharField(
        label=_("Text (Swedish)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
    )
    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    body_en = forms.CharField(
        label=_("Text (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
    )
    remove_files = forms.MultipleChoiceField(
        label=_("Remove"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(
        self,
        *args: Any,
        settings: HelpdeskSettings,
        article: Article | None = None,
        **kwargs: Any,
    ) -> None:
        if article is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(article, settings)
        super().__init__(*args, **kwargs)
        self.helpdesk_settings = settings
        self.article = article
        self.fields["attachments"] = AttachmentsField(
            label=_("Attachments"), max_bytes=settings.max_attachment_bytes
        )
        files = list(article.files.all()) if article is not None else []
        self.fields["remove_files"].choices = [(str(f.pk), f.filename) for f in files]
        if not self.is_bound and article is None:
            self.initial.setdefault("visibility", Article.Visibility.PUBLIC)
            self.initial.setdefault("status", Article.Status.DRAFT)

    @staticmethod
    def initial_for(article: Article, settings: HelpdeskSettings) -> dict[str, Any]:
        plain = settings.editor_mode == HelpdeskSettings.EditorMode.PLAIN
        initial: dict[str, Any] = {
            "category": article.category_id,
            "visibility": article.visibility,
            "status": article.status,
        }
        for text in article.texts.all():
            initial[f"title_{text.language}"] = text.title
            initial[f"body_{text.language}"] = (
                html_to_text(text.body_html) if plain else text.body_html
            )
        return initial

    def _body(self, name: str) -> str:
        return body_from_editor(
            self.cleaned_data.get(name) or "", self.helpdesk_settings.editor_mode
        )

    def clean_body_sv(self) -> str:
        return self._body("body_sv")

    def clean_body_en(self) -> str:
        return self._body("body_en")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("title_sv") or "").strip() and not (data.get("title_en") or "").strip():
            raise forms.ValidationError(_("Give the article a title in Swedish or English."))
        for code in (Language.SV, Language.EN):
            if (data.get(f"body_{code}") or "").strip() and not (
                data.get(f"title_{code}") or ""
            ).strip():
                self.add_error(f"title_{code}", _("A text needs a title in the same language."))
        return data

    def texts(self) -> dict[str, tuple[str, str]]:
        """language → (title, body HTML) for the languages with a title; others are removed."""
        result = {}
        for code in (Language.SV, Language.EN):
            title = (self.cleaned_data.get(f"title_{code}") or "").strip()
            if title:
                result[str(code)] = (title, self.cleaned_data.get(f"body_{code}") or "")
        return result


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name_sv", "name_en", "position"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("name_sv") or "").strip() and not (data.get("name_en") or "").strip():
            raise forms.ValidationError(_("Give the category a name in Swedish or English."))
        return data


class KbSettingsForm(forms.ModelForm):
    class Meta:
        model = KbSettings
        fields = ["public_without_login"]
