"""A PDF's first page as a small WebP picture, rendered locally with PDFium (pypdfium2).

Why PDFium: it is the renderer of Chromium, maintained, and pypdfium2 ships it as a wheel (no
system library, no browser, no external service). It is not thread-safe, so renders take turns.
"""

from __future__ import annotations

import io
import threading

from ..exceptions import SourceError

WIDTH = 400  # pixels: twice the widest card picture, sharp on high-density screens
MAX_HEIGHT = 800  # a very tall first page is cut at twice its width
MEDIA_TYPE = "image/webp"
_PDFIUM = threading.Lock()


class UnreadablePdf(SourceError):
    """The bytes are not a PDF PDFium can render (cut short, damaged, no pages, not a PDF)."""


def first_page_webp(pdf: bytes, *, width: int = WIDTH, quality: int = 80) -> bytes:
    """The first page of ``pdf`` rendered ``width`` pixels wide (its /Rotate applied), as WebP.
    Raises UnreadablePdf when it cannot be rendered."""
    if not pdf.lstrip()[:5].startswith(b"%PDF"):
        raise UnreadablePdf(f"not a PDF (starts with {pdf[:16]!r})")
    import pypdfium2 as pdfium

    with _PDFIUM:
        try:
            doc = pdfium.PdfDocument(pdf)
        except pdfium.PdfiumError as e:
            raise UnreadablePdf(f"PDFium cannot open it: {e}") from e
        try:
            if len(doc) == 0:
                raise UnreadablePdf("the PDF has no pages")
            page = doc[0]
            try:
                w, _h = page.get_size()  # as shown, rotation applied
                if w <= 0:
                    raise UnreadablePdf("the first page has no width")
                bitmap = page.render(scale=width / w, may_draw_forms=False)
                image = bitmap.to_pil()
            except pdfium.PdfiumError as e:
                raise UnreadablePdf(f"PDFium cannot render the first page: {e}") from e
            finally:
                page.close()
        finally:
            doc.close()
    if image.height > MAX_HEIGHT:
        image = image.crop((0, 0, image.width, MAX_HEIGHT))
    out = io.BytesIO()
    image.convert("RGB").save(out, "WEBP", quality=quality, method=4)
    return out.getvalue()
