"""Stored uploads (attachments, knowledge-base files, raw mail): serving one without letting it
run, and removing files once the rows that named them are gone."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.files.storage import Storage
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.http import FileResponse

log = logging.getLogger(__name__)


def stored_file_response(file: FieldFile, filename: str, content_type: str) -> FileResponse:
    """Images may show inline; everything else downloads, so no uploaded HTML (or SVG, which
    can carry script) ever renders on our origin, and the sandbox CSP covers what does."""
    inline = content_type.startswith("image/") and content_type != "image/svg+xml"
    response = FileResponse(
        file.open("rb"),
        as_attachment=not inline,
        filename=filename,
        content_type=content_type if inline else "application/octet-stream",
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def delete_files_on_commit(storage: Storage, names: Iterable[str]) -> None:
    """Remove stored files once the transaction that dropped their rows commits: a rollback
    keeps rows and files together. A crash between commit and removal leaves an orphan file
    (never a row without its file); removal failures are logged, not raised."""
    names = [n for n in names if n]
    if not names:
        return

    def remove() -> None:
        for name in names:
            try:
                storage.delete(name)
            except OSError:
                log.exception("could not delete the stored file %s", name)

    transaction.on_commit(remove)
