"""The agency administrator's services: offices, payment settings, users, official e-mail
domains, stamps and signatures, and the audit log.

:class:`AgencyAdmin` is bound to one store and one signed-in administrator. Every method
opens its own short session (safe from worker threads), checks that the administrator is
still an active administrator and that the record belongs to the administrator's own
agency, changes it, and writes an :class:`~app.models.AuditEvent` with who, what, when and
the values before and after (the checksum key masked) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from app.errors import UserFacingError
from app.models import (
    Agency,
    Application,
    ApplicationStatus,
    AuditEvent,
    Office,
    Role,
    User,
    UserStatus,
)
from app.models.base import utcnow
from app.models.enums import Action
from app.models.workflow import perform
from app.services.admin_images import UploadTarget
from app.services.admin_rules import (
    AdminInputError,
    check_checksum_key,
    check_contact_email,
    check_contact_phone,
    check_domain_list,
    check_merchant_id,
    check_office_code,
    check_officer_email,
    check_overdue_limit,
    check_text,
    mask_secret,
)
from app.store.central import session_factory

if TYPE_CHECKING:
    from app.services.api_keys import ApiKeyAdmin

log = logging.getLogger(__name__)

MAX_INK_SIDE = 1600
"""A stored stamp or signature PNG is at most this many pixels on its long side."""
MAX_INK_PNG_BYTES = 4 * 1024 * 1024


class AdminError(UserFacingError):
    """An administrative action that is not allowed; the message says why."""


class OfficeFormError(AdminInputError):
    """One or more office fields are wrong; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        first = next(iter(errors))
        super().__init__(first, "\n".join(errors.values()))


# --- display data ------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgencyInfo:
    id: int
    code: str
    name: str
    email_domains: tuple[str, ...]


@dataclass(frozen=True)
class OfficeRow:
    id: int
    code: str
    name: str
    place: str
    address: str
    contact_email: str
    contact_phone: str
    ewallet_enabled: bool
    merchant_id: str
    checksum_key_hint: str  # masked: first 2 and last 2 characters
    has_stamp: bool
    officer_count: int
    overdue_limit_hours: int = 48  # waiting longer than this is overdue (revision 0012)


@dataclass(frozen=True)
class OfficeForm:
    """What the office dialog sends. ``checksum_key`` None keeps the stored key."""

    code: str
    name: str
    place: str
    address: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    ewallet_enabled: bool = True
    merchant_id: str = ""
    checksum_key: str | None = None
    overdue_limit_hours: int | str | None = None  # whole hours, 1 to 720; None: as it is
    # (a new office: 48)


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    full_name: str
    designation: str
    role: str
    status: str
    registered_at: dt.datetime
    office_ids: tuple[int, ...]
    office_codes: tuple[str, ...]
    has_signature: bool


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str

    @property
    def change(self) -> str:
        """'field: before → after' for each changed value, one per line."""
        return describe_change(self.before, self.after)


@dataclass(frozen=True)
class DeactivationResult:
    user: UserRow
    claims_released: tuple[str, ...]  # applications the officer held, back in the queue


# --- the service -------------------------------------------------------------------------------

class AgencyAdmin:
    """The administrative services for one signed-in administrator."""

    def __init__(self, engine: Engine, admin_id: int) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.admin_id = admin_id
        with self.sessions() as session:
            actor = self._actor(session)
            self.admin_label = _label(actor)
            self.agency_id = actor.agency_id

    @classmethod
    def for_email(cls, engine: Engine, email: str) -> AgencyAdmin:
        with session_factory(engine)() as session:
            user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
            if user is None:
                raise AdminError(f"No user with the e-mail address {email!r} in this store.")
            return cls(engine, user.id)

    # --- the agency ----------------------------------------------------------------------

    def dashboard(self) -> Any:
        """The agency's dashboard (every office, with the e-wallet balances), read from the
        central store as this administrator (app/services/dashboard.py)."""
        from app.services.dashboard import load_dashboard

        with self.sessions() as session:
            self._actor(session)  # still an active administrator
        return load_dashboard(self.engine, self.admin_id)

    def trade_events(self) -> Any:
        """The agency's trade events, written as this administrator."""
        from app.services.trade_events import TradeEventBook

        return TradeEventBook(self.engine, self.admin_id)

    def agency(self) -> AgencyInfo:
        with self.sessions() as session:
            agency = self._actor(session).agency
            return AgencyInfo(agency.id, agency.code, agency.name, tuple(agency.email_domains))

    def set_email_domains(self, domains: Sequence[str]) -> AgencyInfo:
        """Replace the agency's official e-mail domains (each checked; at least one)."""
        clean = check_domain_list(list(domains))
        with self.sessions() as session, session.begin():
            actor = self._actor(session)
            agency = actor.agency
            before = list(agency.email_domains)
            if before != clean:
                agency.email_domains = clean
                self._audit(session, actor, "agency.email_domains", "agency", agency.id,
                            {"email_domains": before}, {"email_domains": clean})
        return self.agency()

    # --- offices -------------------------------------------------------------------------

    def offices(self) -> list[OfficeRow]:
        with self.sessions() as session:
            self._actor(session)
            counts = dict(session.execute(
                select(Office.id, func.count(User.id))
                .join(Office.officers).where(User.status == UserStatus.ACTIVE)
                .group_by(Office.id)
            ).all())
            offices = session.scalars(
                select(Office).where(Office.agency_id == self.agency_id).order_by(Office.code)
            ).all()
            return [_office_row(o, counts.get(o.id, 0)) for o in offices]

    def office(self, office_id: int) -> OfficeRow:
        with self.sessions() as session:
            office = self._office(session, self._actor(session), office_id)
            count = sum(1 for u in office.officers if u.status == UserStatus.ACTIVE)
            return _office_row(office, count)

    def validate_office(self, form: OfficeForm, office_id: int | None = None) -> dict[str, str]:
        """Every problem of the form, by field (empty when it can be saved)."""
        errors: dict[str, str] = {}
        is_new = office_id is None
        checks: list[tuple[str, Any]] = [
            ("name", lambda: check_text(form.name, "name", "Office name", 200)),
            ("place", lambda: check_text(form.place, "place", "Place", 100)),
            ("address", lambda: check_text(form.address, "address", "Address", 500,
                                           required=False)),
            ("contact_email", lambda: check_contact_email(form.contact_email)),
            ("contact_phone", lambda: check_contact_phone(form.contact_phone)),
            ("merchant_id", lambda: check_merchant_id(form.merchant_id)),
        ]
        if form.overdue_limit_hours is not None:
            checks.append(("overdue_limit_hours",
                           lambda: check_overdue_limit(form.overdue_limit_hours or "")))
        if is_new:
            checks.insert(0, ("code", lambda: check_office_code(form.code)))
        if is_new or form.checksum_key is not None:
            checks.append(("checksum_key", lambda: check_checksum_key(form.checksum_key or "")))
        for field, check in checks:
            try:
                check()
            except AdminInputError as exc:
                errors[field] = str(exc)
        if is_new and "code" not in errors:
            with self.sessions() as session:
                taken = session.scalars(select(Office.id).where(
                    Office.agency_id == self.agency_id, Office.code == form.code)).first()
                if taken is not None:
                    errors["code"] = f"Office code {form.code} is already used by another office."
        return errors

    def add_office(self, form: OfficeForm) -> OfficeRow:
        errors = self.validate_office(form)
        if errors:
            raise OfficeFormError(errors)
        with self.sessions() as session, session.begin():
            actor = self._actor(session)
            office = Office(
                agency_id=actor.agency_id, code=form.code, name=form.name, place=form.place,
                address=form.address, contact_email=form.contact_email,
                contact_phone=form.contact_phone, ewallet_enabled=form.ewallet_enabled,
                merchant_id=form.merchant_id, checksum_key=form.checksum_key or "",
                overdue_limit_hours=check_overdue_limit(
                    48 if form.overdue_limit_hours is None else form.overdue_limit_hours),
            )
            session.add(office)
            session.flush()
            self._audit(session, actor, "office.add", "office", office.id, None,
                        _office_snapshot(office))
            office_id = office.id
        log.info("office %s added by %s", form.code, self.admin_label)
        return self.office(office_id)

    def edit_office(self, office_id: int, form: OfficeForm) -> OfficeRow:
        """Save the office's fields (the code stays: it is printed on issued certificates)."""
        errors = self.validate_office(form, office_id)
        if errors:
            raise OfficeFormError(errors)
        values = {f.name: getattr(form, f.name) for f in fields(OfficeForm)}
        values.pop("code")
        if form.overdue_limit_hours is None:
            values.pop("overdue_limit_hours")
        else:
            values["overdue_limit_hours"] = check_overdue_limit(form.overdue_limit_hours)
        if form.checksum_key is None:
            values.pop("checksum_key")
        self._change_office(office_id, values, "office.edit")
        return self.office(office_id)

    def set_ewallet(self, office_id: int, enabled: bool) -> OfficeRow:
        self._change_office(office_id, {"ewallet_enabled": bool(enabled)}, "office.ewallet")
        return self.office(office_id)

    def set_gateway(self, office_id: int, merchant_id: str, checksum_key: str) -> OfficeRow:
        """Store the payment gateway's Merchant ID and Checksum key exactly as issued."""
        check_merchant_id(merchant_id)
        check_checksum_key(checksum_key)
        self._change_office(office_id, {"merchant_id": merchant_id,
                                        "checksum_key": checksum_key}, "office.gateway")
        return self.office(office_id)

    def _change_office(self, office_id: int, values: dict[str, Any], action: str) -> None:
        with self.sessions() as session, session.begin():
            actor = self._actor(session)
            office = self._office(session, actor, office_id)
            # compare the raw values: two keys may mask alike
            changed = [k for k, v in values.items() if getattr(office, k) != v]
            if not changed:
                return
            before = _office_snapshot(office)
            for name in changed:
                setattr(office, name, values[name])
            after = _office_snapshot(office)
            self._audit(session, actor, action, "office", office.id,
                        {k: before[k] for k in changed}, {k: after[k] for k in changed},
                        note=office.code)
        log.info("%s on office #%s by %s", action, office_id, self.admin_label)

    # --- users ---------------------------------------------------------------------------

    def users(self, statuses: Iterable[str] | None = None) -> list[UserRow]:
        with self.sessions() as session:
            self._actor(session)
            statement = (select(User).options(selectinload(User.offices))
                         .where(User.agency_id == self.agency_id)
                         .order_by(User.role, User.full_name))
            if statuses is not None:
                statement = statement.where(User.status.in_([str(s) for s in statuses]))
            return [_user_row(u) for u in session.scalars(statement)]

    def pending_registrations(self) -> list[UserRow]:
        return self.users([UserStatus.PENDING])

    def user(self, user_id: int) -> UserRow:
        with self.sessions() as session:
            return _user_row(self._user(session, self._actor(session), user_id))

    def approve(self, user_id: int, office_ids: Sequence[int] = ()) -> UserRow:
        """Approve a pending registration (its address must still be official), optionally
        mapping the officer to offices in the same step."""
        with self.sessions() as session, session.begin():
            actor = self._actor(session)
            user = self._user(session, actor, user_id)
            if user.status != UserStatus.PENDING:
                raise AdminError(f"{user.full_name}'s registration is not pending (it is "
                                 f"{user.status}); only pending registrations are approved.")
            try:
                check_officer_email(user.email, list(user.agency.email_domains))
            except AdminInputError as exc:
                raise AdminError(f"Cannot approve {user.full_name}: {exc} Refuse the "
                                 "registration instead.") from None
            offices = self._offices(session, actor, office_ids)
            before = _user_snapshot(user)
            user.status = UserStatus.ACTIVE
            user.offices = offices
            self._audit(session, actor, "user.approve", "user", user.id, before,
                        _user_snapshot(user), note=user.email)
        return self.user(user_id)

    def refuse(self, user_id: int, reason: str = "") -> UserRow:
        with self.sessions() as session, session.begin():
            actor = self._actor(session)
            user = self._user(session, actor, user_id)
            if user.status != UserStatus.PENDING:
                raise AdminError(f"{user.full_name}'s registration is not pending (it is "
                                 f"{user.status}); only pending registrations are refused.")
            before = _user_snapshot(user)
            user.status = UserStatus.REFUSED
            self._audit(session, actor, "user.refuse", "user", user.id, before,
                        _user_snapshot(user), note=reason.strip())
        return self.user(user_id)

    def activate(self, user_id: int) -> UserRow:
        with self.sessions() as session, session.begin():
            actor = self._actor(session)
            user = self._user(session, actor, user_id)
            if user.status != UserStatus.DEACTIVATED:
                raise AdminError(f"{user.full_name} is {user.status}; only deactivated users are "
                                 "activated (approve or refuse a pending registration).")
            before = _user_snapshot(user)
            user.status = UserStatus.ACTIVE
            self._audit(session, actor, "user.activate", "user", user.id, before,
                        _user_snapshot(user), note=user.email)
        return self.user(user_id)

    def deactivate(self, user_id: int, reason: str = "") -> DeactivationResult:
        """Deactivate an active user: they can no longer sign in, claim or issue."""
        with self.sessions() as session, session.begin():
            actor = self._actor(session)
            user = self._user(session, actor, user_id)
            if user.id == actor.id:
                raise AdminError("You cannot deactivate your own account; ask another "
                                 "administrator of the agency.")
            if user.status != UserStatus.ACTIVE:
                raise AdminError(f"{user.full_name} is {user.status}; only active users are "
                                 "deactivated.")
            before = _user_snapshot(user)
            user.status = UserStatus.DEACTIVATED
            self._audit(session, actor, "user.deactivate", "user", user.id, before,
                        _user_snapshot(user), note=reason.strip())
            # their claims go back to the office's queue, through the workflow (audited)
            claimed = session.scalars(select(Application).where(
                Application.claimed_by_id == user.id,
                Application.status == ApplicationStatus.UNDER_SCRUTINY,
            ).order_by(Application.number)).all()
            for application in claimed:
                perform(session, application, Action.RELEASE, actor,
                        text=f"claim released: {user.full_name} was deactivated")
            released = tuple(a.number for a in claimed)
        return DeactivationResult(self.user(user_id), released)

    def set_officer_offices(self, user_id: int, office_ids: Sequence[int]) -> UserRow:
        """Map an officer to exactly these offices of the agency."""
        with self.sessions() as session, session.begin():
            actor = self._actor(session)
            user = self._user(session, actor, user_id)
            if user.role != Role.OFFICER:
                raise AdminError(f"{user.full_name} is an {user.role}; only issuing officers are "
                                 "mapped to offices.")
            offices = self._offices(session, actor, office_ids)
            before = _user_snapshot(user)
            if {o.id for o in user.offices} == {o.id for o in offices}:
                return _user_row(user)
            user.offices = offices
            after = _user_snapshot(user)
            self._audit(session, actor, "user.offices", "user", user.id,
                        {"offices": before["offices"]}, {"offices": after["offices"]},
                        note=user.email)
        return self.user(user_id)

    # --- stamps and signatures -----------------------------------------------------------

    def office_stamp(self, office_id: int) -> bytes | None:
        with self.sessions() as session:
            return self._office(session, self._actor(session), office_id).stamp_png

    def officer_signature(self, user_id: int) -> bytes | None:
        with self.sessions() as session:
            return self._user(session, self._actor(session), user_id).signature_png

    def set_office_stamp(self, office_id: int, png: bytes, source: str = "") -> OfficeRow:
        """Store a cleaned stamp: an RGBA PNG with a transparent background."""
        check_ink_png(png, "stamp")
        with self.sessions() as session, session.begin():
            actor = self._actor(session)
            office = self._office(session, actor, office_id)
            before = {"stamp": image_summary(office.stamp_png)}
            office.stamp_png = png
            self._audit(session, actor, "office.stamp", "office", office.id, before,
                        {"stamp": image_summary(png)}, note=_source_note(office.code, source))
        return self.office(office_id)

    def set_officer_signature(self, user_id: int, png: bytes, source: str = "") -> UserRow:
        check_ink_png(png, "signature")
        with self.sessions() as session, session.begin():
            actor = self._actor(session)
            user = self._user(session, actor, user_id)
            if user.role != Role.OFFICER:
                raise AdminError(f"{user.full_name} is not an issuing officer; only officers' "
                                 "signatures are printed on certificates.")
            before = {"signature": image_summary(user.signature_png)}
            user.signature_png = png
            self._audit(session, actor, "user.signature", "user", user.id, before,
                        {"signature": image_summary(png)}, note=_source_note(user.email, source))
        return self.user(user_id)

    def upload_target(self, kind: str, target_id: int) -> UploadTarget:
        """What the upload dialog shows about the office (stamp) or officer (signature)."""
        return upload_target(self, kind, target_id)

    # --- intake API keys ------------------------------------------------------------------

    def api_keys(self) -> ApiKeyAdmin:
        """The agency's intake API keys (``app.services.api_keys.ApiKeyAdmin``)."""
        from app.services.api_keys import ApiKeyAdmin

        return ApiKeyAdmin(self)

    # --- the audit log -------------------------------------------------------------------

    def audit_log(self, limit: int = 500, entity_types: Sequence[str] = (
            "office", "user", "agency", "api_key", "application")) -> list[AuditRow]:
        """The agency's administrative events, newest first (and the origin overrides of
        its offices' applications)."""
        from app.models.origin_review import OVERRIDE_ACTION
        from app.store.intake_tables import api_keys

        with self.sessions() as session:
            actor = self._actor(session)
            office_ids = select(Office.id).where(Office.agency_id == actor.agency_id)
            user_ids = select(User.id).where(User.agency_id == actor.agency_id)
            key_ids = select(api_keys.c.id).where(api_keys.c.office_id.in_(office_ids))
            events = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_type.in_(list(entity_types)))
                .where(
                    ((AuditEvent.entity_type == "office") & AuditEvent.entity_id.in_(office_ids))
                    | ((AuditEvent.entity_type == "user") & AuditEvent.entity_id.in_(user_ids))
                    | ((AuditEvent.entity_type == "agency")
                       & (AuditEvent.entity_id == actor.agency_id))
                    | ((AuditEvent.entity_type == "api_key") & AuditEvent.entity_id.in_(key_ids))
                    | ((AuditEvent.entity_type == "application")
                       & (AuditEvent.action == OVERRIDE_ACTION)
                       & AuditEvent.entity_id.in_(
                           select(Application.id).where(Application.office_id.in_(office_ids))))
                )
                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                .limit(limit)
            ).all()
            names = _entity_names(session, events)
            return [
                AuditRow(e.id, e.at, e.actor_label, e.action,
                         names.get((e.entity_type, e.entity_id), f"{e.entity_type} #{e.entity_id}"),
                         e.before, e.after, e.note)
                for e in events
            ]

    # --- internals -----------------------------------------------------------------------

    def _actor(self, session: Session) -> User:
        actor = session.get(User, self.admin_id)
        if actor is None:
            raise AdminError("Your account is no longer in the store; sign in again.")
        if actor.role != Role.ADMINISTRATOR:
            raise AdminError(f"{actor.full_name} is an {actor.role}, not an agency "
                             "administrator; administrative actions are refused.")
        if actor.status != UserStatus.ACTIVE:
            raise AdminError(f"{actor.full_name}'s account is {actor.status}; administrative "
                             "actions are refused.")
        return actor

    def _office(self, session: Session, actor: User, office_id: int) -> Office:
        office = session.get(Office, office_id)
        if office is None:
            raise AdminError(f"Office #{office_id} is not in the store.")
        if office.agency_id != actor.agency_id:
            raise AdminError(f"Office {office.code} belongs to another agency; administrators "
                             f"act only within their own agency ({actor.agency.code}).")
        return office

    def _offices(self, session: Session, actor: User, office_ids: Sequence[int]) -> list[Office]:
        return [self._office(session, actor, i) for i in dict.fromkeys(office_ids)]

    def _user(self, session: Session, actor: User, user_id: int) -> User:
        user = session.get(User, user_id)
        if user is None:
            raise AdminError(f"User #{user_id} is not in the store.")
        if user.agency_id != actor.agency_id:
            raise AdminError(f"{user.email} belongs to another agency; administrators act "
                             f"only within their own agency ({actor.agency.code}).")
        return user

    def _audit(self, session: Session, actor: User, action: str, entity_type: str,
               entity_id: int, before: dict[str, Any] | None, after: dict[str, Any] | None,
               note: str = "") -> None:
        session.add(AuditEvent(
            at=utcnow(), actor_id=actor.id, actor_label=_label(actor), action=action,
            entity_type=entity_type, entity_id=entity_id, before=before, after=after,
            note=note,
        ))


def register_officer(engine: Engine, agency_code: str, email: str, full_name: str,
                     designation: str = "Issuing Officer") -> UserRow:
    """An officer's registration request: pending until an administrator approves it.

    The address must be at one of the agency's official domains; personal mailboxes are
    refused with a message that says so."""
    check_text(full_name, "full_name", "Full name", 200)
    check_text(designation, "designation", "Designation", 100, required=False)
    with session_factory(engine)() as session, session.begin():
        agency = session.scalars(select(Agency).where(Agency.code == agency_code)).first()
        if agency is None:
            raise AdminError(f"No agency with the code {agency_code!r} in this store.")
        clean = check_officer_email(email, list(agency.email_domains))
        if session.scalars(select(User.id).where(User.email == clean)).first() is not None:
            raise AdminInputError("email", f"{clean} is already registered.")
        user = User(agency_id=agency.id, email=clean, full_name=full_name,
                    designation=designation, role=Role.OFFICER, status=UserStatus.PENDING,
                    registered_at=utcnow())
        session.add(user)
        session.flush()
        session.add(AuditEvent(
            at=utcnow(), actor_id=user.id, actor_label=f"{full_name} <{clean}>",
            action="user.register", entity_type="user", entity_id=user.id, before=None,
            after=_user_snapshot(user), note="registration request",
        ))
        return _user_row(user)


# --- images ------------------------------------------------------------------------------------

def check_ink_png(png: bytes, what: str) -> None:
    """A cleaned stamp or signature: a PNG, RGBA, bounded, with transparency and some ink."""
    if not png:
        raise AdminError(f"The {what} image is empty; nothing was stored.")
    if len(png) > MAX_INK_PNG_BYTES:
        raise AdminError(f"The {what} image is {len(png) / 1e6:.1f} MB; a cleaned image is at "
                         f"most {MAX_INK_PNG_BYTES // 2**20} MB. Clean it again.")
    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG":
                raise AdminError(f"The {what} image is {image.format}, not a PNG.")
            if image.mode != "RGBA":
                raise AdminError(f"The {what} image has no transparency ({image.mode}); store "
                                 "the cleaned image, which is RGBA.")
            if max(image.size) > MAX_INK_SIDE:
                raise AdminError(f"The {what} image is {image.width}×{image.height} pixels; at "
                                 f"most {MAX_INK_SIDE} on its long side.")
            low, high = image.getchannel("A").getextrema()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise AdminError(f"The {what} image is not a readable PNG ({exc}).") from None
    if high == 0:
        raise AdminError(f"The {what} image is fully transparent: it holds no ink.")
    if low == 255:
        raise AdminError(f"The {what} image has no transparent background; clean it first.")


def image_summary(png: bytes | None) -> dict[str, Any] | None:
    """What the audit log records of an image: its digest, size and dimensions."""
    if not png:
        return None
    try:
        with Image.open(io.BytesIO(png)) as image:
            size = list(image.size)
    except (UnidentifiedImageError, OSError):
        size = None
    return {"sha256": hashlib.sha256(png).hexdigest()[:16], "bytes": len(png), "pixels": size}


# --- helpers -----------------------------------------------------------------------------------

def _label(user: User) -> str:
    return f"{user.full_name} <{user.email}>"


def _source_note(owner: str, source: str) -> str:
    return f"{owner}: cleaned from {source}" if source else owner


def _office_snapshot(office: Office) -> dict[str, Any]:
    return {
        "code": office.code, "name": office.name, "place": office.place,
        "address": office.address, "contact_email": office.contact_email,
        "contact_phone": office.contact_phone, "ewallet_enabled": bool(office.ewallet_enabled),
        "merchant_id": office.merchant_id, "checksum_key": mask_secret(office.checksum_key),
        "overdue_limit_hours": office.overdue_limit_hours,
    }


def _office_row(office: Office, officer_count: int) -> OfficeRow:
    return OfficeRow(
        id=office.id, code=office.code, name=office.name, place=office.place,
        address=office.address, contact_email=office.contact_email,
        contact_phone=office.contact_phone, ewallet_enabled=bool(office.ewallet_enabled),
        merchant_id=office.merchant_id, checksum_key_hint=mask_secret(office.checksum_key),
        has_stamp=office.stamp_png is not None, officer_count=officer_count,
        overdue_limit_hours=int(office.overdue_limit_hours or 48),
    )


def _user_snapshot(user: User) -> dict[str, Any]:
    return {"status": str(user.status), "offices": sorted(o.code for o in user.offices)}


def _user_row(user: User) -> UserRow:
    offices = sorted(user.offices, key=lambda o: o.code)
    return UserRow(
        id=user.id, email=user.email, full_name=user.full_name, designation=user.designation,
        role=str(user.role), status=str(user.status), registered_at=user.registered_at,
        office_ids=tuple(o.id for o in offices), office_codes=tuple(o.code for o in offices),
        has_signature=user.signature_png is not None,
    )


def _entity_names(session: Session, events: Sequence[AuditEvent]) -> dict[tuple[str, int], str]:
    names: dict[tuple[str, int], str] = {}
    office_ids = {e.entity_id for e in events if e.entity_type == "office"}
    user_ids = {e.entity_id for e in events if e.entity_type == "user"}
    agency_ids = {e.entity_id for e in events if e.entity_type == "agency"}
    if office_ids:
        for oid, code, name in session.execute(
                select(Office.id, Office.code, Office.name).where(Office.id.in_(office_ids))):
            names[("office", oid)] = f"Office {code} — {name}"
    if user_ids:
        for uid, full_name, email in session.execute(
                select(User.id, User.full_name, User.email).where(User.id.in_(user_ids))):
            names[("user", uid)] = f"{full_name} <{email}>"
    if agency_ids:
        for aid, code in session.execute(
                select(Agency.id, Agency.code).where(Agency.id.in_(agency_ids))):
            names[("agency", aid)] = f"Agency {code}"
    key_ids = {e.entity_id for e in events if e.entity_type == "api_key"}
    if key_ids:
        from app.models import Exporter
        from app.store.intake_tables import api_keys

        for kid, prefix, iec in session.execute(
                select(api_keys.c.id, api_keys.c.prefix, Exporter.iec)
                .join(Exporter, Exporter.id == api_keys.c.exporter_id)
                .where(api_keys.c.id.in_(key_ids))):
            names[("api_key", kid)] = f"API key odk_{prefix}_… ({iec})"
    application_ids = {e.entity_id for e in events if e.entity_type == "application"}
    if application_ids:
        for app_id, number in session.execute(
                select(Application.id, Application.number)
                .where(Application.id.in_(application_ids))):
            names[("application", app_id)] = f"Application {number}"
    return names


def _value_text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict) and "sha256" in value:
        pixels = value.get("pixels")
        size = f"{pixels[0]}×{pixels[1]} px, " if pixels else ""
        return f"image {size}{value['bytes'] / 1024:,.0f} KB ({value['sha256'][:8]})"
    return str(value)


def describe_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """Before → after of each value, one line per field ('+' lines for a new record)."""
    before, after = before or {}, after or {}
    lines = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        label = key.replace("_", " ")
        if key not in before:
            lines.append(f"{label}: {_value_text(new)}")
        elif old != new:
            lines.append(f"{label}: {_value_text(old)} → {_value_text(new)}")
    return "\n".join(lines)


__all__ = [
    "AdminError", "AgencyAdmin", "AgencyInfo", "AuditRow", "DeactivationResult", "OfficeForm",
    "OfficeFormError", "OfficeRow", "UserRow", "check_ink_png", "describe_change",
    "image_summary", "register_officer", "upload_target",
]


def upload_target(admin: AgencyAdmin, kind: str, target_id: int) -> UploadTarget:
    """What the upload dialog needs about the office (stamp) or officer (signature)."""
    with admin.sessions() as session:
        actor = admin._actor(session)
        if kind == "stamp":
            office = admin._office(session, actor, target_id)
            signer = next((u for u in sorted(office.officers, key=lambda u: u.full_name)
                           if u.status == UserStatus.ACTIVE and u.signature_png), None)
            return UploadTarget(
                kind=kind, target_id=office.id, title=f"Stamp of office {office.code} — "
                f"{office.name}", office_code=office.code, office_name=office.name,
                place=office.place, officer_name=signer.full_name if signer else "",
                companion_png=signer.signature_png if signer else None,
                current_png=office.stamp_png)
        if kind == "signature":
            user = admin._user(session, actor, target_id)
            if user.role != Role.OFFICER:
                raise AdminError(f"{user.full_name} is not an issuing officer; only officers' "
                                 "signatures are printed on certificates.")
            office = min(user.offices, key=lambda o: o.code) if user.offices else None
            return UploadTarget(
                kind=kind, target_id=user.id, title=f"Signature of {user.full_name} "
                f"<{user.email}>", office_code=office.code if office else "",
                office_name=office.name if office else "", place=office.place if office else "",
                officer_name=user.full_name,
                companion_png=office.stamp_png if office else None,
                current_png=user.signature_png)
    raise ValueError(f"kind must be stamp or signature, not {kind!r}")
