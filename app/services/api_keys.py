"""API keys of the intake API: an agency administrator issues one per exporter (IEC) for
the exporter's system or its customs agent; the central service authenticates them.

A key reads ``odk_<prefix>_<secret>``: ``prefix`` (8 hexadecimal digits) names the key in
lists, logs and audit events; the secret (43 URL-safe characters, 256 random bits) is
shown once, when the key is issued, and never stored: the store keeps the SHA-256 of the
whole key. Applications filed with a key go to the office the key names (by default the
office of the administrator's agency that has handled most of the exporter's
applications). A revoked key stays listed and authenticates nothing. No key is ever
logged, printed in an error or kept in an audit event (only its prefix).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.errors import UserFacingError
from app.models import Application, Exporter, Office, User
from app.models.base import utcnow
from app.models.validation import InvalidValue, check_iec
from app.store.intake_tables import api_keys

if TYPE_CHECKING:
    from app.services.admin import AgencyAdmin

log = logging.getLogger(__name__)

KEY_PREFIX = "odk_"
_KEY = re.compile(r"odk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
MAX_LABEL = 100
TOUCH_EVERY = dt.timedelta(minutes=1)  # last_used_at is written at most this often


class ApiKeyRefused(UserFacingError):
    """The request's API key is missing, malformed, unknown or revoked (answered 401)."""


class ApiKeyError(UserFacingError):
    """An administrator's API key action that is not allowed; the message says why."""


@dataclass(frozen=True)
class ApiKeyRow:
    """One key as the administrator's list shows it (never the secret)."""

    id: int
    prefix: str
    iec: str
    exporter_name: str
    office_code: str
    label: str
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def shown(self) -> str:
        """How the key is named where it cannot be shown: ``odk_1a2b3c4d_…``."""
        return f"{KEY_PREFIX}{self.prefix}_…"


@dataclass(frozen=True)
class IssuedKey:
    """A key just issued: ``key`` is the only copy there will ever be."""

    row: ApiKeyRow
    key: str = field(repr=False)


@dataclass(frozen=True)
class KeyHolder:
    """Who a request's API key speaks for: the exporter, and the office it files with."""

    key_id: int
    prefix: str
    exporter_id: int
    iec: str
    exporter_name: str
    office_id: int


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh ``(prefix, key)``."""
    prefix = secrets.token_hex(4)
    return prefix, f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def key_prefix(presented: str) -> str | None:
    """The prefix of a well-formed key, None otherwise."""
    match = _KEY.fullmatch(presented.strip()) if isinstance(presented, str) else None
    return match.group(1) if match else None


# --- the service's side: who is asking ------------------------------------------------------

def authenticate(session: Session, presented: str | None, *,
                 now: dt.datetime | None = None) -> KeyHolder:
    """The holder of an active key, or ApiKeyRefused. Notes when the key was last used
    (the caller commits)."""
    if not presented or not presented.strip():
        raise ApiKeyRefused("This request carries no API key: send it as "
                            "'Authorization: Bearer odk_…' or 'X-API-Key: odk_…'.")
    prefix = key_prefix(presented)
    if prefix is None:
        raise ApiKeyRefused("The API key is not in the form odk_<prefix>_<secret>.")
    row = session.execute(
        select(api_keys.c.id, api_keys.c.key_sha256, api_keys.c.exporter_id,
               api_keys.c.office_id, api_keys.c.revoked_at, api_keys.c.last_used_at,
               Exporter.iec, Exporter.name)
        .join(Exporter, Exporter.id == api_keys.c.exporter_id)
        .where(api_keys.c.prefix == prefix)).first()
    if row is None or not hmac.compare_digest(row.key_sha256, key_digest(presented.strip())):
        raise ApiKeyRefused("The API key is not known here; ask the issuing agency for one.")
    if row.revoked_at is not None:
        raise ApiKeyRefused(f"API key {KEY_PREFIX}{prefix}_… was revoked; ask the issuing "
                            "agency for a new one.")
    now = now or utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        session.execute(update(api_keys).where(api_keys.c.id == row.id)
                        .values(last_used_at=now))
    return KeyHolder(key_id=row.id, prefix=prefix, exporter_id=row.exporter_id, iec=row.iec,
                     exporter_name=row.name, office_id=row.office_id)


# --- the administrator's side ---------------------------------------------------------------

class ApiKeyAdmin:
    """The intake API keys of one administrator's agency: list, issue, revoke."""

    def __init__(self, admin: AgencyAdmin) -> None:
        self.admin = admin

    def list_keys(self, *, include_revoked: bool = True) -> list[ApiKeyRow]:
        """The keys of the agency's offices, newest first."""
        with self.admin.sessions() as session:
            actor = self.admin._actor(session)
            query = _rows_query().where(Office.agency_id == actor.agency_id)
            if not include_revoked:
                query = query.where(api_keys.c.revoked_at.is_(None))
            return [_row(r) for r in session.execute(
                query.order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc()))]

    def default_office_code(self, iec: str) -> str | None:
        """The office of the agency that has handled most of the exporter's applications."""
        with self.admin.sessions() as session:
            actor = self.admin._actor(session)
            exporter = _exporter(session, iec)
            return _busiest_office(session, exporter.id, actor.agency_id)

    def issue(self, iec: str, *, label: str = "", office_code: str | None = None) -> IssuedKey:
        """A new key for the exporter with this IEC; the key is in the answer only."""
        label = " ".join(label.split())
        if len(label) > MAX_LABEL:
            raise ApiKeyError(f"The label has {len(label)} characters; at most {MAX_LABEL}.")
        with self.admin.sessions() as session, session.begin():
            actor = self.admin._actor(session)
            exporter = _exporter(session, iec)
            code = (office_code or "").strip().upper() or _busiest_office(
                session, exporter.id, actor.agency_id)
            if code is None:
                raise ApiKeyError(f"{exporter.name} ({exporter.iec}) has filed nothing with your "
                                  "agency yet: name the office its applications go to.")
            office = session.scalars(select(Office).where(
                Office.agency_id == actor.agency_id, Office.code == code)).first()
            if office is None:
                raise ApiKeyError(f"No office with the code {code!r} in your agency.")
            prefix, key = new_key()
            now = utcnow()
            key_id = session.execute(insert(api_keys).values(
                prefix=prefix, key_sha256=key_digest(key), exporter_id=exporter.id,
                office_id=office.id, label=label, created_by_id=actor.id, created_at=now,
                revoked_at=None, last_used_at=None)).inserted_primary_key[0]
            self.admin._audit(session, actor, "api_key.issue", "api_key", int(key_id), None,
                              {"prefix": prefix, "iec": exporter.iec, "office": office.code,
                               "label": label})
        log.info("API key %s… issued for IEC %s (office %s)", prefix, exporter.iec, code)
        return IssuedKey(self._one(prefix), key)

    def revoke(self, prefix: str) -> ApiKeyRow:
        """Revoke a key of the agency (by its prefix, with or without ``odk_``)."""
        wanted = prefix.strip().removeprefix(KEY_PREFIX).split("_")[0].lower()
        with self.admin.sessions() as session, session.begin():
            actor = self.admin._actor(session)
            row = session.execute(_rows_query().where(
                api_keys.c.prefix == wanted, Office.agency_id == actor.agency_id)).first()
            if row is None:
                raise ApiKeyError(f"No API key {wanted!r} among your agency's keys.")
            if row.revoked_at is not None:
                raise ApiKeyError(f"API key {KEY_PREFIX}{wanted}_… is already revoked.")
            session.execute(update(api_keys).where(api_keys.c.id == row.id)
                            .values(revoked_at=utcnow()))
            self.admin._audit(session, actor, "api_key.revoke", "api_key", row.id,
                              {"revoked": False}, {"revoked": True},
                              note=f"{KEY_PREFIX}{wanted}_… of IEC {row.iec}")
        log.info("API key %s… revoked", wanted)
        return self._one(wanted)

    def _one(self, prefix: str) -> ApiKeyRow:
        with self.admin.sessions() as session:
            return _row(session.execute(_rows_query().where(api_keys.c.prefix == prefix)).one())


def _rows_query():  # type: ignore[no-untyped-def]
    return (select(api_keys.c.id, api_keys.c.prefix, Exporter.iec, Exporter.name,
                   Office.code, api_keys.c.label, User.full_name, User.email,
                   api_keys.c.created_at, api_keys.c.revoked_at, api_keys.c.last_used_at)
            .join(Exporter, Exporter.id == api_keys.c.exporter_id)
            .join(Office, Office.id == api_keys.c.office_id)
            .join(User, User.id == api_keys.c.created_by_id))


def _row(r) -> ApiKeyRow:  # type: ignore[no-untyped-def]
    return ApiKeyRow(id=r.id, prefix=r.prefix, iec=r.iec, exporter_name=r.name,
                     office_code=r.code, label=r.label, created_by=f"{r.full_name} <{r.email}>",
                     created_at=r.created_at, revoked_at=r.revoked_at,
                     last_used_at=r.last_used_at)


def _exporter(session: Session, iec: str) -> Exporter:
    try:
        clean = check_iec(iec)
    except InvalidValue as exc:
        raise ApiKeyError(str(exc)) from None
    exporter = session.scalars(select(Exporter).where(Exporter.iec == clean)).first()
    if exporter is None:
        raise ApiKeyError(f"No exporter with IEC {clean} in the central store.")
    return exporter


def _busiest_office(session: Session, exporter_id: int, agency_id: int) -> str | None:
    return session.execute(
        select(Office.code).join(Application, Application.office_id == Office.id)
        .where(Application.exporter_id == exporter_id, Office.agency_id == agency_id)
        .group_by(Office.code).order_by(func.count().desc(), Office.code).limit(1)).scalar()


__all__ = ["ApiKeyAdmin", "ApiKeyError", "ApiKeyRefused", "ApiKeyRow", "IssuedKey",
           "KeyHolder", "authenticate", "key_digest", "key_prefix", "new_key"]
