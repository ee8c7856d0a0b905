"""Files sent to download under a name every client keeps."""
from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import send_file


def send_download(source, name: str, mimetype: str):
    """``send_file`` as an attachment named ``name`` (Chinese kept in ``filename*``), with an
    ASCII ``filename`` that still says whose file it is: the plain name older clients and
    download tools read made 工单-20261208-0041.xlsx a bare "-20261208-0041.xlsx"."""
    response = send_file(source, as_attachment=True, download_name=name, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(name)
    return response


def content_disposition(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = plain.replace('"', "").replace("\\", "").strip(" -_")
    if plain != name:
        plain = f"griddesk-{plain}" if plain and not plain.startswith(".") else f"griddesk{plain}"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"
