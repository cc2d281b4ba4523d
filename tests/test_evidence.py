"""The evidence bundle of a complaint, read back as a DPO would: page by page, by its text,
its images and its QR code; and what it does with files it must not trust."""

from __future__ import annotations

import hashlib
import io
import json
import time
from datetime import date

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject
from reportlab.pdfgen.canvas import Canvas

from consent.letters import Identity, Letter, LetterError, LetterRequest, Original, Party, compose, evidence
from consent.letters.evidence import Exhibit, to_evidence_pdf
from consent.letters.output import to_pdf

SENDER = Identity("Zoë Dupré", "12 rue de la Paix\n75002 Paris", email="zoe@example.org")
CONTROLLER = Party("Cœur & Œuvre SARL", "1 place de l'Église\n69001 Lyon", email="privacy@coeur.example")
AUTHORITY = Party("CNIL", "3 place de Fontenoy\nTSA 80715\n75334 Paris Cedex 07")
ORIGINAL = Original("access", sent=date(2026, 9, 1), received=date(2026, 9, 3), due=date(2026, 10, 5))
URL = "https://consent.example.org/verify?lang=en&v=1"
FINGERPRINT = "3f 9a 01 c4"
RECEIPT = '{"format": "consent-ledger-receipt/v1", "event": {"type": "letter.sent", "sha256": "ab12"}, "proof": "c2sp.org/tlog-proof@v1\\nindex 7"}'


def complaint(language: str = "en") -> Letter:
    return compose(
        LetterRequest(
            kind="complaint",
            language=language,
            sender=SENDER,
            recipient=AUTHORITY,
            today=date(2026, 11, 27),
            original=ORIGINAL,
            platform=CONTROLLER,
        )
    )


def access(language: str = "en") -> Letter:
    return compose(
        LetterRequest(
            kind="access",
            language=language,
            sender=SENDER,
            recipient=CONTROLLER,
            today=date(2026, 9, 1),
            due=date(2026, 10, 5),
        )
    )


def answer_pdf(pages: int, words: str = "Answer page") -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, invariant=1)  # the same bytes each time, so the same SHA-256
    for n in range(1, pages + 1):
        canvas.drawString(72, 700, f"{words} {n}: we hold no data about you")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def image(size: tuple[int, int] = (1200, 800), kind: str = "PNG", orientation: int = 1) -> bytes:
    out = io.BytesIO()
    picture = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    picture.save(out, format=kind, exif=exif)
    return out.getvalue()


CORRUPT = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\nthis is not a PDF"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00This program cannot be run in DOS mode" * 20


def exhibits() -> list[Exhibit]:
    return [
        Exhibit("Request for access", date(2026, 9, 1), letter=access()),
        Exhibit(
            "Answer from the controller",
            date(2026, 9, 20),
            note="They say <nothing> & more.",
            file_name="answer.pdf",
            file=answer_pdf(3),
        ),
        Exhibit("Screenshot of my account", date(2026, 9, 21), file_name="account.png", file=image()),
        Exhibit("Broken attachment", date(2026, 9, 22), file_name="broken.pdf", file=CORRUPT),
        Exhibit("Their tool", date(2026, 9, 23), file_name="setup.exe", file=EXE),
    ]


def bundle(complaint_letter: Letter | None = None, items: list[Exhibit] | None = None, **extra) -> bytes:
    arguments = {"receipts": [RECEIPT], "key_fingerprint": FINGERPRINT, "verify_url": URL, **extra}
    return to_evidence_pdf(complaint_letter or complaint(), exhibits() if items is None else items, **arguments)


def texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_complaint_then_exhibits_in_order_then_the_appendix():
    pdf = bundle()
    pages = texts(pdf)
    complaint_pages = count(to_pdf(complaint()))
    letter_pages = count(to_pdf(access()))
    # complaint, the letter sent, the answer's page and its 3 pages, the image's page, the
    # two listed files' pages, the appendix (one page or more).
    assert len(pages) >= complaint_pages + letter_pages + 1 + 3 + 1 + 2 + 1
    assert "Complaint against Cœur & Œuvre SARL" in pages[0]
    headings = [
        "Exhibit 1: Request for access, sent on 1 September 2026",
        "Exhibit 2: Answer from the controller, received on 20 September 2026",
        "Exhibit 3: Screenshot of my account, received on 21 September 2026",
        "Exhibit 4: Broken attachment, received on 22 September 2026",
        "Exhibit 5: Their tool, received on 23 September 2026",
        "How to check these records",
    ]
    found = [next(n for n, text in enumerate(pages) if heading in flat(text)) for heading in headings]
    assert found == sorted(found) and found[0] == complaint_pages
    # Each exhibit starts on a page of its own.
    assert found[1] == complaint_pages + letter_pages
    assert found[2:5] == [found[1] + 4, found[1] + 5, found[1] + 6]
    outline = [item.title for item in PdfReader(io.BytesIO(pdf)).outline]
    assert outline == [complaint().subject, *headings]


def test_a_sent_letter_is_laid_out_as_a_letter_under_its_heading():
    pages = texts(bundle())
    start = next(n for n, text in enumerate(pages) if "Exhibit 1:" in text)
    assert "Subject: Request for access to my personal data (Article 15 GDPR)" in pages[start]
    assert "Page 1 of" in pages[start]  # its own page numbers, as the letter sent had


def test_an_answer_shows_its_note_and_its_pdf_pages_as_received():
    pages = texts(bundle())
    start = next(n for n, text in enumerate(pages) if "Exhibit 2:" in text)
    assert "They say <nothing> & more." in pages[start] and "answer.pdf, " in pages[start]
    assert hashlib.sha256(answer_pdf(3)).hexdigest() in pages[start].replace("\n", "")
    for n in (1, 2, 3):
        assert f"Answer page {n}: we hold no data about you" in pages[start + n]


def test_an_image_answer_is_placed_on_a_page_upright():
    pdf = bundle()
    reader = PdfReader(io.BytesIO(pdf))
    start = next(n for n, page in enumerate(reader.pages) if "Exhibit 3:" in page.extract_text())
    (shown,) = reader.pages[start].images
    assert shown.image.size == (1200, 800)
    # A phone photo taken sideways (EXIF orientation 6) is turned the right way up.
    sideways = Exhibit("Photo", date(2026, 9, 21), file_name="photo.jpg", file=image((400, 200), "JPEG", 6))
    page = PdfReader(io.BytesIO(bundle(items=[sideways]))).pages[count(to_pdf(complaint()))]
    (turned,) = page.images
    assert turned.image.size == (200, 400)


def test_a_corrupt_pdf_and_a_program_are_listed_by_name_size_and_sha256():
    pdf = bundle()
    pages = texts(pdf)
    broken = next(text for text in pages if "Exhibit 4:" in text)
    assert f"broken.pdf, {len(CORRUPT)} bytes" in broken and hashlib.sha256(CORRUPT).hexdigest() in broken
    assert "Not shown: the file could not be read as a PDF." in broken
    program = next(text for text in pages if "Exhibit 5:" in text)
    assert f"setup.exe, {len(EXE)} bytes" in program and hashlib.sha256(EXE).hexdigest() in program
    assert "Not shown: only PDF files and PNG or JPEG images are shown." in flat(program)
    assert EXE not in pdf and b"cannot be run in DOS mode" not in pdf


def test_the_appendix_tells_how_to_check_with_the_fingerprints_key_receipts_and_link():
    pdf = bundle()
    reader = PdfReader(io.BytesIO(pdf))
    start = next(n for n, page in enumerate(reader.pages) if "How to check these records" in page.extract_text())
    appendix = "\n".join(page.extract_text() for page in reader.pages[start:])
    assert FINGERPRINT in appendix and URL in appendix
    for digest in (
        hashlib.sha256(complaint().text.encode()).hexdigest(),
        hashlib.sha256(access().text.encode()).hexdigest(),
        hashlib.sha256(answer_pdf(3)).hexdigest(),
        hashlib.sha256(EXE).hexdigest(),
    ):
        assert digest in appendix
    # Printed whole, broken into lines of fixed width.
    assert "".join(RECEIPT.split()) in "".join(appendix.split())
    assert "sha256sum" in appendix and "offline" in appendix
    # The receipts and fingerprints in a monospaced font.
    fonts = set()
    for page in reader.pages[start:]:
        page.extract_text(visitor_text=lambda text, cm, tm, font, size: fonts.add(str(font and font.get("/BaseFont"))))
    assert any("Mono" in name for name in fonts)
    # The QR code reads back as the address of the instructions.
    images = [shown for page in reader.pages[start:] for shown in page.images]
    (code,) = zxingcpp.read_barcodes(images[-1].image)
    assert code.format == zxingcpp.BarcodeFormat.QRCode and code.text == URL


def test_a_receipt_is_printed_as_given_or_listed_when_too_long():
    polish = '{"platform": "Łódź Sp. z o.o.",\t"mood": "😀"}'
    long = '{"proof": "' + "a" * (evidence.MAX_RECEIPT_CHARS + 10) + '"}'
    appendix = "".join(texts(bundle(receipts=[polish, long]))[-2:])
    # As given, in a monospaced font that has every European letter; a character it has not
    # (an emoji) is written as the JSON escape that means it, a tab as spaces.
    printed = polish.expandtabs(4).replace("😀", "\\ud83d\\ude00")
    assert printed == '{"platform": "Łódź Sp. z o.o.", "mood": "\\ud83d\\ude00"}'
    assert printed in appendix.splitlines() and json.loads(printed) == json.loads(polish)
    assert hashlib.sha256(long.encode()).hexdigest() in appendix.replace("\n", "")
    assert "a" * 200 not in appendix


@pytest.mark.parametrize(
    ("language", "heading", "appendix"),
    [
        ("fr", "Pièce 1 : Demande d'accès, envoi du 1er septembre 2026", "Comment vérifier ces pièces"),
        ("de", "Anlage 1: Demande d'accès, versandt am 1. September 2026", "So lassen sich diese Unterlagen prüfen"),
    ],
)
def test_headings_and_appendix_are_in_the_complaints_language(language, heading, appendix):
    items = [Exhibit("Demande d'accès", date(2026, 9, 1), letter=access("fr"))]
    pages = texts(bundle(complaint(language), items))
    assert any(heading in text for text in pages) and any(appendix in text for text in pages)


def test_a_language_without_its_own_words_falls_back_to_english():
    other = next((language for language in ("es", "it", "nl", "pl", "pt") if language in evidence.LANGUAGES), None)
    if other is None:
        pytest.skip("no letter language beyond fr, en and de yet")
    items = [Exhibit("Solicitud de acceso", date(2026, 9, 1), letter=access())]
    pages = texts(bundle(complaint(other), items))
    assert any("Exhibit 1: Solicitud de acceso, sent on 1 September 2026" in text for text in pages)
    assert any("How to check these records" in text for text in pages)


def hostile_pdf() -> bytes:
    """A page with a script on opening, a JavaScript link, an attached program and a
    document-level script."""
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(answer_pdf(1, "Hostile page"))))
    page = writer.pages[0]
    script = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): script})
    link = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(100), NumberObject(100)]),
            NameObject("/A"): DictionaryObject(
                {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
            ),
        }
    )
    attachment = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/FileAttachment"),
            NameObject("/Rect"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(10), NumberObject(10)]),
            NameObject("/FS"): TextStringObject("payload.exe"),
        }
    )
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(link), writer._add_object(attachment)])
    writer._root_object[NameObject("/OpenAction")] = script
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_appended_pdf_loses_its_scripts_actions_and_attachments():
    hostile = hostile_pdf()
    assert b"/JavaScript" in hostile and b"/Launch" in hostile and b"/FileAttachment" in hostile
    pdf = bundle(items=[Exhibit("Answer", date(2026, 9, 20), file_name="answer.pdf", file=hostile)])
    assert any("Hostile page 1: we hold no data about you" in text for text in texts(pdf))
    for needle in (b"/JavaScript", b"/JS", b"/Launch", b"/FileAttachment", b"/OpenAction", b"app.alert"):
        assert needle not in pdf, needle


def test_an_encrypted_answer_is_shown_if_it_opens_without_a_password_and_listed_otherwise():
    def encrypted(password: str) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(answer_pdf(1, "Locked page"))))
        writer.encrypt(user_password=password, owner_password="owner", algorithm="AES-128")
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    pdf = bundle(
        items=[
            Exhibit("Open", date(2026, 9, 20), file_name="open.pdf", file=encrypted("")),
            Exhibit("Locked", date(2026, 9, 21), file_name="locked.pdf", file=encrypted("secret")),
        ]
    )
    pages = texts(pdf)
    assert any("Locked page 1: we hold no data about you" in text for text in pages)
    locked = next(text for text in pages if "Exhibit 2:" in text)
    assert "could not be read as a PDF" in locked


def test_a_broken_image_is_listed_not_shown():
    broken = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    pages = texts(bundle(items=[Exhibit("Photo", date(2026, 9, 21), file_name="photo.png", file=broken)]))
    shown = next(text for text in pages if "Exhibit 1:" in text)
    assert "Not shown: the file could not be read as an image." in shown
    assert hashlib.sha256(broken).hexdigest() in shown


def test_files_beyond_the_bounds_are_listed_not_shown(monkeypatch):
    monkeypatch.setattr(evidence, "MAX_PDF_PAGES", 2)
    pages = texts(bundle(items=[Exhibit("Long", date(2026, 9, 20), file_name="long.pdf", file=answer_pdf(3))]))
    assert any("Not shown: the file has more than 2 pages." in text for text in pages)
    assert not any("Answer page 1" in text for text in pages)
    monkeypatch.setattr(evidence, "MAX_PDF_BYTES", 100)
    pages = texts(bundle(items=[Exhibit("Big", date(2026, 9, 20), file_name="big.pdf", file=answer_pdf(1))]))
    assert any("Not shown: the file is larger than 0 MB." in text for text in pages)
    monkeypatch.setattr(evidence, "MAX_SHOWN_BYTES", len(image()) + 10)
    two = [Exhibit(f"Shot {n}", date(2026, 9, 21), file_name="shot.png", file=image()) for n in (1, 2)]
    pages = texts(bundle(items=two))
    assert any("Not shown: the files shown in this bundle already reach 0 MB." in text for text in pages)


def test_a_file_name_is_printed_as_text_on_one_line():
    name = 'report\u202egpj.exe <b>bold</b>\r\n"quoted"'
    pages = texts(bundle(items=[Exhibit("Odd", date(2026, 9, 21), file_name=name, file=EXE)]))
    listed = next(text for text in pages if "Exhibit 1:" in text)
    assert 'File: reportgpj.exe <b>bold</b> "quoted",' in listed and "\u202e" not in listed


def test_the_instructions_address_must_be_a_web_address():
    for url in ("javascript:alert(1)", "file:///etc/passwd", 'https://x.example/" onclick="x', "", "https://a b"):
        with pytest.raises(LetterError, match="expected an http"):
            bundle(verify_url=url)


def test_a_fifty_page_answer_and_twenty_exhibits_take_seconds_not_minutes():
    items = [Exhibit(f"Letter {n}", date(2026, 9, 1), letter=access()) for n in range(19)]
    items.append(Exhibit("Long answer", date(2026, 9, 20), file_name="answer.pdf", file=answer_pdf(50)))
    started = time.perf_counter()
    pdf = bundle(items=items)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"{elapsed:.1f} s"
    pages = texts(pdf)
    assert "Answer page 50: we hold no data about you" in "".join(pages)
    assert any("Exhibit 20: Long answer" in text for text in pages)
