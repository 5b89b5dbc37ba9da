"""The import pages under Settings (admins only): upload → map columns and preview → run and
follow the progress. The import itself is crm/importing.py."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpa.accounts.permissions import admin_required

from . import importing
from .models import ImportJob

PREVIEW_ROWS = 20


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (UTF-8 or Windows-1252 as Excel saves it; semicolons, commas or tabs) or Excel "
            "(.xlsx, the first sheet). The first row holds the column names. At most 20 MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > importing.MAX_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    # The settings navigation lists administration's sections; imported here, when a page is
    # drawn, because administration sits above crm.
    from helpa.administration.views import SECTIONS

    return render(
        request, f"crm/{template}", {"sections": SECTIONS, "section": "import", **context}
    )


@admin_required
def import_start(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = ".xlsx" if upload.name.lower().endswith(".xlsx") else ".csv"
        relative = f"imports/{secrets.token_hex(8)}{suffix}"
        path = Path(settings.MEDIA_ROOT) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            table = importing.read_table(path)
            total = sum(1 for _row in table.rows)
        except importing.ImportFileError as error:
            path.unlink(missing_ok=True)
            form.add_error("file", str(error))
        else:
            job = ImportJob.objects.create(
                created_by=request.user,
                file_name=upload.name[:255],
                stored_path=relative,
                headers=table.headers,
                mapping=importing.guess_mapping(table.headers),
                total_rows=total,
            )
            return redirect("crm_import:job", job.pk)
    jobs = ImportJob.objects.select_related("created_by")[:20]
    return _render(request, "import_start.html", {"form": form, "jobs": jobs})


def _mapping_from(request: HttpRequest, job: ImportJob) -> list[str]:
    return [request.POST.get(f"col{i}", "") for i in range(len(job.headers))]


@admin_required
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """The mapping and preview while the job waits; the progress and outcome after."""
    job = get_object_or_404(ImportJob, pk=pk)
    context: dict[str, Any] = {"job": job, "fields": importing.FIELDS}
    if job.state == ImportJob.State.UPLOADED:
        if request.method == "POST":
            job.mapping = _mapping_from(request, job)
            job.save(update_fields=["mapping"])
        try:
            importer = importing.Importer(job.mapping, dry_run=True, keep_outcomes=True)
            table = importing.read_table(importing.job_path(job))
            rows = [r for _i, r in zip(range(PREVIEW_ROWS), table.rows, strict=False)]
            context["preview"] = importer.run(rows)
            context["preview_cells"] = dict(rows)
        except importing.MappingError as error:
            context["mapping_error"] = str(error)
        except (importing.ImportFileError, OSError) as error:
            context["mapping_error"] = str(error)
        context["columns"] = list(zip(job.headers, job.mapping, strict=False))
    if request.htmx and job.state != ImportJob.State.UPLOADED:
        return render(request, "crm/_import_progress.html", context)
    return _render(request, "import_job.html", context)


@admin_required
@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk, state=ImportJob.State.UPLOADED)
    job.mapping = _mapping_from(request, job)
    try:
        importing.check_mapping(job.mapping)
    except importing.MappingError as error:
        messages.error(request, str(error))
        job.save(update_fields=["mapping"])
        return redirect("crm_import:job", job.pk)
    if job.total_rows > importing.BACKGROUND_ROWS:
        from .tasks import run_import_job

        job.state = ImportJob.State.QUEUED
        job.save(update_fields=["mapping", "state"])
        run_import_job(job.pk)
    else:
        job.save(update_fields=["mapping"])
        importing.run_job(job.pk)
    return redirect("crm_import:job", job.pk)
