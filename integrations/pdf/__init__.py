"""HTML → PDF with WeasyPrint (which needs Pango from the system: Debian's libpango-1.0-0, and a
CJK font such as fonts-noto-cjk for Chinese text).

The document may load nothing from outside: no file, no http (only ``data:`` URLs), so a report
can never be made to read the server's files or call other hosts. Its stylesheets are given as
local files by the caller.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

CJK_FONTS = '"Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "Source Han Sans SC"'


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system library it needs (Pango) is missing on this machine."""


def _weasyprint():
    try:
        import weasyprint
    except ImportError as exc:
        raise PdfUnavailable(f"WeasyPrint is not installed ({exc})") from exc
    except OSError as exc:  # cffi cannot load libpango / libgobject
        raise PdfUnavailable(f"the Pango library WeasyPrint needs is missing ({exc})") from exc
    return weasyprint


def pdf_unavailable_reason() -> str | None:
    """None when PDFs can be made here, otherwise why not (for a message or a test skip)."""
    try:
        _weasyprint()
    except PdfUnavailable as exc:
        return str(exc)
    return None


def html_to_pdf(html: str, stylesheets: Iterable[str | Path] = ()) -> bytes:
    weasyprint = _weasyprint()
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",))
    document = weasyprint.HTML(string=html, base_url="data:,", url_fetcher=fetcher)
    sheets = [weasyprint.CSS(filename=str(path), url_fetcher=fetcher) for path in stylesheets]
    return document.write_pdf(stylesheets=sheets)
