"""Certificate numbers, allocated by the central store per agency and year.

The contract (docs/STORE.md) for the code that issues certificates:

    with session.begin():                      # the transaction that records the issue
        number = allocate_certificate_number(session, agency_id=..., application_id=...,
                                             year=2026)          # 'IGCC/2026/0000123'
        ... create the Certificate with this number, perform(ISSUE) ...
        confirm_certificate_number(session, number)              # reserved -> issued

- Unique system-wide (the ``number`` column is unique; the agency code is unique).
- No gaps: the serial comes from a counter row of (agency, year) that the transaction
  keeps locked until it ends; a rolled-back issue rolls the counter back too, so the serial
  is handed out again. Concurrent issues of one agency wait for each other at this step
  (keep the transaction short: sign before, or reserve in one transaction and confirm in
  another).
- A number that was reserved (committed) but not issued must be voided with a reason:
  ``void_certificate_number(session, number, reason)``. ``unexplained_gaps`` lists the
  serials that are neither issued nor voided, for an administrator's check.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import UserFacingError
from app.models.base import utcnow
from app.models.certificates import CertificateNumber
from app.models.organisation import Agency
from app.store.central_tables import certificate_number_counters as counters

MAX_REASON = 2000
_numbers = CertificateNumber.__table__


class CertificateNumberError(UserFacingError):
    """A certificate number cannot be allocated, confirmed or voided as asked."""


def format_certificate_number(agency_code: str, year: int, serial: int) -> str:
    return f"{agency_code}/{year}/{serial:07d}"


# statements built once (their SQL is compiled once and cached)
_BUMP = (
    update(counters)
    .where(counters.c.agency_id == bindparam("b_agency_id"), counters.c.year == bindparam("b_year"))
    .values(last_serial=counters.c.last_serial + 1)
    .returning(counters.c.last_serial)
)
_LIVE_NUMBER = select(_numbers.c.number).where(
    _numbers.c.application_id == bindparam("application_id"),
    _numbers.c.state.in_(("reserved", "issued")),
)
_INSERT_NUMBER = _numbers.insert()
_STATE_FOR_UPDATE = (
    select(_numbers.c.state).where(_numbers.c.number == bindparam("number")).with_for_update()
)

_CONFIRM = (
    update(_numbers)
    .where(_numbers.c.number == bindparam("b_number"), _numbers.c.state == "reserved")
    .values(state="issued")
)
_CONFIRM_FOR_APPLICATION = _CONFIRM.where(
    _numbers.c.application_id == bindparam("b_application_id")
)


def _next_serial(session: Session, agency_id: int, year: int) -> int:
    for _attempt in range(5):
        serial = session.execute(_BUMP, {"b_agency_id": agency_id, "b_year": year}).scalar()
        if serial is not None:
            return int(serial)
        # first number of this agency and year: continue after any numbers already recorded
        start = session.execute(
            select(func.coalesce(func.max(_numbers.c.serial), 0) + 1)
            .where(_numbers.c.agency_id == agency_id, _numbers.c.year == year)
        ).scalar_one()
        try:
            with session.begin_nested():
                session.execute(counters.insert().values(
                    agency_id=agency_id, year=year, last_serial=start))
            return int(start)
        except IntegrityError:
            continue  # another desk created the counter meanwhile: bump it instead
    raise CertificateNumberError("Could not allocate a certificate number; try again.")


def allocate_certificate_number(
    session: Session, *, agency_id: int, application_id: int, year: int,
    agency_code: str | None = None,
) -> str:
    """Reserve the agency's next number of ``year`` for the application; returns it.

    ``agency_code``: the agency's code when the caller already read it (a batch reads it
    once); otherwise it is read here.
    """
    if not 2000 <= year <= 2999:
        raise CertificateNumberError(f"Year {year} is not a valid certificate year.")
    code = agency_code or session.execute(
        select(Agency.code).where(Agency.id == agency_id)
    ).scalar()
    if code is None:
        raise CertificateNumberError(f"Agency #{agency_id} is not in the central store.")
    live = session.execute(_LIVE_NUMBER, {"application_id": application_id}).scalar()
    if live is not None:
        raise CertificateNumberError(
            f"Application #{application_id} already holds certificate number {live}; void it "
            "(with the reason) before allocating another."
        )
    serial = _next_serial(session, agency_id, year)
    number = format_certificate_number(code, year, serial)
    session.execute(_INSERT_NUMBER, {
        "number": number, "agency_id": agency_id, "year": year, "serial": serial,
        "application_id": application_id, "reserved_at": utcnow(), "state": "reserved",
    })
    return number


def _state(session: Session, number: str) -> str:
    state = session.execute(_STATE_FOR_UPDATE, {"number": number}).scalar()
    if state is None:
        raise CertificateNumberError(f"Certificate number {number} was never allocated.")
    return str(state)


def confirm_certificate_number(
    session: Session, number: str, *, application_id: int | None = None
) -> None:
    """Mark a reserved number as issued (in the transaction that records the issue).

    With ``application_id``, the number must be reserved for that application.
    """
    if application_id is None:
        done = session.execute(_CONFIRM, {"b_number": number})
    else:
        done = session.execute(_CONFIRM_FOR_APPLICATION,
                               {"b_number": number, "b_application_id": application_id})
    if done.rowcount == 1:
        return
    state = _state(session, number)  # why not: raise with what the row says
    if state != "reserved":
        raise CertificateNumberError(
            f"Certificate number {number} is {state}; only a reserved number can be issued."
        )
    raise CertificateNumberError(
        f"Certificate number {number} is reserved for another application, not "
        f"#{application_id}."
    )


def void_certificate_number(session: Session, number: str, reason: str) -> None:
    """Void a reserved number that will not be issued, with the reason (kept for audit)."""
    clean = (reason or "").strip()
    if not clean:
        raise CertificateNumberError(f"Say why certificate number {number} is voided.")
    if len(clean) > MAX_REASON:
        raise CertificateNumberError(
            f"The reason for voiding {number} has {len(clean)} characters; at most "
            f"{MAX_REASON} are allowed."
        )
    state = _state(session, number)
    if state == "issued":
        raise CertificateNumberError(
            f"Certificate number {number} is issued; an issued certificate is cancelled, "
            "not voided."
        )
    if state == "void":
        raise CertificateNumberError(f"Certificate number {number} is already void.")
    session.execute(
        update(_numbers).where(_numbers.c.number == number).values(state="void", void_reason=clean)
    )


def unexplained_gaps(session: Session, agency_id: int, year: int) -> list[int]:
    """Serials up to the counter that no number row accounts for (should be empty)."""
    last = session.execute(
        select(counters.c.last_serial).where(counters.c.agency_id == agency_id,
                                             counters.c.year == year)
    ).scalar()
    used = set(session.execute(
        select(_numbers.c.serial).where(_numbers.c.agency_id == agency_id, _numbers.c.year == year)
    ).scalars())
    top = max([last or 0, *used]) if used or last else 0
    return [serial for serial in range(1, top + 1) if serial not in used]


def stale_reservations(
    session: Session, agency_id: int, older_than: dt.timedelta = dt.timedelta(hours=1)
) -> list[str]:
    """Numbers reserved longer ago than ``older_than`` and neither issued nor voided."""
    cutoff = utcnow() - older_than
    return list(session.execute(
        select(_numbers.c.number).where(
            _numbers.c.agency_id == agency_id, _numbers.c.state == "reserved",
            _numbers.c.reserved_at < cutoff,
        ).order_by(_numbers.c.serial)
    ).scalars())
