"""The HTTP answer carrying a material's file, shared by the API and the case page's 「下载」 link."""
from __future__ import annotations

from flask import Response, send_file

from engine import MaterialFile

from .security import inert


def file_response(found: MaterialFile) -> Response:
    """Send the checked copy as an attachment under its original name, typed as stored, never sniffed.

    The sandbox CSP and ``nosniff`` (:func:`app.security.inert`) keep an uploaded HTML or SVG file from running
    in tongban's origin even if a browser rendered it. Content-Disposition carries an ASCII fallback and
    ``filename*=UTF-8''...`` (RFC 5987/6266) for Chinese names; the ETag is the content's sha256. No 304s and
    no caches: every read goes through the check and the access log.
    """
    response = send_file(found.content, mimetype=found.media_type, as_attachment=True,
                         download_name=found.filename, etag=found.sha256, conditional=False)
    response.content_length = found.size
    inert(response)
    response.headers["X-Content-SHA256"] = found.sha256
    response.headers["Cache-Control"] = "private, no-store"
    return response
