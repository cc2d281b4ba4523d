"""The key card: a person's verifier key on paper (text and QR code), to keep away from the server.

Whoever holds the card can check, offline, that a ledger export or a receipt was signed
by that person and no one else (`consent verify FILE --key ...`); the server cannot change
what the card says. Pure code: the web layer passes in the words, already translated.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import segno
from reportlab.lib.pagesizes import A6, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from consent.ledger.note import VerifierKey
from consent.letters.output import FONT, register_font

#: Level M (15 % of the code can be lost) keeps the code small enough to scan from a print.
_ERROR_LEVEL = "m"


def fingerprint(key: VerifierKey) -> str:
    """The key ID in four groups of two hex digits: short enough to compare by eye."""
    text = f"{key.key_id:08x}"
    return " ".join(text[i : i + 2] for i in range(0, 8, 2))


def qr_svg(key: VerifierKey) -> str:
    """The QR code of the whole verifier key, as inline SVG (no script, no style)."""
    return str(segno.make(str(key), error=_ERROR_LEVEL).svg_inline(scale=4, title=str(key)))


def to_text(key: VerifierKey, lines: Sequence[str]) -> str:
    """The card as plain text: the given lines, then the key itself."""
    return "\n".join([*lines, "", str(key), ""])


def to_pdf(key: VerifierKey, *, title: str, lines: Sequence[str]) -> bytes:
    """A postcard-sized page (A6 landscape): title, the lines, the key, and its QR code."""
    register_font()
    out = io.BytesIO()
    width, height = landscape(A6)
    page = Canvas(out, pagesize=(width, height))
    page.setTitle(title)
    margin = 8 * mm
    png = io.BytesIO()
    segno.make(str(key), error=_ERROR_LEVEL).save(png, kind="png", scale=8, border=4)
    png.seek(0)
    size = 42 * mm
    page.drawImage(ImageReader(png), width - margin - size, height - margin - size, size, size)
    page.setFont(FONT, 12)
    page.drawString(margin, height - margin - 10, title)
    page.setFont(FONT, 8)
    y = height - margin - 26
    for line in lines:
        page.drawString(margin, y, line)
        y -= 11
    # The key wrapped at a fixed width: it has no spaces to break at.
    text = str(key)
    page.setFont("Courier", 7)
    y = margin + 30
    for start in range(0, len(text), 56):
        page.drawString(margin, y, text[start : start + 56])
        y -= 9
    page.showPage()
    page.save()
    return out.getvalue()
