"""The intake of applications from exporters' systems and customs agents (the intake API's
rules; no HTTP here: ``app/hub/intake.py`` is the web face).

An exporter's system, authenticated by an API key of its IEC (``app.services.api_keys``),

- **files** an application of any of the four kinds: validated in full (every problem
  named by its field path and what the field expects), inserted as ``submitted`` in the
  key's office with its goods lines and cost sheet, so that it shows in that office's queue
  (a synced desk at its next sync);
- **resubmits** an application that an officer returned with a query: its data is
  replaced by the corrected filing and it goes back to the queue as ``resubmitted``;
- **uploads supporting documents** (PDF, JPEG or PNG, known by their content, whose name
  must agree; at most ``MAX_DOCUMENT_BYTES``);
- **reads the status** of its own applications (another IEC's are "not found").

Filing, resubmission and uploads may carry an idempotency key: the answer is recorded in
the same transaction as the change, so a retried request gets that answer again and
changes nothing; the same key with a different request is refused.

On PostgreSQL the service writes as itself (``origin_desk_hub``) and names the key it
serves in ``od.intake_key`` at the start of each transaction; the store's policies of
revision 0006_intake then let it touch that exporter's applications only, in the ways
listed there. The checks here come first and say what is wrong; the store is the second
wall.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import UserFacingError
from app.models import (
    Applicant,
    Application,
    ApplicationKind,
    ApplicationStatus,
    AuditEvent,
    Certificate,
    CertificateStatus,
    CostSheet,
    CostSheetMaterial,
    DocumentKind,
    ForeignCertificate,
    ForeignGoods,
    GoodsLine,
    Office,
    SupportingDocument,
)
from app.models.agreements import TradeAgreement, trade_agreements
from app.models.base import utcnow
from app.models.enums import Action
from app.models.legacy import is_legacy_certificate, is_migrated, legacy_refusal
from app.models.validation import (
    InvalidValue,
    check_country,
    check_date,
    check_hs_code,
    check_money,
    check_quantity,
    check_unit,
)
from app.models.workflow import MAX_TEXT, perform
from app.services.api_keys import KEY_PREFIX, KeyHolder, authenticate
from app.store.central import session_factory
from app.store.intake_tables import idempotency_records

log = logging.getLogger(__name__)

S = ApplicationStatus
K = ApplicationKind
MAX_GOODS_LINES = 500
MAX_MATERIALS = 200
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_DOCUMENTS = 50
MAX_FILE_NAME = 200
IDEMPOTENCY_LIFE = dt.timedelta(hours=24)
TRANSPORT_MODES = ("sea", "air", "road", "rail", "multimodal")
COST_METHODS = ("build_down", "build_up")
# WO wholly obtained, PE produced from originating materials, CC/CTH/CTSH tariff shifts,
# PSR a product-specific rule, or a value content with its percentage
_CRITERION = re.compile(r"(WO|PE|CC|CTH|CTSH|PSR)|(RVC|VA|DVA|LVC) ?(\d{1,3}(?:\.\d{1,2})?) ?%")
_CURRENCY = re.compile(r"[A-Z]{3}")
_EMAIL = re.compile(r"[^@\s]{1,100}@[^@\s]{1,100}")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
DOCUMENT_OPEN = (S.SUBMITTED, S.RESUBMITTED, S.RETURNED)


# --- refusals ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    field: str  # the path in the request, e.g. "goods.0.hs_code"
    problem: str  # what is wrong and what the field expects


class IntakeInvalid(UserFacingError):
    """The request is not a valid filing; ``problems`` names each field (answered 422)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{first.field or 'body'}: {first.problem}{more}")


class IntakeNotFound(UserFacingError):
    """No such application under this API key's IEC (answered 404)."""


class IntakeRefused(UserFacingError):
    """The application is not in a state that allows this (answered 409)."""


class IdempotencyKeyReused(UserFacingError):
    """An idempotency key used before with a different request (answered 422)."""


class DocumentTooLarge(UserFacingError):
    """A supporting document past the size limit (answered 413)."""


class UnsupportedDocument(IntakeInvalid):
    """A supporting document that is not a PDF, JPEG or PNG (answered 415)."""


# --- answers ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class IntakeAnswer:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False  # the recorded answer to an earlier request with the same key


@dataclass
class _Filing:
    """A validated filing: the application's columns, its lines and its cost sheet."""

    kind: ApplicationKind
    applicant: Applicant
    columns: dict[str, Any]
    goods: list[dict[str, Any]]
    cost_sheet: dict[str, Any] | None
    materials: list[dict[str, Any]] = field(default_factory=list)
    # back-to-back: the foreign certificate, recorded now (goods given) or already
    foreign: ForeignFiling | None = None


@dataclass
class ForeignFiling:
    """The foreign certificate a back-to-back filing draws from: the recorded one
    (``certificate_id``), or one to record with its ``goods``; ``draws`` is the foreign
    goods item number of each goods line, in order."""

    columns: dict[str, Any]
    goods: list[dict[str, Any]]
    certificate_id: int | None
    draws: list[int]


# --- the service ------------------------------------------------------------------------------

class Intake:
    """The intake rules over one central store (the service's engine)."""

    def __init__(self, engine: Engine, *, today: Callable[[], dt.date] | None = None) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.postgresql = engine.dialect.name == "postgresql"
        self._today = today or dt.date.today

    # -- who ---------------------------------------------------------------------------------

    def authenticate(self, presented: str | None) -> KeyHolder:
        with self.sessions() as session, session.begin():
            return authenticate(session, presented)

    # -- filing ------------------------------------------------------------------------------

    def file(self, holder: KeyHolder, data: Mapping[str, Any], *,
             idempotency_key: str | None = None) -> IntakeAnswer:
        """File a new application; 201 with its status."""
        digest = request_digest("POST /api/v1/applications", data)

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            filing = self._validate(session, holder, data)
            application = self._insert(session, holder, filing)
            log.info("application %s filed through API key %s… (IEC %s, %s)",
                     application.number, holder.prefix, holder.iec, filing.kind)
            return 201, self._status(session, application)

        return self._idempotent(holder, idempotency_key, digest, work)

    def resubmit(self, holder: KeyHolder, number: str, data: Mapping[str, Any], *,
                 idempotency_key: str | None = None) -> IntakeAnswer:
        """Answer a query: replace the returned application's data; back to the queue."""
        digest = request_digest(f"PUT /api/v1/applications/{number}/resubmission", data)

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            application = self._own(session, holder, number)
            if application.status != S.RETURNED:
                raise IntakeRefused(
                    f"Application {application.number} is {S(application.status).label.lower()}"
                    "; only an application returned with a query can be resubmitted.")
            filing = self._validate(session, holder, data)
            if filing.kind != application.kind:
                raise IntakeInvalid([Problem("kind", f"expected {application.kind!s}, the kind "
                                             "of the application as filed; a filed "
                                             "application does not change its kind")])
            locked = session.execute(
                select(Application.id).where(Application.id == application.id,
                                             Application.status == S.RETURNED)
                .with_for_update()).first()
            if locked is None:
                raise IntakeRefused(f"Application {application.number} changed meanwhile; "
                                    "read its status and try again.")
            self._replace(session, application, filing, holder)
            log.info("application %s resubmitted through API key %s…", application.number,
                     holder.prefix)
            return 200, self._status(session, application)

        return self._idempotent(holder, idempotency_key, digest, work)

    def status(self, holder: KeyHolder, number: str) -> dict[str, Any]:
        with self._transaction(holder) as session:
            return self._status(session, self._own(session, holder, number))

    def add_document(self, holder: KeyHolder, number: str, kind: str, file_name: str,
                     content: bytes, *, idempotency_key: str | None = None) -> IntakeAnswer:
        """Attach a supporting document to an application that is with the office's queue
        or returned; 201 with the document's record."""
        document_kind, media_type = check_document(kind, file_name, content)
        sha256 = hashlib.sha256(content).hexdigest()
        digest = request_digest(f"POST /api/v1/applications/{number}/documents",
                                {"kind": document_kind, "file_name": file_name,
                                 "sha256": sha256})

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            application = self._own(session, holder, number)
            if application.status not in DOCUMENT_OPEN or application.claimed_by_id is not None:
                state = ("under scrutiny" if application.claimed_by_id is not None
                         else S(application.status).label.lower())
                raise IntakeRefused(f"Application {application.number} is {state}; documents "
                                    "are added while it waits in the queue or is returned "
                                    "with a query.")
            count = len(session.scalars(select(SupportingDocument.id).where(
                SupportingDocument.application_id == application.id)).all())
            if count >= MAX_DOCUMENTS:
                raise IntakeRefused(f"Application {application.number} already has {count} "
                                    f"documents; at most {MAX_DOCUMENTS} are kept.")
            now = utcnow()
            document = SupportingDocument(
                application_id=application.id, kind=document_kind, file_name=file_name,
                media_type=media_type, size_bytes=len(content), sha256=sha256,
                uploaded_at=now, content=content)
            session.add(document)
            session.flush()
            self._audit(session, holder, application, "application.document", now,
                        note=f"{document_kind}: {file_name}")
            log.info("document %s (%s, %d bytes) added to %s through API key %s…",
                     document.id, media_type, len(content), application.number, holder.prefix)
            return 201, {"application": application.number, **_document(document)}

        return self._idempotent(holder, idempotency_key, digest, work)

    # -- transactions and idempotency ---------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, holder: KeyHolder) -> Iterator[Session]:
        try:
            with self.sessions() as session, session.begin():
                if self.postgresql:
                    session.execute(text("SELECT set_config('od.intake_key', :p, true)"),
                                    {"p": holder.prefix})
                yield session
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == "42501":  # the store's policies
                log.warning("the store refused an intake write: %s",
                            str(exc.orig).splitlines()[0])
                raise IntakeRefused("The application changed meanwhile (an officer may have "
                                    "taken it up); read its status and try again.") from None
            raise

    def _idempotent(self, holder: KeyHolder, key: str | None, digest: str,
                    work: Callable[[Session], tuple[int, dict[str, Any]]]) -> IntakeAnswer:
        if key is not None:
            key = check_idempotency_key(key)
            recorded = self._recorded(holder, key, digest)
            if recorded is not None:
                return recorded
        try:
            with self._transaction(holder) as session:
                status_code, body = work(session)
                if key is not None:
                    session.flush()
                    now = utcnow()
                    session.execute(delete(idempotency_records).where(
                        idempotency_records.c.api_key_id == holder.key_id,
                        idempotency_records.c.created_at < now - IDEMPOTENCY_LIFE))
                    session.execute(insert(idempotency_records).values(
                        api_key_id=holder.key_id, idempotency_key=key, request_sha256=digest,
                        status_code=status_code, response_body=json.dumps(body),
                        created_at=now))
        except IntegrityError as exc:
            # the same key, recorded meanwhile by a concurrent request: its answer stands
            recorded = self._recorded(holder, key, digest) if key is not None else None
            if recorded is None and FOREIGN_UNIQUE in str(exc.orig):
                raise IntakeRefused(
                    "The foreign certificate was recorded meanwhile by another filing; file "
                    "again (it then draws on the recorded one).") from None
            if recorded is None:
                raise
            return recorded
        return IntakeAnswer(status_code, body)

    def _recorded(self, holder: KeyHolder, key: str, digest: str) -> IntakeAnswer | None:
        with self._transaction(holder) as session:
            row = session.execute(select(
                idempotency_records.c.request_sha256, idempotency_records.c.status_code,
                idempotency_records.c.response_body, idempotency_records.c.created_at)
                .where(idempotency_records.c.api_key_id == holder.key_id,
                       idempotency_records.c.idempotency_key == key)).first()
        if row is None or row.created_at < utcnow() - IDEMPOTENCY_LIFE:
            return None
        if row.request_sha256 != digest:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for a different request; use a new key for a "
                "new request (the same key only repeats the same request).")
        return IntakeAnswer(row.status_code, json.loads(row.response_body), replayed=True)

    # -- reading -----------------------------------------------------------------------------

    def _own(self, session: Session, holder: KeyHolder, number: str) -> Application:
        clean = number.strip().upper() if isinstance(number, str) else ""
        application = None
        if clean and len(clean) <= 24:
            application = session.scalars(select(Application).where(
                Application.number == clean,
                Application.exporter_id == holder.exporter_id)).first()
        if application is None:
            raise IntakeNotFound(f"No application {number[:40]!r} filed under IEC {holder.iec}.")
        return application

    def _office(self, session: Session, office_id: int) -> dict[str, str] | None:
        if self.postgresql:  # the service reads no office row itself (0006_intake)
            row = session.execute(text("SELECT code, name FROM od_intake_office(:o)"),
                                  {"o": office_id}).first()
        else:
            row = session.execute(select(Office.code, Office.name)
                                  .where(Office.id == office_id)).first()
        return None if row is None else {"code": row.code, "name": row.name}

    def _status(self, session: Session, application: Application) -> dict[str, Any]:
        certificate = session.execute(
            select(Certificate.number, Certificate.issued_at, Certificate.status,
                   Certificate.superseded_by_number)
            .where(Certificate.application_id == application.id)).first()
        documents = session.scalars(
            select(SupportingDocument).where(
                SupportingDocument.application_id == application.id)
            .order_by(SupportingDocument.id)).all()
        goods = session.scalars(select(GoodsLine.id).where(
            GoodsLine.application_id == application.id)).all()
        status = S(application.status)
        return {
            "number": application.number,
            "kind": str(application.kind),
            "status": str(status),
            "status_label": status.label,
            "iec": _iec(session, application),
            "office": self._office(session, application.office_id),
            "submitted_at": _iso(application.submitted_at),
            "waiting_since": _iso(application.waiting_since),
            "query": application.query_text if status in (S.RETURNED, S.RESUBMITTED) else None,
            "rejection_reason": application.rejection_reason if status is S.REJECTED else None,
            "certificate": None if certificate is None else {
                "number": certificate.number, "issued_at": _iso(certificate.issued_at),
                "status": str(certificate.status),
                "superseded_by": certificate.superseded_by_number
                if certificate.status == CertificateStatus.SUPERSEDED else None},
            "goods_lines": len(goods),
            "total_fob": f"{application.total_fob:.2f}",
            "currency": application.currency,
            "documents": [_document(d) for d in documents],
            "version": application.version,
        }

    # -- writing -----------------------------------------------------------------------------

    def _insert(self, session: Session, holder: KeyHolder, filing: _Filing) -> Application:
        now = utcnow()
        year = now.year
        if self.postgresql:  # the row's id first: the number is made from it
            new_id = session.scalar(text(
                "SELECT nextval(pg_get_serial_sequence('applications', 'id'))"))
            number = application_number(year, int(new_id))
        else:  # one writer at a time: a placeholder number, renamed once the id is known
            new_id, number = None, f"NEW-{now:%H%M%S%f}"
        application = Application(
            number=number, kind=filing.kind, status=S.SUBMITTED, office_id=holder.office_id,
            exporter_id=holder.exporter_id, applicant_id=filing.applicant.id,
            submitted_at=now, waiting_since=now, **filing.columns)
        if new_id is not None:
            application.id = int(new_id)
        session.add(application)
        session.flush()
        if not self.postgresql:  # not through the ORM: that would count a new version
            number = application_number(year, application.id)
            session.execute(update(Application.__table__).where(
                Application.__table__.c.id == application.id).values(number=number))
            session.expire(application, ["number"])
        self._add_rows(session, application.id, filing, holder)
        self._audit(session, holder, application, "application.submit", now,
                    before=None, after={"status": str(S.SUBMITTED)})
        session.flush()
        return application

    def _replace(self, session: Session, application: Application, filing: _Filing,
                 holder: KeyHolder) -> None:
        sheet_ids = select(CostSheet.id).where(CostSheet.application_id == application.id)
        session.execute(delete(CostSheetMaterial).where(
            CostSheetMaterial.cost_sheet_id.in_(sheet_ids)))
        session.execute(delete(CostSheet).where(CostSheet.application_id == application.id))
        session.execute(delete(GoodsLine).where(GoodsLine.application_id == application.id))
        self._add_rows(session, application.id, filing, holder)
        session.flush()  # the rows change while the application is still returned
        session.expire(application, ["goods", "cost_sheet"])
        for name, value in filing.columns.items():
            setattr(application, name, value)
        application.applicant_id = filing.applicant.id
        now = utcnow()
        event = perform(session, application, Action.RESUBMIT, filing.applicant, now=now)
        event.actor_label = _actor_label(filing.applicant, holder)
        session.flush()

    def _add_rows(self, session: Session, application_id: int, filing: _Filing,
                  holder: KeyHolder) -> None:
        draws: list[int | None] = [None] * len(filing.goods)
        if filing.foreign is not None:
            items = record_foreign_certificate(session, holder.exporter_id, filing.foreign)
            draws = [items[n] for n in filing.foreign.draws]
        for item_no, (line, foreign_goods_id) in enumerate(zip(filing.goods, draws,
                                                                strict=True), start=1):
            session.add(GoodsLine(application_id=application_id, item_no=item_no,
                                  foreign_goods_id=foreign_goods_id, **line))
        if filing.cost_sheet is not None:
            sheet = CostSheet(application_id=application_id, **filing.cost_sheet)
            session.add(sheet)
            session.flush()
            for material in filing.materials:
                session.add(CostSheetMaterial(cost_sheet_id=sheet.id, **material))
        session.flush()

    def _audit(self, session: Session, holder: KeyHolder, application: Application,
               action: str, at: dt.datetime, *, before: dict[str, Any] | None = None,
               after: dict[str, Any] | None = None, note: str = "") -> None:
        applicant = session.get(Applicant, application.applicant_id)
        assert applicant is not None
        session.add(AuditEvent(
            at=at, actor_id=None, actor_label=_actor_label(applicant, holder), action=action,
            entity_type="application", entity_id=application.id, before=before, after=after,
            note=note[:2000]))
        session.flush()

    # -- validation --------------------------------------------------------------------------

    def _validate(self, session: Session, holder: KeyHolder,
                  data: Mapping[str, Any]) -> _Filing:
        return FilingCheck(session, holder, self._today()).run(data)


def record_foreign_certificate(session: Session, exporter_id: int,
                               foreign: ForeignFiling) -> dict[int, int]:
    """The foreign certificate's goods item ids by item number, recording the certificate
    with its goods when it is new (once per exporter, country and number)."""
    if foreign.certificate_id is None:
        certificate = ForeignCertificate(exporter_id=exporter_id, recorded_at=utcnow(),
                                         **foreign.columns)
        session.add(certificate)  # a concurrent filing recording it first: _idempotent
        session.flush()
        for item_no, item in enumerate(foreign.goods, start=1):
            session.add(ForeignGoods(foreign_certificate_id=certificate.id, item_no=item_no,
                                     **item))
        session.flush()
        foreign.certificate_id = certificate.id
        log.info("foreign certificate %s (%s) recorded for exporter #%s with %d goods items",
                 certificate.number, certificate.country, exporter_id, len(foreign.goods))
    return dict(session.execute(select(ForeignGoods.item_no, ForeignGoods.id).where(
        ForeignGoods.foreign_certificate_id == foreign.certificate_id)).tuples().all())


def application_number(year: int, application_id: int) -> str:
    return f"APP-{year}-{application_id:06d}"


def _actor_label(applicant: Applicant, holder: KeyHolder) -> str:
    return (f"{applicant.full_name} <{applicant.email}> (applicant, API key "
            f"{KEY_PREFIX}{holder.prefix})")[:200]


def _iec(session: Session, application: Application) -> str:
    from app.models import Exporter

    return str(session.scalar(select(Exporter.iec).where(
        Exporter.id == application.exporter_id)))


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _document(document: SupportingDocument) -> dict[str, Any]:
    return {"id": document.id, "kind": str(document.kind), "file_name": document.file_name,
            "media_type": document.media_type, "size_bytes": document.size_bytes,
            "sha256": document.sha256, "uploaded_at": _iso(document.uploaded_at)}


def request_digest(route: str, content: Any) -> str:
    """SHA-256 of a request's route and its content, keys sorted (the same JSON in another
    order or spacing is the same request)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str,
                           ensure_ascii=False)
    return hashlib.sha256(f"{route}\n{canonical}".encode()).hexdigest()


def check_idempotency_key(key: str) -> str:
    if not isinstance(key, str) or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise IntakeInvalid([Problem("Idempotency-Key", "expected 1 to 200 printable ASCII "
                                     "characters without spaces, e.g. a UUID")])
    return key


# --- supporting documents ---------------------------------------------------------------------

MEDIA_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
EXTENSIONS = {".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}


def sniff(content: bytes) -> str | None:
    """'pdf', 'jpeg' or 'png' from the content's first bytes; None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if b"%PDF-" in content[:1024]:  # the header may follow a little junk (ISO 32000 7.5.2)
        return "pdf"
    return None


def check_file_name(name: str) -> str:
    """A plain file name: no folders, no '..', no control characters, 1-200 characters."""
    def bad(expected: str) -> IntakeInvalid:
        return IntakeInvalid([Problem("file", f"the file name {name[:80]!r} is refused; "
                                      f"expected {expected}")])

    if not isinstance(name, str) or not name.strip():
        raise bad("a file name such as invoice.pdf")
    if len(name) > MAX_FILE_NAME:
        raise bad(f"at most {MAX_FILE_NAME} characters")
    if "/" in name or "\\" in name or ".." in name:
        raise bad("a plain file name without folders or '..'")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise bad("a file name without control characters")
    if name != name.strip() or name.startswith("."):
        raise bad("a file name that neither starts with a dot nor with or ends in spaces")
    return name


def check_document(kind: str, file_name: str, content: bytes) -> tuple[str, str]:
    """The document kind and media type, or a refusal (422, 413, 415)."""
    try:
        document_kind = DocumentKind(kind)
    except ValueError:
        raise IntakeInvalid([Problem("kind", "expected one of " + ", ".join(
            k.value for k in DocumentKind))]) from None
    check_file_name(file_name)
    if len(content) > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(f"{file_name}: {len(content):,} bytes; a supporting document "
                               f"may have at most {MAX_DOCUMENT_BYTES:,} bytes.")
    if not content:
        raise IntakeInvalid([Problem("file", f"{file_name} is empty; expected a PDF, JPEG or "
                                     "PNG file")])
    extension = "." + file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    named = EXTENSIONS.get(extension)
    if named is None:
        raise UnsupportedDocument([Problem("file", f"{file_name}: expected a name ending in "
                                           ".pdf, .jpg, .jpeg or .png")])
    found = sniff(content)
    if found is None:
        raise UnsupportedDocument([Problem("file", f"{file_name}: the content is not a PDF, "
                                           "JPEG or PNG file")])
    if found != named:
        raise IntakeInvalid([Problem("file", f"{file_name}: the name says {named.upper()} but "
                                     f"the content is {found.upper()}; expected a name that "
                                     "agrees with the content")])
    return str(document_kind), MEDIA_TYPES[found]


# --- checking a filing ------------------------------------------------------------------------

_MISSING = object()


class FilingCheck:
    """Reads a filing (JSON as the exporter sent it) and collects every problem."""

    def __init__(self, session: Session, holder: KeyHolder, today: dt.date) -> None:
        self.session, self.holder, self.today = session, holder, today
        self.problems: list[Problem] = []

    def run(self, data: Mapping[str, Any]) -> _Filing:
        if not isinstance(data, Mapping):
            raise IntakeInvalid([Problem("", "expected a JSON object")])
        self.unknown(data, APPLICATION_FIELDS)
        kind = self.choice(data, "kind", [k.value for k in K])
        applicant = self.applicant(data)
        columns = self.columns(data, kind)
        agreement = self.agreement(data, kind, columns)
        goods = self.goods(data, kind, agreement)
        sheet, materials = self.cost_sheet(data, kind, agreement, goods)
        foreign = self.foreign_certificate(data, kind, columns, goods)
        if self.problems or kind is None or applicant is None:
            raise IntakeInvalid(self.problems)
        columns["form_code"] = agreement.form if agreement else "NONPREF"
        columns["agreement_code"] = agreement.code if agreement else None
        columns["hs_codes"] = " ".join(dict.fromkeys(g["hs_code"] for g in goods))[:400]
        columns["total_fob"] = sum((g["fob_value"] for g in goods), Decimal("0"))
        return _Filing(K(kind), applicant, columns, goods, sheet, materials, foreign)

    # -- the parts ---------------------------------------------------------------------------

    def applicant(self, data: Mapping[str, Any]) -> Applicant | None:
        email = self.text(data, "applicant_email", limit=200)
        if email is None:
            return None
        if not _EMAIL.fullmatch(email):
            self.fail("applicant_email", "expected the e-mail address of an applicant user "
                      f"of IEC {self.holder.iec}")
            return None
        applicant = self.session.scalars(select(Applicant).where(
            Applicant.exporter_id == self.holder.exporter_id,
            Applicant.email == email.strip().lower())).first()
        if applicant is None:
            self.fail("applicant_email", f"{email!r} is not an applicant user of IEC "
                      f"{self.holder.iec}; expected one of its registered applicant users")
        return applicant

    def columns(self, data: Mapping[str, Any], kind: str | None) -> dict[str, Any]:
        c: dict[str, Any] = {}
        c["consignee_name"] = self.text(data, "consignee_name", limit=200)
        c["consignee_address"] = self.text(data, "consignee_address", limit=500)
        c["consignee_country"] = self.checked(data, "consignee_country", check_country)
        c["destination_country"] = self.checked(data, "destination_country", check_country)
        c["transport_mode"] = self.choice(data, "transport_mode", list(TRANSPORT_MODES))
        c["vessel_or_flight"] = self.text(data, "vessel_or_flight", limit=100,
                                          required=False) or ""
        c["port_of_loading"] = self.text(data, "port_of_loading", limit=100)
        c["port_of_discharge"] = self.text(data, "port_of_discharge", limit=100)
        c["invoice_number"] = self.text(data, "invoice_number", limit=40)
        c["invoice_date"] = self.date(data, "invoice_date")
        c["departure_date"] = self.date(data, "departure_date", required=False,
                                        not_after=self.today + dt.timedelta(days=365))
        c["remarks"] = self.text(data, "remarks", limit=MAX_TEXT, required=False) or ""
        c["declaration_place"] = self.text(data, "declaration_place", limit=100,
                                           required=False) or ""
        c["declaration_date"] = self.date(data, "declaration_date", required=False)
        currency = self.text(data, "currency", limit=3, required=False) or "USD"
        if not _CURRENCY.fullmatch(currency):
            self.fail("currency", f"expected an ISO 4217 currency code such as USD; got "
                      f"{currency!r}")
        c["currency"] = currency
        origin = self.checked(data, "origin_country", check_country, required=False)
        in_lieu = ("original_certificate_number", "original_certificate_date", "in_lieu_reason")
        foreign = ("foreign_origin_country", "foreign_certificate_number",
                   "foreign_certificate_country", "foreign_certificate_issuer",
                   "foreign_certificate_date")
        if kind != K.IN_LIEU:
            self.absent(data, in_lieu, "only an in-lieu application names an original "
                        "certificate")
        if kind != K.BACK_TO_BACK:
            self.absent(data, foreign, "only a back-to-back application names a foreign "
                        "certificate")
            if origin not in (None, "IN"):
                self.fail("origin_country", "expected IN: goods not of Indian origin are "
                          "certified back-to-back (kind back_to_back)")
            c["origin_country"] = "IN"
        if kind == K.BACK_TO_BACK:
            c["foreign_origin_country"] = self.checked(data, "foreign_origin_country",
                                                       check_country)
            c["foreign_certificate_number"] = self.text(data, "foreign_certificate_number",
                                                        limit=64)
            c["foreign_certificate_country"] = self.checked(
                data, "foreign_certificate_country", check_country)
            c["foreign_certificate_issuer"] = self.text(data, "foreign_certificate_issuer",
                                                        limit=200)
            c["foreign_certificate_date"] = self.date(data, "foreign_certificate_date")
            for key in ("foreign_origin_country", "foreign_certificate_country"):
                if c[key] == "IN":
                    self.fail(key, "expected the foreign country the goods come from, not IN")
            if origin is not None and c["foreign_origin_country"] and \
                    origin != c["foreign_origin_country"]:
                self.fail("origin_country", "expected the foreign origin country "
                          f"{c['foreign_origin_country']} (or leave it out)")
            c["origin_country"] = c["foreign_origin_country"] or "IN"
        if kind == K.IN_LIEU:
            c["original_certificate_number"] = self.text(
                data, "original_certificate_number", limit=32)
            c["original_certificate_date"] = self.date(data, "original_certificate_date",
                                                       required=False)
            c["in_lieu_reason"] = self.text(data, "in_lieu_reason", limit=MAX_TEXT)
        if c["invoice_date"] and c["declaration_date"] and \
                c["declaration_date"] < c["invoice_date"]:
            self.fail("declaration_date", f"expected a date on or after the invoice date "
                      f"{c['invoice_date']}")
        return c

    def agreement(self, data: Mapping[str, Any], kind: str | None,
                  columns: dict[str, Any]) -> TradeAgreement | None:
        code = self.text(data, "agreement_code", limit=16, required=False)
        agreements = trade_agreements()
        if kind == K.IN_LIEU:
            original = self.original_certificate(columns)
            inherited = agreements.get(original.agreement_code or "") if original else None
            if code is not None and original is not None and code != (
                    original.agreement_code or None):
                self.fail("agreement_code", "expected the agreement of the original "
                          f"certificate ({original.agreement_code or 'none'}) or nothing")
            return inherited
        if kind != K.PREFERENTIAL:
            if code is not None:
                self.fail("agreement_code", "expected nothing: only a preferential "
                          "application names a trade agreement")
            return None
        if code is None:
            self.fail("agreement_code", "required: expected the code of a trade agreement, "
                      "one of " + ", ".join(agreements))
            return None
        agreement = agreements.get(code.upper())
        if agreement is None:
            self.fail("agreement_code", f"expected one of {', '.join(agreements)}; got {code!r}")
            return None
        destination = columns.get("destination_country")
        if destination and not agreement.covers(destination):
            self.fail("destination_country", f"expected a partner country of {agreement.name} "
                      f"({', '.join(agreement.partners)}); got {destination}")
        return agreement

    def foreign_certificate(self, data: Mapping[str, Any], kind: str | None,
                            columns: dict[str, Any],
                            goods: list[dict[str, Any]]) -> ForeignFiling | None:
        """Back-to-back: the foreign certificate's goods the first time (recorded then),
        the recorded ones afterwards (the same data or nothing), and the item each goods
        line draws from, in its unit."""
        raw_items = [item.get("foreign_item") if isinstance(item, Mapping) else None
                     for item in (data.get("goods") if isinstance(data.get("goods"), list)
                                  else [])]
        if kind != K.BACK_TO_BACK:
            self.absent(data, ("foreign_certificate_goods",), "only a back-to-back "
                        "application draws from a foreign certificate")
            for i, value in enumerate(raw_items):
                if value is not None:
                    self.fail(f"goods.{i}.foreign_item", "expected nothing: only a "
                              "back-to-back application draws from a foreign certificate")
            return None
        given = self.foreign_goods(data)
        number, country = columns.get("foreign_certificate_number"), \
            columns.get("foreign_certificate_country")
        if not number or not country or columns.get("foreign_certificate_date") is None \
                or not columns.get("foreign_certificate_issuer"):
            return None  # named as missing already
        certificate_columns = {"number": number, "country": country,
                               "issuer": columns["foreign_certificate_issuer"],
                               "issued_on": columns["foreign_certificate_date"]}
        recorded = self.session.scalars(select(ForeignCertificate).where(
            ForeignCertificate.exporter_id == self.holder.exporter_id,
            ForeignCertificate.country == country,
            ForeignCertificate.number == number)).first()
        if recorded is not None:
            mine = [{"description": g.description, "hs_code": g.hs_code,
                     "quantity": g.quantity, "unit": g.unit} for g in recorded.goods]
            differs = [name for name, ours, theirs in (
                ("issuer", recorded.issuer, certificate_columns["issuer"]),
                ("date", recorded.issued_on, certificate_columns["issued_on"]),
                ("goods", mine, mine if given is None else given)) if ours != theirs]
            if differs:
                self.fail("foreign_certificate_number", f"foreign certificate {number} of "
                          f"{country} is recorded for IEC {self.holder.iec} with another "
                          f"{' and '.join(differs)}; expected the recorded data (or leave "
                          "foreign_certificate_goods out to draw on it)")
                return None
            items = mine
        elif given is None:
            if not any(p.field.startswith("foreign_certificate_goods") for p in self.problems):
                self.fail("foreign_certificate_goods", f"required: foreign certificate {number} "
                          f"of {country} is not recorded for IEC {self.holder.iec} yet; expected "
                          "its goods with the quantities it certifies")
            return None
        else:
            items = given
        draws = []
        drawn: dict[int, Decimal] = {}
        for i, (line, value) in enumerate(zip(goods, raw_items, strict=False)):
            path = f"goods.{i}.foreign_item"
            if value is None and len(items) == 1:
                value = 1
            if isinstance(value, bool) or not isinstance(value, int) \
                    or not 1 <= value <= len(items):
                self.fail(path, f"{'required: ' if value is None else ''}expected the number "
                          f"of the foreign certificate's goods item this line draws from, 1 to "
                          f"{len(items)}")
                continue
            item = items[value - 1]
            if line.get("unit") and line["unit"] != item["unit"]:
                self.fail(f"goods.{i}.unit", f"expected {item['unit']}, the unit of item {value} "
                          f"of foreign certificate {number}; got {line['unit']}")
            if line.get("quantity") is not None:
                drawn[value] = drawn.get(value, Decimal("0")) + line["quantity"]
            draws.append(value)
        for value, quantity in sorted(drawn.items()):
            if quantity > items[value - 1]["quantity"]:
                self.fail("goods", f"the lines draw {quantity} {items[value - 1]['unit']} of "
                          f"item {value} of foreign certificate {number}, which certifies only "
                          f"{items[value - 1]['quantity']}")
        return ForeignFiling(certificate_columns, [] if recorded is not None else items,
                             None if recorded is None else recorded.id, draws)

    def foreign_goods(self, data: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        raw = data.get("foreign_certificate_goods")
        if raw is None:
            return None
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_GOODS_LINES:
            self.fail("foreign_certificate_goods", f"expected a list of 1 to {MAX_GOODS_LINES} "
                      "goods items of the foreign certificate")
            return None
        items = []
        for i, item in enumerate(raw):
            path = f"foreign_certificate_goods.{i}"
            if not isinstance(item, Mapping):
                self.fail(path, "expected an object (one goods item)")
                continue
            self.unknown(item, FOREIGN_GOODS_FIELDS, path)
            items.append({
                "description": self.text(item, "description", limit=MAX_TEXT, path=path),
                "hs_code": self.checked(item, "hs_code", check_hs_code, path=path),
                "quantity": self.checked(item, "quantity", check_quantity, path=path),
                "unit": self.checked(item, "unit", check_unit, path=path),
            })
        if any(None in item.values() for item in items) or len(items) != len(raw):
            return None
        return items

    def original_certificate(self, columns: dict[str, Any]) -> Application | None:
        number = columns.get("original_certificate_number")
        if not number:
            return None
        if is_legacy_certificate(number, columns.get("original_certificate_date"),
                                 migrated=is_migrated(self.session, number)):
            self.fail("original_certificate_number", legacy_refusal(number))
            return None
        row = self.session.execute(
            select(Certificate.status, Certificate.superseded_by_number, Certificate.issued_at,
                   Application.id)
            .join(Application, Application.id == Certificate.application_id)
            .where(Certificate.number == number.strip(),
                   Application.exporter_id == self.holder.exporter_id)).first()
        if row is None:
            self.fail("original_certificate_number", f"{number!r} is not a certificate issued "
                      f"to IEC {self.holder.iec} in this system; expected the number of its "
                      "certificate being replaced (an in-lieu request for a certificate of the "
                      "legacy system is filed there)")
            return None
        if row.status != CertificateStatus.VALID or row.superseded_by_number:
            self.fail("original_certificate_number", f"certificate {number} is {row.status}"
                      + (f" (by {row.superseded_by_number})" if row.superseded_by_number
                         else "") + "; expected a valid certificate")
        issued = row.issued_at.date() if row.issued_at else None
        given = columns.get("original_certificate_date")
        if given is None:
            columns["original_certificate_date"] = issued
        elif issued and abs((given - issued).days) > 1:
            self.fail("original_certificate_date", f"expected {issued}, the date certificate "
                      f"{number} was issued")
        return self.session.get(Application, row.id)

    def goods(self, data: Mapping[str, Any], kind: str | None,
              agreement: TradeAgreement | None) -> list[dict[str, Any]]:
        raw = data.get("goods", _MISSING)
        if raw is _MISSING or raw is None:
            self.fail("goods", "required: expected a list of 1 to "
                      f"{MAX_GOODS_LINES} goods lines")
            return []
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_GOODS_LINES:
            self.fail("goods", f"expected a list of 1 to {MAX_GOODS_LINES} goods lines")
            return []
        lines = []
        criteria_wanted = agreement is not None
        for i, item in enumerate(raw):
            path = f"goods.{i}"
            if not isinstance(item, Mapping):
                self.fail(path, "expected an object (one goods line)")
                continue
            self.unknown(item, GOODS_FIELDS, path)
            line = {
                "description": self.text(item, "description", limit=MAX_TEXT, path=path),
                "hs_code": self.checked(item, "hs_code", check_hs_code, path=path),
                "quantity": self.checked(item, "quantity", check_quantity, path=path),
                "unit": self.checked(item, "unit", check_unit, path=path),
                "gross_weight_kg": self.checked(item, "gross_weight_kg", check_quantity,
                                                path=path),
                "package_count": self.count(item, "package_count", path=path),
                "package_kind": self.text(item, "package_kind", limit=40, path=path),
                "marks": self.text(item, "marks", limit=200, required=False, path=path) or "",
                "fob_value": self.money(item, "fob_value", path=path),
                "origin_criterion": None,
            }
            criterion = self.text(item, "origin_criterion", limit=40, required=False, path=path)
            if criteria_wanted:
                line["origin_criterion"] = self.criterion(criterion, agreement, f"{path}.")
            elif criterion is not None:
                self.fail(f"{path}.origin_criterion", "expected nothing: origin criteria "
                          "belong to preferential certificates")
            lines.append(line)
        return lines

    def criterion(self, value: str | None, agreement: TradeAgreement | None,
                  path: str) -> str | None:
        field_ = f"{path}origin_criterion"
        expected = ("an origin criterion: WO, PE, CC, CTH, CTSH, PSR, or a value content "
                    "such as 'RVC 40%'")
        if value is None:
            self.fail(field_, f"required for a preferential certificate: expected {expected}")
            return None
        match = _CRITERION.fullmatch(value.strip().upper())
        if match is None:
            self.fail(field_, f"expected {expected}; got {value!r}")
            return None
        if match.group(2) and agreement is not None and agreement.min_rvc_percent:
            percent = Decimal(match.group(3))
            if percent < agreement.min_rvc_percent or percent > 100:
                self.fail(field_, f"expected a value content from {agreement.min_rvc_percent}% "
                          f"to 100%, the range {agreement.code} accepts; got {value!r}")
                return None
        if match.group(2):
            return f"{match.group(2)} {match.group(3)}%"
        return match.group(1)

    def cost_sheet(self, data: Mapping[str, Any], kind: str | None,
                   agreement: TradeAgreement | None,
                   goods: list[dict[str, Any]]) -> tuple[dict[str, Any] | None,
                                                         list[dict[str, Any]]]:
        raw = data.get("cost_sheet")
        criteria = [g["origin_criterion"] for g in goods if g.get("origin_criterion")]
        needed = kind == K.PREFERENTIAL and any(c != "WO" for c in criteria)
        if raw is None:
            if needed:
                self.fail("cost_sheet", "required: a preferential certificate whose goods are "
                          "not all wholly obtained (WO) needs the exporter's cost sheet")
            return None, []
        if kind in (K.NON_PREFERENTIAL, K.BACK_TO_BACK):
            self.fail("cost_sheet", "expected nothing: a cost sheet supports a preferential "
                      "origin claim")
            return None, []
        if not isinstance(raw, Mapping):
            self.fail("cost_sheet", "expected an object")
            return None, []
        path = "cost_sheet"
        self.unknown(raw, COST_SHEET_FIELDS, path)
        sheet = {
            "product_hs_code": self.checked(raw, "product_hs_code", check_hs_code, path=path),
            "method": self.choice(raw, "method", list(COST_METHODS), path=path),
            "labour": self.money(raw, "labour", path=path, allow_zero=True),
            "overheads": self.money(raw, "overheads", path=path, allow_zero=True),
            "profit": self.money(raw, "profit", path=path, allow_zero=True),
            "other_costs": self.money(raw, "other_costs", path=path, allow_zero=True,
                                      required=False) or Decimal("0"),
            "ex_works": self.money(raw, "ex_works", path=path),
            "fob": self.money(raw, "fob", path=path),
        }
        if sheet["ex_works"] and sheet["fob"] and sheet["ex_works"] > sheet["fob"]:
            self.fail(f"{path}.ex_works", f"expected at most the FOB value {sheet['fob']}")
        materials = []
        raw_materials = raw.get("materials", [])
        if not isinstance(raw_materials, list) or len(raw_materials) > MAX_MATERIALS:
            self.fail(f"{path}.materials", f"expected a list of at most {MAX_MATERIALS} "
                      "materials")
            raw_materials = []
        for i, item in enumerate(raw_materials):
            where = f"{path}.materials.{i}"
            if not isinstance(item, Mapping):
                self.fail(where, "expected an object (one material)")
                continue
            self.unknown(item, MATERIAL_FIELDS, where)
            originating = item.get("originating", _MISSING)
            if not isinstance(originating, bool):
                self.fail(f"{where}.originating", "required: expected true or false")
                originating = False
            country = self.checked(item, "origin_country", check_country, path=where,
                                   required=False)
            if originating and country is None:
                self.fail(f"{where}.origin_country", "expected the country of origin: a "
                          "material of undetermined origin counts as non-originating")
            materials.append({
                "description": self.text(item, "description", limit=200, path=where),
                "hs_code": self.checked(item, "hs_code", check_hs_code, path=where),
                "origin_country": country,
                "originating": originating,
                "value": self.money(item, "value", path=where),
                "evidence": self.text(item, "evidence", limit=200, required=False,
                                      path=where) or "",
            })
        return sheet, materials

    # -- field readers -----------------------------------------------------------------------

    def fail(self, path: str, problem: str) -> None:
        self.problems.append(Problem(path, problem))

    def _get(self, data: Mapping[str, Any], key: str, path: str, required: bool,
             expected: str) -> Any:
        value = data.get(key, _MISSING)
        if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(_join(path, key), f"required: expected {expected}")
            return _MISSING
        return value

    def text(self, data: Mapping[str, Any], key: str, *, limit: int, required: bool = True,
             path: str = "") -> str | None:
        expected = f"text of 1 to {limit} characters"
        value = self._get(data, key, path, required, expected)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.fail(_join(path, key), f"expected {expected}; got {type(value).__name__}")
            return None
        value = value.strip()
        if len(value) > limit:
            self.fail(_join(path, key), f"expected at most {limit} characters; got "
                      f"{len(value)}")
            return None
        if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
            self.fail(_join(path, key), "expected text without control characters")
            return None
        return value

    def choice(self, data: Mapping[str, Any], key: str, options: list[str], *,
               path: str = "") -> str | None:
        expected = "one of " + ", ".join(options)
        value = self._get(data, key, path, True, expected)
        if value is _MISSING:
            return None
        if value not in options:
            self.fail(_join(path, key), f"expected {expected}; got {value!r}")
            return None
        return str(value)

    def checked(self, data: Mapping[str, Any], key: str, check: Callable[..., Any], *,
                path: str = "", required: bool = True, expected: str | None = None,
                numeric: bool = False) -> Any:
        """A value checked by one of the models' ``check_*`` functions (numbers may come
        as JSON numbers or as text; everything else as text)."""
        expected = expected or _EXPECTS.get(check, "a value")
        numeric = numeric or check is check_quantity
        value = self._get(data, key, path, required, expected)
        if value is _MISSING:
            return None
        if isinstance(value, float):
            value = repr(value)  # a JSON number, as it was written
        if isinstance(value, bool) or not isinstance(
                value, (str, int, Decimal) if numeric else str):
            self.fail(_join(path, key), f"expected {expected}; got {type(value).__name__}")
            return None
        try:
            return check(value)
        except InvalidValue as exc:
            self.fail(_join(path, key), f"expected {exc.expected}; got {value!r}")
            return None

    def money(self, data: Mapping[str, Any], key: str, *, path: str = "",
              allow_zero: bool = False, required: bool = True) -> Decimal | None:
        def _money(value: object) -> Decimal:
            return check_money(value, key, allow_zero=allow_zero)

        expected = "an amount " + ("of 0 or more" if allow_zero else "above 0") + \
            " with at most 2 decimals"
        return self.checked(data, key, _money, path=path, required=required,
                            expected=expected, numeric=True)

    def count(self, data: Mapping[str, Any], key: str, *, path: str = "") -> int | None:
        expected = "a whole number from 0 to 1,000,000"
        value = self._get(data, key, path, True, expected)
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
            self.fail(_join(path, key), f"expected {expected}; got {value!r}")
            return None
        return value

    def date(self, data: Mapping[str, Any], key: str, *, required: bool = True,
             not_after: dt.date | None = None) -> dt.date | None:
        value = self._get(data, key, "", required, "a date as YYYY-MM-DD")
        if value is _MISSING:
            return None
        try:
            return check_date(value, key, not_after=not_after or self.today)
        except InvalidValue as exc:
            self.fail(key, f"expected {exc.expected}; got {value!r}")
            return None

    def absent(self, data: Mapping[str, Any], keys: tuple[str, ...], why: str) -> None:
        for key in keys:
            if data.get(key) not in (None, ""):
                self.fail(key, f"expected nothing: {why}")

    def unknown(self, data: Mapping[str, Any], known: frozenset[str], path: str = "") -> None:
        for key in data:
            if key not in known:
                self.fail(_join(path, str(key)), "unknown field")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


_EXPECTS: dict[Any, str] = {
    check_country: "an ISO 3166-1 alpha-2 country code such as AE or JP",
    check_hs_code: "6 or 8 digits, e.g. 847130 or 8471.30.10",
    check_quantity: "a number above 0 with at most 3 decimals",
    check_unit: "a customs unit quantity code such as KGS, NOS, PCS, MTR",
    check_money: "an amount above 0 with at most 2 decimals",
}
APPLICATION_FIELDS = frozenset({
    "kind", "applicant_email", "agreement_code", "consignee_name", "consignee_address",
    "consignee_country", "destination_country", "origin_country", "transport_mode",
    "vessel_or_flight", "port_of_loading", "port_of_discharge", "departure_date",
    "invoice_number", "invoice_date", "currency", "remarks", "declaration_place",
    "declaration_date", "original_certificate_number", "original_certificate_date",
    "in_lieu_reason", "foreign_origin_country", "foreign_certificate_number",
    "foreign_certificate_country", "foreign_certificate_issuer", "foreign_certificate_date",
    "foreign_certificate_goods", "goods", "cost_sheet",
})
GOODS_FIELDS = frozenset({"description", "hs_code", "quantity", "unit", "gross_weight_kg",
                          "package_count", "package_kind", "marks", "fob_value",
                          "origin_criterion", "foreign_item"})
FOREIGN_UNIQUE = "foreign_certificates"  # its unique (exporter, country, number), both engines
FOREIGN_GOODS_FIELDS = frozenset({"description", "hs_code", "quantity", "unit"})
COST_SHEET_FIELDS = frozenset({"product_hs_code", "method", "labour", "overheads", "profit",
                               "other_costs", "ex_works", "fob", "materials"})
MATERIAL_FIELDS = frozenset({"description", "hs_code", "origin_country", "originating",
                             "value", "evidence"})

__all__ = [
    "DocumentTooLarge", "FilingCheck", "IdempotencyKeyReused", "Intake", "IntakeAnswer",
    "IntakeInvalid", "IntakeNotFound", "IntakeRefused", "Problem", "UnsupportedDocument",
    "application_number", "check_document", "check_file_name", "request_digest", "sniff",
]
