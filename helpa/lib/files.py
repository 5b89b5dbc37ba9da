"""Serving a stored upload (attachments, knowledge-base files) without letting it run."""

from __future__ import annotations

from django.db.models.fields.files import FieldFile
from django.http import FileResponse


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
