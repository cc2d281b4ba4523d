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
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfgen.canvas import Canvas

from consent.ledger.note import VerifierKey
from consent.letters.output import FONT, register_font

#: Level M (15 % of the code can be lost) keeps the code small enough to scan from a print;
#: always a full QR code (not a Micro QR, which many phone scanners do not read).
_ERROR_LEVEL = "m"
_QR_SIZE = 40 * mm
_KEY_FONT, _KEY_SIZE = "Courier", 7.5


def _qr(key: VerifierKey) -> segno.QRCode:
    return segno.make_qr(str(key), error=_ERROR_LEVEL)


def fingerprint(key: VerifierKey) -> str:
    """The key ID in four groups of two hex digits: short enough to compare by eye."""
    text = f"{key.key_id:08x}"
    return " ".join(text[i : i + 2] for i in range(0, 8, 2))


def key_lines(key: VerifierKey) -> list[str]:
    """The key on two lines, broken after the key ID, so that the ID is never split:
    ``<name>+<key ID>+`` then the base64 key. Read together, they are the key."""
    name, key_id, encoded = str(key).split("+", 2)
    return [f"{name}+{key_id}+", encoded]


def qr_svg(key: VerifierKey, *, title: str) -> str:
    """The QR code of the whole verifier key, as inline SVG with a viewBox (so it scales
    without being cut) and its quiet zone; ``title`` is what a screen reader says."""
    return str(_qr(key).svg_inline(scale=4, omitsize=True, title=title))


def to_text(key: VerifierKey, lines: Sequence[str]) -> str:
    """The card as plain text: the given lines, then the key itself."""
    return "\n".join([*lines, "", str(key), ""])


def to_pdf(key: VerifierKey, *, title: str, lines: Sequence[str]) -> bytes:
    """A postcard-sized page (A6 landscape): the QR code top right, the title and lines
    wrapped beside it, the key across the bottom."""
    register_font()
    out = io.BytesIO()
    width, height = landscape(A6)
    page = Canvas(out, pagesize=(width, height))
    page.setTitle(title)
    margin = 8 * mm
    png = io.BytesIO()
    _qr(key).save(png, kind="png", scale=8, border=4)
    png.seek(0)
    page.drawImage(ImageReader(png), width - margin - _QR_SIZE, height - margin - _QR_SIZE, _QR_SIZE, _QR_SIZE)
    column = width - 2 * margin - _QR_SIZE - 4 * mm
    y = height - margin - 12
    page.setFont(FONT, 12)
    for part in simpleSplit(title, FONT, 12, column):
        page.drawString(margin, y, part)
        y -= 15
    y -= 4
    page.setFont(FONT, 8)
    for line in lines:
        for part in simpleSplit(line, FONT, 8, column):
            page.drawString(margin, y, part)
            y -= 10.5
        y -= 2
    page.setFont(_KEY_FONT, _KEY_SIZE)
    y = margin + 12
    for line in key_lines(key):
        page.drawString(margin, y, line)
        y -= 10
    page.showPage()
    page.save()
    return out.getvalue()
