"""The officer's desk: who is signed in, which offices they serve, and what they may do.

Every method opens its own short session, so the views may call them from worker threads.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.config import Config
from app.errors import UserFacingError
from app.models import (
    Application,
    ApplicationKind,
    ApplicationStatus,
    AuditEvent,
    Certificate,
    CostSheet,
    Office,
    Role,
    User,
    UserStatus,
)
from app.models.agreements import trade_agreements
from app.models.enums import Action
from app.models.origin import LEVEL_NAMES, show
from app.models.origin_review import OVERRIDE_ACTION, LineCheck, review_application
from app.models.validation import countries
from app.models.workflow import allowed_actions, perform
from app.services.back_to_back import ForeignBalanceView, balance_view
from app.services.desk_runs import DeskRuns
from app.services.exporters import (
    ExporterHit,
    ExporterOverview,
    exporter_overview,
    invoice_warnings,
    search_exporters,
)
from app.services.in_lieu import (
    InLieuDifference,
    compare,
    not_compared,
    printed_certificate,
)
from app.services.queue import QueueQuery, load_queue
from app.services.queue_rows import QueueRow, local_time
from app.store.central import central_engine, session_factory

log = logging.getLogger(__name__)


class SignInError(UserFacingError):
    pass


@dataclass(frozen=True)
class OfficerInfo:
    id: int
    email: str
    full_name: str
    role: str
    status: str
    office_codes: tuple[str, ...]


@dataclass(frozen=True)
class OfficeInfo:
    id: int
    code: str
    name: str
    place: str
    overdue_limit_hours: int = 48  # offices.overdue_limit_hours (revision 0012)


@dataclass(frozen=True)
class GoodsLineView:
    item_no: int
    marks: str
    packages: str
    description: str
    hs_code: str
    quantity: str
    gross_weight: str
    fob_value: str
    origin_criterion: str


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    actor: str
    action: str
    change: str
    note: str
    alert: bool = False  # shown in red (an origin override)

    @property
    def when(self) -> str:
        """India's local time with the zone, e.g. "30 Nov 2026 11:05 IST"."""
        return local_time(self.at)


@dataclass(frozen=True)
class OriginLineView:
    """The origin check of one preferential goods line, every step as (step, figure)."""

    item_no: int
    title: str
    met: bool
    verdict: str
    steps: list[tuple[str, str]]
    # material, origin, HS, originating, value, changes classification at the rule's level
    materials: list[tuple[str, str, str, str, str, str]]


@dataclass(frozen=True)
class ApplicationDetail:
    """Everything the detail panel shows about one application, as display-ready data."""

    id: int
    number: str
    version: int
    kind: str
    status: str
    office_code: str
    sections: list[tuple[str, list[tuple[str, str]]]]
    goods: list[GoodsLineView]
    cost_sheet: list[tuple[str, str]]
    cost_materials: list[tuple[str, str, str, str, str, str]]
    documents: list[tuple[str, str, str, str]]
    history: list[HistoryEntry]
    allowed: frozenset[str] = field(default_factory=frozenset)
    origin_lines: list[OriginLineView] = field(default_factory=list)
    origin_failing: str = ""  # the failing lines and their figures (approval needs an override)
    exporter_id: int = 0
    # an in-lieu application: its difference against the original (app/services/in_lieu.py)
    in_lieu: InLieuDifference | None = None
    # e.g. the same invoice number on another live application of the exporter
    warnings: tuple[str, ...] = ()
    # a back-to-back application: its foreign certificate's goods, draws and balance
    foreign_balance: ForeignBalanceView | None = None
    # the id of each row of ``documents`` (opened with Desk.documents().open(id))
    document_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class OthersApproval:
    """An approved application whose approval is another officer's (from its
    ``application.approve`` audit event): issuing it signs their decision."""

    application_id: int
    number: str
    approver: str
    approved_at: str  # India's local time with the zone

    def sentence(self) -> str:
        return f"{self.number} was approved by {self.approver} on {self.approved_at}"


def open_central(config: Config, progress: Callable[[str], None] | None = None, *,
                 prepare_token: bool = True) -> Engine:
    """The central store's engine; on first start of the embedded demo, create the demo
    (and its signing token, unless ``prepare_token`` is False: the desk window prepares
    it in the background behind the sign-in)."""
    if config.is_embedded and not config.demo_store_path.exists():
        from app.signing.demo_token import prepare_demo_signing
        from app.store.demo import create_demo_store

        log.info("creating the embedded demo store at %s", config.demo_store_path)
        engine = create_demo_store(config.demo_store_path, progress=progress)
        if prepare_token:
            if progress:
                progress("Preparing the demo signing token…")
            prepare_demo_signing(config, engine)
        return engine
    engine = central_engine(config)
    if config.is_embedded:
        from app.signing.demo_token import activate_demo_token

        _upgrade_demo(engine, progress)
        activate_demo_token(config)  # points SOFTHSM2_CONF at the demo token, if there is one
    return engine


def _upgrade_demo(engine: Engine, progress: Callable[[str], None] | None) -> None:
    """The embedded demo is this release's own store: one made by an older release is
    brought to this release's schema (no administrator to ask)."""
    from app.store.schema import current_revision, head_revision, quick_head_revision, upgrade

    with engine.connect() as connection:
        revision = current_revision(connection)
    if revision is not None and revision == quick_head_revision():
        return  # up to date: known without loading Alembic's scripts (a start-up's 0.2 s)
    if revision is not None and revision != head_revision():
        log.info("upgrading the demo store from %s", revision)
        if progress:
            progress("Upgrading the demo store…")
        upgrade(engine)


class Desk:
    """The services one desk window uses, bound to one store and one signed-in user.

    The embedded desk works on the central store itself (``engine``); issuing, DSC
    registration, verification and administration go through :attr:`central`, the
    central interface, which a synced desk (:class:`~app.services.offline_desk.LocalDesk`)
    points at the real central store while its queue reads the local copy.
    """

    def __init__(self, engine: Engine, config: Config, central: Any = None) -> None:
        self.engine = engine
        self.config = config
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.user: OfficerInfo | None = None
        self._central = central
        self.runs = DeskRuns(config.data_dir / "runs")

    # --- the services bound to the central store --------------------------------------------

    def central(self) -> Any:
        """The central interface, or CentralUnavailable when this desk cannot reach it."""
        if self._central is None:
            from app.services.central import SqlCentral

            self._central = SqlCentral(self.engine, self.config)
        return self._central

    def _officer_id(self) -> int:
        if self.user is None:
            raise UserFacingError("Sign in first.")
        return self.user.id

    def issuer(self, on_issued: Callable[..., None] | None = None) -> Any:
        """Issuing as the signed-in officer (raises before any PIN when offline)."""
        from app.services.issuing import Issuer

        return Issuer(self.central(), self.config, self._officer_id(), runs=self.runs,
                      on_issued=on_issued, after_batch=self.after_issue)

    def after_issue(self, application_ids: list[int]) -> None:
        """Issued certificates are in the central store: bring them into this desk's copy
        (nothing to do here: this desk works on the central store)."""

    def dsc(self) -> Any:
        from app.services.dsc import DscService

        return DscService(self.central(), self.config, self._officer_id())

    def documents(self) -> Any:
        """Supporting documents: metadata from this desk's store, bytes from the central
        store on demand (``app.services.documents``)."""
        from app.services.documents import SupportingDocuments

        return SupportingDocuments(self.engine, self.central)

    def verifier(self) -> Any:
        """Verification; offline, it still checks the signature and a sealed QR code
        against the cached seal trust list (what needs the store says it was not checked)."""
        from app.services.issuing import Verifier
        from app.store.link import CentralUnavailable

        try:
            central = self.central()
        except CentralUnavailable:
            central = None
        return Verifier(central, self.config)

    def admin(self) -> Any:
        """The agency administration, as the signed-in administrator, on the central store."""
        from app.services.admin import AgencyAdmin

        central = self.central()
        engine = getattr(central, "engine", None)
        if engine is None:
            raise UserFacingError(
                "Administration works on the central store's database, and this desk reaches "
                "the central store through the central service. Administer from a desk or "
                "with 'origin-desk admin' where central_url is the database "
                "(postgresql+psycopg://...) and you have an administrator's login.")
        return AgencyAdmin(engine, self._officer_id())

    def dashboard(self) -> Any:
        """The signed-in user's dashboard from this desk's own store (the central store on
        the embedded desk, the synced copy otherwise: app/services/dashboard.py)."""
        from app.services.dashboard import load_dashboard

        return load_dashboard(self.engine, self._officer_id())

    def trade_events(self) -> Any:
        """The agency's trade events on the central store, as the signed-in user (its
        administrators write them; everyone reads them on the dashboard)."""
        return self.central().trade_events(self._officer_id())

    @property
    def store_label(self) -> str:
        if self.config.is_embedded:
            return "embedded demo"
        return "offline" if self.config.offline else "online"

    # --- who -----------------------------------------------------------------------------

    def users(self) -> list[OfficerInfo]:
        with self.sessions() as session:
            users = session.scalars(
                select(User).options(selectinload(User.offices)).order_by(User.role, User.full_name)
            ).all()
            return [_officer_info(u) for u in users]

    def sign_in(self, email: str) -> OfficerInfo:
        with self.sessions() as session:
            user = session.scalars(
                select(User).options(selectinload(User.offices)).where(User.email == email.strip().lower())
            ).first()
            if user is None:
                raise SignInError(f"No user with the e-mail address {email!r} in this store.")
            if user.status != UserStatus.ACTIVE:
                raise SignInError(f"{user.full_name}'s account is {user.status}; it cannot sign in.")
            if user.role == Role.OFFICER and not user.offices:
                raise SignInError(f"{user.full_name} is not mapped to any office yet.")
            self.user = _officer_info(user)
            log.info("signed in: %s (%s)", user.email, user.role)
            return self.user

    def sign_out(self) -> None:
        """End the signed-in user's session: the central service's session is given back,
        open token sessions are closed; the store (a synced desk's copy and its outbox of
        decisions not yet sent) stays as it is."""
        from app.signing.token_session import close_open_sessions

        email = self.user.email if self.user else None
        link = self._session_link()
        if link is not None and hasattr(link, "sign_out"):
            link.sign_out()
        closed = close_open_sessions()
        self.user = None
        log.info("signed out: %s (%s token session(s) closed)", email, closed)

    def _session_link(self) -> Any:
        """The central interface holding a session for the user, if any."""
        return self._central

    def my_offices(self) -> list[OfficeInfo]:
        with self.sessions() as session:
            statement = select(Office).order_by(Office.code)
            if self.user is not None and self.user.role == Role.OFFICER:
                statement = statement.where(Office.code.in_(self.user.office_codes))
            return [OfficeInfo(o.id, o.code, o.name, o.place, o.overdue_limit_hours)
                    for o in session.scalars(statement)]

    # --- the queue -------------------------------------------------------------------------

    def queue(self, office_ids: tuple[int, ...] | None) -> list[QueueRow]:
        if office_ids is None and self.user is not None and self.user.role == Role.OFFICER:
            office_ids = tuple(o.id for o in self.my_offices())
        return load_queue(self.engine, QueueQuery(office_ids=office_ids))

    def pending_application_ids(self) -> set[int]:
        """Applications with a decision taken here and not yet on the central store (none:
        this desk works on the central store directly)."""
        return set()

    def queue_rows(self, application_ids: list[int]) -> list[QueueRow]:
        """Fresh queue rows of these applications (after an action changed them)."""
        return load_queue(self.engine, QueueQuery(application_ids=tuple(application_ids)))

    def queue_row(self, application_id: int) -> QueueRow | None:
        rows = self.queue_rows([application_id])
        return rows[0] if rows else None

    # --- one application -------------------------------------------------------------------

    def detail(self, application_id: int) -> ApplicationDetail:
        with self.sessions() as session:
            app = _load_application(session, application_id)
            actor = self._actor(session)
            history = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "application", AuditEvent.entity_id == app.id)
                .order_by(AuditEvent.at, AuditEvent.id)
            ).all()
            certificate = session.scalars(
                select(Certificate).where(Certificate.application_id == app.id)
            ).first()
            names = dict(session.execute(select(User.id, User.full_name).where(
                User.id.in_({e.actor_id for e in history if e.actor_id}))).tuples().all())
            detail = _detail(app, history, certificate, actor, names)
            offices = self._served_office_ids()
            in_lieu = (_in_lieu_difference(session, app)
                       if app.kind == ApplicationKind.IN_LIEU else None)
            warnings = invoice_warnings(session, app.id, app.exporter_id, offices)
            return replace(detail, exporter_id=app.exporter_id, in_lieu=in_lieu,
                           warnings=tuple(warnings),
                           foreign_balance=balance_view(session, app))

    def approvals_by_others(self, application_ids: list[int]) -> list[OthersApproval]:
        """The applications among these whose latest approval is not the signed-in
        officer's, with who approved them and when (asked before issuing them)."""
        me = self._officer_id()
        with self.sessions() as session:
            events = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "application",
                       AuditEvent.entity_id.in_(application_ids),
                       AuditEvent.action == f"application.{Action.APPROVE.value}")
                .order_by(AuditEvent.at, AuditEvent.id)
            ).all()
            latest = {e.entity_id: e for e in events}  # the last approval of each
            names = dict(session.execute(select(User.id, User.full_name).where(
                User.id.in_({e.actor_id for e in latest.values() if e.actor_id}))).tuples().all())
            numbers = dict(session.execute(select(Application.id, Application.number).where(
                Application.id.in_(application_ids))).tuples().all())
        return [
            OthersApproval(app_id, numbers.get(app_id, f"#{app_id}"),
                           names.get(e.actor_id or 0) or _who(e.actor_label), local_time(e.at))
            for app_id in application_ids
            if (e := latest.get(app_id)) is not None and e.actor_id != me
        ]

    # --- exporters -------------------------------------------------------------------------

    def _served_office_ids(self) -> tuple[int, ...] | None:
        """The offices whose applications this user sees (None: all, an administrator)."""
        if self.user is None or self.user.role != Role.OFFICER:
            return None
        return tuple(o.id for o in self.my_offices())

    def search_exporters(self, text: str) -> list[ExporterHit]:
        """Exporters by IEC (its start) or name (any part), with applications here."""
        offices = self._served_office_ids()
        with self.sessions() as session:
            return search_exporters(session, text, offices)

    def exporter(self, exporter_id: int) -> ExporterOverview:
        """An exporter, its applicant users and its applications in the offices served."""
        offices = self._served_office_ids()
        scope = ("the agency's offices" if offices is None else
                 "your offices: " + ", ".join(self.user.office_codes if self.user else ()))
        with self.sessions() as session:
            overview = exporter_overview(session, exporter_id, offices, scope)
        if overview is None:
            raise UserFacingError(f"Exporter #{exporter_id} is not in this desk's store.")
        return overview

    def preview_pdf(self, application_id: int) -> tuple[bytes, int, bool]:
        """The certificate PDF of an application as it would be signed (a draft until
        issued; an issued certificate shows its signed PDF when the store holds it)."""
        from app.documents.renderer import render_certificate
        from app.services.certificate_data import certificate_data, load_application_for_certificate

        with self.sessions() as session:
            certificate = session.scalars(
                select(Certificate).where(Certificate.application_id == application_id)
            ).first()
            if certificate is not None and certificate.pdf:
                return certificate.pdf, 0, False
            app = load_application_for_certificate(session, application_id=application_id)
            officer = self._actor(session) if app.claimed_by is None else None
            # a draft never carries the real stamp and signature: it must not pass for issued
            data = replace(certificate_data(app, officer=officer), stamp_png=None, signature_png=None)
            rendered = render_certificate(data)
        return rendered.pdf, rendered.page_count, rendered.draft

    def act(
        self, application_id: int, action: Action | str, *, text: str | None = None,
        expected_version: int | None = None,
    ) -> None:
        """Take a workflow action as the signed-in user; raises WorkflowError when not allowed."""
        with self.sessions() as session, session.begin():
            app, actor = self._load_for_action(session, application_id, expected_version)
            perform(session, app, action, actor, text=text)
            try:
                session.flush()
            except StaleDataError:
                raise UserFacingError(
                    f"Application {app.number} was changed at another desk meanwhile; it has "
                    "been reloaded. Check it and try again."
                ) from None
        log.info("%s %s by %s", action, application_id, self.user.email if self.user else "?")

    def _load_for_action(
        self, session: Session, application_id: int, expected_version: int | None
    ) -> tuple[Application, User]:
        """The application as the officer saw it (else a clear error) and the actor."""
        app = _load_application(session, application_id)
        if expected_version is not None and app.version != expected_version:
            raise UserFacingError(
                f"Application {app.number} changed since you opened it; it has been "
                "reloaded. Check it and try again."
            )
        actor = self._actor(session)
        if actor is None:
            raise UserFacingError("Sign in before acting on applications.")
        return app, actor

    def _actor(self, session: Session) -> User | None:
        if self.user is None:
            return None
        return session.scalars(
            select(User).options(selectinload(User.offices)).where(User.id == self.user.id)
        ).one()


def _officer_info(user: User) -> OfficerInfo:
    return OfficerInfo(
        id=user.id, email=user.email, full_name=user.full_name, role=str(user.role),
        status=str(user.status), office_codes=tuple(sorted(o.code for o in user.offices)),
    )


def _load_application(session: Session, application_id: int) -> Application:
    app = session.scalars(
        select(Application)
        .options(
            selectinload(Application.goods),
            selectinload(Application.documents),
            selectinload(Application.cost_sheet).selectinload(CostSheet.materials),
            selectinload(Application.exporter),
            selectinload(Application.applicant),
            selectinload(Application.office),
            selectinload(Application.claimed_by),
        )
        .where(Application.id == application_id)
    ).first()
    if app is None:
        raise UserFacingError(f"Application #{application_id} is not in the store.")
    return app


def _in_lieu_difference(session: Session, app: Application) -> InLieuDifference:
    """The in-lieu application against the application of the certificate it replaces,
    as this desk's store holds it."""
    from app.models.legacy import is_legacy_certificate, is_migrated, legacy_refusal

    number = (app.original_certificate_number or "").strip()
    if not number:
        return not_compared("", "The application names no original certificate.")
    if is_legacy_certificate(number, app.original_certificate_date,
                             migrated=is_migrated(session, number)):
        return not_compared(number, legacy_refusal(number, app.number))
    original_id = session.scalar(select(Certificate.application_id)
                                 .where(Certificate.number == number))
    if original_id is None:
        return not_compared(number, (
            f"Certificate {number} is not in this desk's store: it was not issued by this "
            "agency, or by an office whose applications this desk does not hold."))
    original = _load_application(session, original_id)
    return compare(printed_certificate(original), printed_certificate(app), number)


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return f"{countries().get(code, code)} ({code})"


def _money(value: Decimal | None, currency: str = "") -> str:
    if value is None:
        return ""
    return f"{currency} {value:,.2f}".strip()


def _date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return local_time(value)
    return value.strftime("%d %b %Y")


def _qty(value: Decimal) -> str:
    text = f"{value:,.3f}".rstrip("0").rstrip(".")
    return text


def _detail(
    app: Application,
    history: list[AuditEvent],
    certificate: Certificate | None,
    actor: User | None,
    names: dict[int, str] | None = None,
) -> ApplicationDetail:
    exporter = app.exporter
    agreement = trade_agreements().get(app.agreement_code or "")
    query = _query_section(app, history, names or {})
    returned = app.status == ApplicationStatus.RETURNED
    waiting = (("Returned to the exporter on", _returned_on(app, history)
                + " — waiting on the exporter") if returned
               else ("Waiting since", _date(app.waiting_since)))
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        ("Application", [
            ("Number", app.number), ("Kind", ApplicationKind(app.kind).label),
            ("Status", ApplicationStatus(app.status).label), ("Office", f"{app.office.code} — {app.office.name}"),
            ("Submitted", _date(app.submitted_at)), waiting,
            ("Claimed by", app.claimed_by.full_name if app.claimed_by else "—"),
            ("Filed by", f"{app.applicant.full_name} <{app.applicant.email}>"),
        ]),
        ("1 · Exporter", [
            ("Name", exporter.name), ("IEC", exporter.iec), ("Address", exporter.address),
        ]),
        ("2 · Consignee", [
            ("Name", app.consignee_name), ("Address", app.consignee_address),
            ("Country", country_name(app.consignee_country)),
        ]),
        ("3 · Origin and destination", [
            ("Country of origin", country_name(app.origin_country)),
            ("Destination", country_name(app.destination_country)),
        ]),
        ("4 · Transport", [
            ("Mode", app.transport_mode), ("Vessel / flight", app.vessel_or_flight),
            ("Port of loading", app.port_of_loading), ("Port of discharge", app.port_of_discharge),
            ("Departure", _date(app.departure_date)),
        ]),
        ("Invoice and remarks", [
            ("Invoice", f"{app.invoice_number} of {_date(app.invoice_date)}"),
            ("FOB total", _money(app.total_fob, app.currency)),
            ("Remarks", app.remarks or "—"),
        ]),
    ]
    if query is not None:
        sections.insert(0, query)
    if agreement is not None:
        sections.insert(1 + (query is not None), ("Agreement", [
            ("Agreement", agreement.name), ("Form", agreement.form_name), ("General rule", agreement.rule),
        ]))
    if app.original_certificate_number:
        sections.append(("In lieu of", [
            ("Original certificate", app.original_certificate_number),
            ("Dated", _date(app.original_certificate_date)),
            ("Reason", app.in_lieu_reason or ""),
        ]))
    if app.foreign_certificate_number:
        sections.append(("Back-to-back: foreign certificate", [
            ("Foreign origin", country_name(app.foreign_origin_country)),
            ("Certificate", app.foreign_certificate_number),
            ("Issued in", country_name(app.foreign_certificate_country)),
            ("Issuer", app.foreign_certificate_issuer or ""),
            ("Dated", _date(app.foreign_certificate_date)),
        ]))
    decision: list[tuple[str, str]] = []
    if app.query_text and query is None:
        decision.append(("Query to exporter", app.query_text))
    if app.rejection_reason:
        decision.append(("Rejection reason", app.rejection_reason))
    if certificate is not None:
        decision += [("Certificate", certificate.number), ("Issued", _date(certificate.issued_at)),
                     ("Certificate status", str(certificate.status))]
        if certificate.superseded_by_number:
            decision.append(("Superseded by", certificate.superseded_by_number))
        if certificate.cancel_reason:
            decision.append(("Cancelled because", certificate.cancel_reason))
    if decision:
        sections.append(("Decision", decision))

    goods = [
        GoodsLineView(
            item_no=g.item_no, marks=g.marks, packages=f"{g.package_count} {g.package_kind}",
            description=g.description, hs_code=g.hs_code, quantity=f"{_qty(g.quantity)} {g.unit}",
            gross_weight=f"{_qty(g.gross_weight_kg)} kg", fob_value=_money(g.fob_value),
            origin_criterion=g.origin_criterion or "",
        )
        for g in app.goods
    ]
    sheet = app.cost_sheet
    cost_sheet: list[tuple[str, str]] = []
    materials: list[tuple[str, str, str, str, str, str]] = []
    if sheet is not None:
        rvc = sheet.regional_value_content()
        verdict = " (the exporter's figure; the origin check above decides)"
        cost_sheet = [
            ("Product HS code", sheet.product_hs_code),
            ("Method", sheet.method.replace("_", "-")),
            ("Non-originating materials", _money(sheet.non_originating_value)),
            ("Originating materials", _money(sheet.originating_value)),
            ("Labour", _money(sheet.labour)), ("Overheads", _money(sheet.overheads)),
            ("Profit", _money(sheet.profit)), ("Other costs", _money(sheet.other_costs)),
            ("Ex-works", _money(sheet.ex_works)), ("FOB", _money(sheet.fob)),
            ("Regional value content", f"{rvc}%{verdict}"),
        ]
        materials = [
            (m.description, m.hs_code, m.origin_country or "undetermined",
             "yes" if m.originating else "no", _money(m.value), m.evidence)
            for m in sheet.materials
        ]
    from app.services.documents import size_text

    documents = [
        (d.kind.replace("_", " ") if isinstance(d.kind, str) else str(d.kind), d.file_name,
         size_text(d.size_bytes), _date(d.uploaded_at))
        for d in app.documents
    ]
    entries = [
        HistoryEntry(
            at=e.at, actor=e.actor_label, action=e.action.split(".", 1)[-1],
            change=_override_change(e.after) if e.action == OVERRIDE_ACTION
            else _change(e.before, e.after), note=e.note,
            alert=e.action == OVERRIDE_ACTION,
        )
        for e in history
    ]
    review = review_application(app)
    allowed = frozenset(a.value for a in allowed_actions(app, actor)) if actor else frozenset()
    return ApplicationDetail(
        id=app.id, number=app.number, version=app.version, kind=str(app.kind),
        status=str(app.status), office_code=app.office.code, sections=sections, goods=goods,
        cost_sheet=cost_sheet, cost_materials=materials, documents=documents, history=entries,
        document_ids=tuple(d.id for d in app.documents),
        allowed=allowed, origin_lines=[_origin_line(c) for c in review.lines] if review else [],
        origin_failing=review.failing_text() if review else "",
    )


def _last_event(history: list[AuditEvent], action: str) -> AuditEvent | None:
    events = [e for e in history if e.action == f"application.{action}"]
    return events[-1] if events else None


def _who(label: str, actor_id: int | None = None, names: dict[int, str] | None = None) -> str:
    """Who an audit event names: the user's name when the store knows them, else the
    label's name part ("Name <e-mail>")."""
    if actor_id and names and actor_id in names:
        return names[actor_id]
    return label.split(" <", 1)[0].strip() or label


def _returned_on(app: Application, history: list[AuditEvent]) -> str:
    event = _last_event(history, Action.RETURN.value)
    return local_time(event.at) if event is not None else _date(app.decided_at) or "—"


def _query_section(
    app: Application, history: list[AuditEvent], names: dict[int, str]
) -> tuple[str, list[tuple[str, str]]] | None:
    """The officer's query to the exporter (a return for clarification) and what the
    exporter did about it, shown first on the Application tab while it matters: returned
    (open, waiting on the exporter), resubmitted or back under scrutiny after the answer.

    The exporter answers a query by resubmitting the corrected filing (the desk, the intake
    API's resubmission): no written reply is stored, so the reply shown is the resubmission
    itself, its time and who sent it."""
    asked = _last_event(history, Action.RETURN.value)
    text = app.query_text or (asked.note if asked is not None else "")
    S = ApplicationStatus
    if not text or app.status not in (S.RETURNED, S.RESUBMITTED, S.UNDER_SCRUTINY):
        return None
    if app.status == S.UNDER_SCRUTINY and (asked is None or _last_event(
            history, Action.RESUBMIT.value) is None):
        return None
    rows = [("Query", text)]
    if asked is not None:
        rows += [("Asked by", _who(asked.actor_label, asked.actor_id, names)), ("Asked on", local_time(asked.at))]
    answered = _last_event(history, Action.RESUBMIT.value)
    if answered is not None and (asked is None or (answered.at, answered.id or 0)
                                 >= (asked.at, asked.id or 0)):
        rows.append(("Exporter's reply", (
            f"Resubmitted the corrected application on {local_time(answered.at)} "
            f"({_who(answered.actor_label, answered.actor_id, names)}); no written reply is stored: the exporter "
            "answers a query by resubmitting")))
        return ("Query to the exporter — answered", rows)
    rows.append(("Exporter's reply", "None yet: the application is with the exporter, "
                                     "waiting on their corrected resubmission"))
    return ("Open query to the exporter", rows)


def _override_change(after: dict | None) -> str:
    lines = [str(line.get("item_no")) for line in (after or {}).get("lines", [])
             if isinstance(line, dict)]
    return f"criterion not met: line(s) {', '.join(lines)}" if lines else "criterion not met"


def _pct(value: Decimal) -> str:
    return f"{show(value)} %"


def _origin_line(check: LineCheck) -> OriginLineView:
    """Every step of a line's origin check, for the Cost sheet tab."""
    tested = "" if check.criterion == check.claimed else f" (tested as {check.criterion})"
    title = (f"Line {check.item_no} · {check.description} · HS {check.hs_code} · "
             f"claimed {check.claimed}{tested}")
    cur = check.currency
    steps: list[tuple[str, str]] = []
    if check.fob is not None:
        assert check.vnm is not None and check.vom is not None
        others = [check.labour, check.overheads, check.profit, check.other_costs]
        local = check.vom + sum((o or Decimal(0) for o in others), Decimal(0))
        steps += [
            ("FOB", _money(check.fob, cur)),
            ("Non-originating materials (VNM)", _money(check.vnm, cur)),
            ("Originating materials (VOM)", _money(check.vom, cur)),
            ("Labour", _money(check.labour, cur)), ("Overheads", _money(check.overheads, cur)),
            ("Profit", _money(check.profit, cur)), ("Other costs", _money(check.other_costs, cur)),
            ("VOM + labour + overheads + profit + other costs", _money(local, cur)),
        ]
    v = check.verdict
    if v is not None:
        level = LEVEL_NAMES[check.level] + ("" if check.level_required else
                                            " (not required by the rule; for information)")
        used = _pct(v.de_minimis_percent)
        allowed = "none" if check.de_minimis_allowed is None else f"{check.de_minimis_allowed} %"
        steps += [
            ("Build-down (FOB − VNM) / FOB × 100", _pct(v.build_down_percent)),
            ("Build-up (VOM + labour + overheads + profit + other costs) / FOB × 100",
             _pct(v.build_up_percent)),
            ("Non-originating share VNM / FOB × 100", _pct(v.non_originating_percent)),
            (f"Change of classification at the {level}",
             "yes" if v.classification_change else "no"),
            ("De minimis used / allowed", f"{used} / {allowed}"),
        ]
    steps.append(("Rule", check.rule_text or "none recorded"))
    if check.methods:
        steps.append(("Method and threshold", ", ".join(
            f"{m.replace('_', '-')} at least {t} %" for m, t in check.methods)))
    steps.append(("Criterion claimed", check.claimed + tested))
    verdict = ("met" if check.met else "not met") if v is not None else f"not checked: {check.problem}"
    steps.append(("Verdict", verdict))
    materials = [
        (m.description, m.origin, m.hs_code, "yes" if m.originating else "no",
         _money(m.value, cur),
         "—" if m.changes_classification is None else
         ("yes" if m.changes_classification else "no"))
        for m in check.materials
    ]
    return OriginLineView(check.item_no, title, check.met, verdict, steps, materials)


def _change(before: dict | None, after: dict | None) -> str:
    b = (before or {}).get("status")
    a = (after or {}).get("status")
    if b and a and a != b:
        return f"{b.replace('_', ' ')} → {a.replace('_', ' ')}"
    return (a or "").replace("_", " ")
