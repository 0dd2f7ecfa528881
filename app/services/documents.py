"""Supporting documents (invoices, packing lists, scans) opened at the desk.

A pull carries documents' metadata only (``app.store.pull_sql.WITHHELD``): the bytes are
fetched from the central store when the officer opens one (the embedded SQLite store, a
PostgreSQL store through the officer's own login, where row-level security shows only
documents of their offices' applications, or the central service's
``GET /desk/v1/documents/{id}/content``). A synced desk keeps what it fetched in the local
store's ``document_cache`` (bounded, least recently opened go first, emptied when the
store's owner changes), so a document opened once opens again offline.

Every fetched or cached file is checked against the SHA-256 recorded at upload, then
judged by its bytes (``app.documents.sniff``): a PDF goes to the PDF viewer, an image to
the image viewer, anything else (a ZIP called ``invoice.pdf``, a program, a web page) is
described and shown by no viewer: no other program is ever asked to open it.

Everything here runs on a worker thread (``app.views.tasks``), never on the GUI thread.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, select, update

from app.documents.sniff import MAX_VIEW_BYTES, Judgement, check_image, judge
from app.errors import UserFacingError
from app.models import SupportingDocument
from app.models.base import utcnow
from app.store.link import CentralUnavailable
from app.store.local import document_cache

log = logging.getLogger(__name__)
MB = 1024 * 1024

FROM_CENTRAL = "the central store"
FROM_CACHE = "this desk's copy (opened before; works offline)"


class DocumentUnavailable(UserFacingError):
    """The document cannot be opened here now (one line why)."""


@dataclass(frozen=True)
class DocumentInfo:
    """A supporting document's metadata, as the desk's store holds it."""

    id: int
    application_id: int
    kind: str
    file_name: str
    media_type: str
    size_bytes: int
    sha256: str

    @property
    def size_text(self) -> str:
        return size_text(self.size_bytes)


@dataclass(frozen=True)
class OpenedDocument:
    """A document ready for a viewer, or the one line saying why no viewer shows it."""

    info: DocumentInfo
    content: bytes | None  # None: refused (digest mismatch, too large)
    source: str
    judgement: Judgement | None = None
    problem: str = ""  # why it is not shown (not what its name says, damaged, mismatch)

    @property
    def viewer(self) -> str | None:
        """"pdf" or "image": the viewer that shows it; None: shown by no viewer."""
        if self.problem or self.judgement is None:
            return None
        return self.judgement.viewer

    @property
    def facts(self) -> str:
        """Size and digest, as shown beside a warning."""
        return (f"{self.info.file_name} · {self.info.size_text} · SHA-256 {self.info.sha256}")


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size:,} bytes"
    if size < MB:
        return f"{size / 1024:,.0f} KB"
    return f"{size / MB:,.1f} MB"


class DocumentCache:
    """Documents' bytes in the local store, at most ``max_bytes`` in all (LRU)."""

    def __init__(self, engine: Engine, max_bytes: int = 200 * MB) -> None:
        self.engine = engine
        self.max_bytes = max_bytes

    def get(self, document_id: int, sha256: str) -> bytes | None:
        """The cached bytes when they are still the document's (same digest); a stale
        copy (the row's digest changed) is dropped."""
        with self.engine.begin() as connection:
            row = connection.execute(select(document_cache.c.sha256, document_cache.c.content)
                                     .where(document_cache.c.document_id == document_id)).first()
            if row is None:
                return None
            content = bytes(row.content)
            if row.sha256 != sha256 or hashlib.sha256(content).hexdigest() != sha256:
                log.warning("cached document #%s no longer matches its digest: dropped",
                            document_id)
                connection.execute(delete(document_cache)
                                   .where(document_cache.c.document_id == document_id))
                return None
            connection.execute(update(document_cache)
                               .where(document_cache.c.document_id == document_id)
                               .values(used_at=utcnow()))
            return content

    def put(self, document_id: int, sha256: str, content: bytes) -> None:
        """Keep ``content``; the least recently opened others go until all fit."""
        if len(content) > self.max_bytes:
            log.info("document #%s (%d bytes) is larger than the cache: not kept",
                     document_id, len(content))
            return
        now = utcnow()
        with self.engine.begin() as connection:
            connection.execute(delete(document_cache)
                               .where(document_cache.c.document_id == document_id))
            connection.execute(document_cache.insert().values(
                document_id=document_id, sha256=sha256, size_bytes=len(content),
                content=content, cached_at=now, used_at=now))
            total = connection.execute(
                select(func.coalesce(func.sum(document_cache.c.size_bytes), 0))).scalar_one()
            if total <= self.max_bytes:
                return
            rows = connection.execute(
                select(document_cache.c.document_id, document_cache.c.size_bytes)
                .where(document_cache.c.document_id != document_id)
                .order_by(document_cache.c.used_at, document_cache.c.document_id)).all()
            evicted = []
            for other, size in rows:
                if total <= self.max_bytes:
                    break
                evicted.append(other)
                total -= size
            connection.execute(delete(document_cache)
                               .where(document_cache.c.document_id.in_(evicted)))
            log.info("document cache: %d least recently opened evicted", len(evicted))

    def cached_ids(self) -> list[int]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(document_cache.c.document_id)
                                           .order_by(document_cache.c.document_id)).scalars())

    def total_bytes(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(
                select(func.coalesce(func.sum(document_cache.c.size_bytes), 0))).scalar_one())

    def clear(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(document_cache))


class SupportingDocuments:
    """Open the supporting documents of the desk's applications.

    ``engine``: the desk's store (the embedded central store, or the local copy, which
    holds metadata only); ``central``: the desk's way to the central store (raises
    ``CentralUnavailable`` offline); ``cache``: a synced desk's document cache."""

    def __init__(self, engine: Engine, central: Callable[[], Any],
                 cache: DocumentCache | None = None) -> None:
        self.engine = engine
        self.central = central
        self.cache = cache

    def info(self, document_id: int) -> DocumentInfo:
        d = SupportingDocument
        with self.engine.connect() as connection:
            row = connection.execute(select(
                d.id, d.application_id, d.kind, d.file_name, d.media_type, d.size_bytes,
                d.sha256).where(d.id == int(document_id))).first()
        if row is None:
            raise DocumentUnavailable(f"Document #{document_id} is not among this desk's "
                                      "applications (synchronise and try again).")
        return DocumentInfo(int(row.id), int(row.application_id), str(row.kind),
                            row.file_name, row.media_type, int(row.size_bytes), row.sha256)

    def documents_of(self, application_id: int) -> list[DocumentInfo]:
        d = SupportingDocument
        with self.engine.connect() as connection:
            rows = connection.execute(select(
                d.id, d.application_id, d.kind, d.file_name, d.media_type, d.size_bytes,
                d.sha256).where(d.application_id == int(application_id)).order_by(d.id)).all()
        return [DocumentInfo(int(r.id), int(r.application_id), str(r.kind), r.file_name,
                             r.media_type, int(r.size_bytes), r.sha256) for r in rows]

    def open(self, document_id: int,
             progress: Callable[[str], None] | None = None) -> OpenedDocument:
        """The document's bytes (cache first, else the central store), checked and judged."""
        info = self.info(document_id)
        if info.size_bytes > MAX_VIEW_BYTES:
            return OpenedDocument(info, None, FROM_CENTRAL, problem=(
                f"{info.file_name} is {info.size_bytes:,} bytes; the desk shows documents of "
                f"at most {MAX_VIEW_BYTES:,} bytes."))
        content = self.cache.get(info.id, info.sha256) if self.cache is not None else None
        source = FROM_CACHE
        if content is None:
            source = FROM_CENTRAL
            content = self._fetch(info, progress)
            if len(content) > MAX_VIEW_BYTES:
                return OpenedDocument(info, None, source, problem=(
                    f"{info.file_name} is {len(content):,} bytes; the desk shows documents "
                    f"of at most {MAX_VIEW_BYTES:,} bytes."))
            digest = hashlib.sha256(content).hexdigest()
            if digest != info.sha256:
                log.warning("document #%s (%s): fetched bytes hash to %s, the record says %s",
                            info.id, info.file_name, digest, info.sha256)
                return OpenedDocument(info, None, source, problem=(
                    f"{info.file_name} was refused: its content does not match the SHA-256 "
                    "recorded when it was uploaded."))
            if self.cache is not None:
                self.cache.put(info.id, info.sha256, content)
        if progress is not None:
            progress(f"Checking {info.file_name}…")
        judgement = judge(info.file_name, info.media_type, content)
        problem = judgement.problem
        if not problem and judgement.viewer == "image":
            problem = check_image(info.file_name, content)
        if problem:
            log.info("document #%s (%s): %s", info.id, info.file_name, problem)
        return OpenedDocument(info, content, source, judgement, problem)

    def _fetch(self, info: DocumentInfo, progress: Callable[[str], None] | None) -> bytes:
        if progress is not None:
            progress(f"Fetching {info.file_name} ({info.size_text}) from the central store…")
        try:
            content = self.central().document_content(info.id)
        except CentralUnavailable as exc:
            raise DocumentUnavailable(
                f"{info.file_name} is not on this desk yet and the central store cannot be "
                f"reached: {_first_line(exc)}") from None
        if content is None:
            raise DocumentUnavailable(f"{info.file_name} is not available from the central "
                                      "store (removed, or not in your offices).")
        return bytes(content)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
