"""Files for the document tests: real PDFs (reportlab), images (Pillow), and what an
exporter's system may wrongly upload (a ZIP, a program, a web page, damaged files)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

from sqlalchemy import Engine, text


def pdf(pages: int = 3, title: str = "COMMERCIAL INVOICE") -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=1)
    for n in range(pages):
        page.setFont("Helvetica-Bold", 18)
        page.drawString(72, 760, f"{title} - page {n + 1} of {pages}")
        page.showPage()
    page.save()
    return out.getvalue()


def image(fmt: str = "PNG", size: tuple[int, int] = (800, 1100)) -> bytes:
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", size, (250, 250, 246))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), outline=(30, 30, 30), width=3)
    draw.text((60, 60), "BILL OF LADING (scan)", fill=(0, 0, 0))
    out = io.BytesIO()
    picture.save(out, fmt)
    return out.getvalue()


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("invoice.exe", b"MZ" + b"\0" * 100)
    return out.getvalue()


def put_document(engine: Engine, document_id: int, content: bytes, *, file_name: str,
                 media_type: str = "", sha256: str | None = None) -> None:
    """Give a stored document other bytes (and their digest, unless ``sha256``)."""
    with engine.begin() as connection:
        connection.execute(text(
            "UPDATE supporting_documents SET content = :c, sha256 = :s, size_bytes = :n, "
            "file_name = :f, media_type = :m WHERE id = :i"),
            {"c": content, "s": sha256 or hashlib.sha256(content).hexdigest(),
             "n": len(content), "f": file_name, "m": media_type or "application/pdf",
             "i": document_id})


def first(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).first()


def document_of_office(engine: Engine, office: str, *, not_kind: str = "",
                       skip: int = 0) -> Any:
    """A supporting document (id, application id, file name, sha256) of an application of
    ``office`` that is waiting in its queue."""
    return first(engine, "SELECT d.id, d.application_id, d.file_name, d.sha256 FROM "
                 "supporting_documents d JOIN applications a ON a.id = d.application_id "
                 "JOIN offices o ON o.id = a.office_id WHERE o.code = :o AND d.kind <> :k "
                 "AND d.file_name LIKE '%.pdf' AND d.content IS NOT NULL AND substr(d.file_name, "
                 "1, 7) <> 'invoice' ORDER BY d.id LIMIT 1 OFFSET :s",
                 o=office, k=not_kind, s=skip)
