"""The migration of the legacy system's (eCoO 1.0) export: issued certificates and e-wallet
balances (``origin-desk import-legacy FILE``; the layout is ``docs/MIGRATION.md``).

One CSV file, a header row naming the columns (any order), then one record per row, its
kind in the column ``record``: ``certificate`` or ``balance``. Rows are read and checked
one by one; each bad row is reported with its line number and the reason and the good
ones are imported, in batches of :data:`BATCH_ROWS` rows, one transaction per batch
(certificates with one multi-row insert; the numbers already in the store looked up once
per batch). A second run of the same file changes nothing and says so: a certificate
already migrated, or an office whose e-wallet the legacy balance already opened (the
``top_up`` line ``LEGACY-OPENING``, credited once per office by the store's unique index),
counts as "already migrated".

Who: an administrator of the agency, into its own offices (``AgencyAdmin``); on
PostgreSQL through their own login, where row-level security and the trigger
``legacy_certificates_a_guard`` (revision 0013) refuse anyone else (``ODREF``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.errors import UserFacingError

BATCH_ROWS = 1000
OPENING_REFERENCE = "LEGACY-OPENING"
MAX_FILE_BYTES = 512 * 1024 * 1024
COLUMNS = ("record", "number", "agency", "office", "exporter_iec", "exporter_name",
           "consignee", "destination", "agreement", "form", "issued_on", "status",
           "superseded_by", "goods", "balance", "as_of")
REQUIRED = ("record", "number", "office", "exporter_iec", "exporter_name", "consignee",
            "destination", "issued_on", "status", "balance", "as_of")
STATUSES = ("valid", "cancelled", "superseded")
MAX_BALANCE = Decimal("10000000.00")  # a top-up's ceiling (revision 0009's MAX_TOP_UP)
_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/.\-]*$")
_IEC = re.compile(r"^[A-Z0-9]{10}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SURROGATE = re.compile("[\udc80-\udcff]")

Progress = Callable[[int, int], None]  # (rows done, rows in all)


class LegacyFileError(UserFacingError):
    """The file as a whole cannot be imported (missing, not CSV, no header, a missing
    column): one line, nothing imported."""


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    rows: int = 0
    new_certificates: int = 0
    already_certificates: int = 0
    new_balances: int = 0
    already_balances: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def new(self) -> int:
        return self.new_certificates + self.new_balances

    @property
    def already(self) -> int:
        return self.already_certificates + self.already_balances

    def summary(self) -> str:
        head = (f"{self.new} new, {self.already} already migrated "
                f"(certificates: {self.new_certificates} new, {self.already_certificates} "
                f"already; e-wallet balances: {self.new_balances} opened, "
                f"{self.already_balances} already); {len(self.rejected)} rows rejected.")
        return ("Nothing changed: " + head) if self.new == 0 else head

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "new": self.new, "already_migrated": self.already,
                "certificates": {"new": self.new_certificates,
                                 "already": self.already_certificates},
                "balances": {"new": self.new_balances, "already": self.already_balances},
                "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected]}


@dataclass(frozen=True)
class _Certificate:
    line: int
    values: dict[str, Any]


@dataclass(frozen=True)
class _Balance:
    line: int
    office_id: int
    office_code: str
    amount: Decimal
    as_of: dt.date


def parse_date(value: str) -> dt.date | None:
    """YYYY-MM-DD, or the legacy screens' DD-MM-YYYY / DD/MM/YYYY; None otherwise."""
    text = value.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return dt.date.fromisoformat(text)  # the usual form, quickly
        except ValueError:
            return None
    for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]], int]:
    """The header and (line number, fields) of each record, and the number of lines."""
    try:
        if path.is_dir():
            raise LegacyFileError(f"{path} is a folder, not a CSV file.")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LegacyFileError(f"{path} is {size / 1e6:.0f} MB; split it (at most "
                                  f"{MAX_FILE_BYTES // (1024 * 1024)} MB per file).")
        data = path.read_bytes()
    except OSError as exc:
        raise LegacyFileError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise LegacyFileError(f"{path} is empty: it has no header row.")
    if b"\x00" in data[:4096]:
        raise LegacyFileError(f"{path} is not a CSV text file (it holds NUL bytes; UTF-16 "
                              "or a spreadsheet?): export it as CSV in UTF-8.")
    textual = data.decode("utf-8", errors="surrogateescape")
    lines = textual.count("\n") + (0 if textual.endswith("\n") else 1)
    reader = csv.reader(io.StringIO(textual, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise LegacyFileError(f"{path}: line 1 (the header) is not CSV: {exc}.") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise LegacyFileError(f"{path}: the header row has no column {', '.join(missing)} "
                              f"(expected: {','.join(COLUMNS)}; see docs/MIGRATION.md).")

    def records() -> Iterator[tuple[int, list[str]]]:
        start = reader.line_num + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, [f"\x00csv: {exc}"]
                start = reader.line_num + 1
                continue
            yield start, fields
            start = reader.line_num + 1

    return names, records(), lines


class LegacyImport:
    """Imports the legacy export as one administrator (``AgencyAdmin``) of the store."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin

    def run(self, path: Path, progress: Progress | None = None) -> ImportReport:
        from app.models import Office

        path = Path(path)
        names, records, lines = _rows(path)
        with self.admin.sessions() as session:
            actor = self.admin._actor(session)  # refuses anyone but an active administrator
            self.actor_id, self.actor_label = actor.id, f"{actor.full_name} <{actor.email}>"
            agency = actor.agency
            self.agency_code = agency.code.upper()
            self.offices = {o.code.upper(): o.id for o in session.scalars(
                select(Office).where(Office.agency_id == agency.id))}
        report = ImportReport()
        seen: dict[str, int] = {}
        seen_offices: dict[str, int] = {}
        batch: list[tuple[int, list[str]]] = []
        total = max(lines - 1, 0)
        for line, fields in records:
            if not any(f.strip() for f in fields):
                continue  # a blank line
            batch.append((line, fields))
            if len(batch) >= BATCH_ROWS:
                self._batch(batch, names, report, seen, seen_offices)
                batch = []
                if progress:
                    progress(min(line - 1, total), total)  # the header is line 1
        if batch:
            self._batch(batch, names, report, seen, seen_offices)
        if progress:
            progress(total, total)
        report.rejected.sort(key=lambda r: r.line)
        return report

    # --- checking one row ------------------------------------------------------------------

    def _check(self, line: int, fields: list[str], names: list[str],
               seen: dict[str, int], seen_offices: dict[str, int]
               ) -> _Certificate | _Balance | str:
        if fields and fields[0].startswith("\x00csv: "):
            return f"not CSV ({fields[0].removeprefix(chr(0) + 'csv: ')})"
        if _SURROGATE.search("".join(fields)):
            return "not UTF-8 text (an encoding error): export the file in UTF-8"
        if len(fields) != len(names):
            return f"{len(fields)} fields where the header names {len(names)}"
        row = {n: f.strip() for n, f in zip(names, fields, strict=True)}
        kind = row["record"].lower()
        agency = row.get("agency", "").upper()
        if agency and agency != self.agency_code:
            return f"agency {agency!r} is not yours ({self.agency_code})"
        office = row["office"].upper()
        office_id = self.offices.get(office)
        if kind == "balance":
            return self._check_balance(line, row, office, office_id, seen_offices)
        if kind != "certificate":
            return f"unknown record {row['record']!r} (certificate or balance)"
        number = row["number"].upper()
        if not number or len(number) > 32 or not _NUMBER.match(number):
            return (f"malformed certificate number {row['number'][:40]!r} (1-32 letters, "
                    "digits and / - .)")
        if number in seen:
            return f"duplicate in the file: certificate {number} is on line {seen[number]} too"
        if office_id is None:
            return f"unknown office {row['office'][:20]!r} (not an office of {self.agency_code})"
        iec = row["exporter_iec"].upper()
        if not _IEC.match(iec):
            return f"malformed exporter IEC {row['exporter_iec'][:20]!r} (10 letters or digits)"
        for column, limit in (("exporter_name", 200), ("consignee", 200)):
            if not row[column]:
                return f"no {column.replace('_', ' ')}"
            if len(row[column]) > limit:
                return f"{column.replace('_', ' ')} longer than {limit} characters"
        for column in ("agreement", "form"):
            if len(row.get(column, "")) > 40:
                return f"{column} longer than 40 characters"
        if len(row.get("goods", "")) > 2000:
            return "goods longer than 2,000 characters"
        country = row["destination"].upper()
        if not _COUNTRY.match(country):
            return f"malformed destination country {row['destination'][:20]!r} (ISO 3166 " \
                   "alpha-2, e.g. AE)"
        issued = parse_date(row["issued_on"])
        if issued is None:
            return f"bad date {row['issued_on'][:20]!r} in issued_on (YYYY-MM-DD or DD-MM-YYYY)"
        if issued > dt.date.today():
            return f"issued_on {issued.isoformat()} is in the future"
        status = row["status"].lower()
        superseded_by = row.get("superseded_by", "").upper() or None
        if status not in STATUSES:
            return f"unknown status {row['status'][:20]!r} (valid, cancelled or superseded)"
        if status == "superseded":
            if superseded_by is None:
                return "status superseded without superseded_by (the replacing certificate)"
            if len(superseded_by) > 32 or not _NUMBER.match(superseded_by):
                return f"malformed superseded_by number {superseded_by[:40]!r}"
        elif superseded_by is not None:
            return f"superseded_by {superseded_by!r} given, but the status is {status}"
        seen[number] = line
        return _Certificate(line, {
            "number": number, "office_id": office_id, "exporter_iec": iec,
            "exporter_name": row["exporter_name"], "consignee_name": row["consignee"],
            "destination_country": country, "agreement": row.get("agreement", ""),
            "form": row.get("form", ""), "issued_on": issued, "status": status,
            "superseded_by": superseded_by, "goods_summary": row.get("goods", ""),
            "imported_by_id": self.actor_id})

    def _check_balance(self, line: int, row: dict[str, str], office: str,
                       office_id: int | None, seen_offices: dict[str, int]) -> _Balance | str:
        if office_id is None:
            return f"unknown office {row['office'][:20]!r} (not an office of {self.agency_code})"
        if office in seen_offices:
            return f"duplicate in the file: the balance of office {office} is on line " \
                   f"{seen_offices[office]} too"
        try:
            amount = Decimal(row["balance"].replace(",", ""))
        except InvalidOperation:
            return f"malformed balance {row['balance'][:20]!r} (rupees, e.g. 125000.00)"
        if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
            return f"malformed balance {row['balance'][:20]!r} (at most two decimals)"
        if amount < 0:
            return f"negative balance {row['balance']} for office {office}"
        if amount > MAX_BALANCE:
            return f"balance {row['balance']} of office {office} is above ₹1,00,00,000.00, " \
                   "what one opening line may credit"
        as_of = parse_date(row["as_of"])
        if as_of is None:
            return f"bad date {row['as_of'][:20]!r} in as_of (YYYY-MM-DD or DD-MM-YYYY)"
        seen_offices[office] = line
        return _Balance(line, office_id, office, amount.quantize(Decimal("0.01")), as_of)

    # --- one batch, one transaction -----------------------------------------------------

    def _batch(self, batch: list[tuple[int, list[str]]], names: list[str],
               report: ImportReport, seen: dict[str, int],
               seen_offices: dict[str, int]) -> None:
        report.rows += len(batch)
        certificates: list[_Certificate] = []
        balances: list[_Balance] = []
        for line, fields in batch:
            checked = self._check(line, fields, names, seen, seen_offices)
            if isinstance(checked, str):
                report.rejected.append(Rejected(line, checked))
            elif isinstance(checked, _Certificate):
                certificates.append(checked)
            else:
                balances.append(checked)
        if not certificates and not balances:
            return
        try:
            with self.admin.sessions() as session, session.begin():
                self._write(session, certificates, balances, report)
        except IntegrityError:  # another import wrote the same rows meanwhile
            raise UserFacingError(
                f"Another import of the same certificates or balances ran at the same time; "
                f"lines {batch[0][0]}-{batch[-1][0]} were not imported: run the import "
                "again (what is already migrated is skipped).") from None
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != "ODREF":
                raise
            message = getattr(getattr(exc.orig, "diag", None), "message_primary", None)
            raise UserFacingError(str(message or exc.orig).splitlines()[0]) from None

    def _write(self, session: Any, certificates: list[_Certificate],
               balances: list[_Balance], report: ImportReport) -> None:
        from app.models import (
            AuditEvent,
            Certificate,
            LegacyCertificate,
            WalletEntry,
            WalletEntryKind,
        )
        from app.models.base import utcnow

        numbers = [c.values["number"] for c in certificates]
        migrated = set(session.scalars(select(LegacyCertificate.number)
                                       .where(LegacyCertificate.number.in_(numbers))))
        ours = set(session.scalars(select(Certificate.number)
                                   .where(Certificate.number.in_(numbers))))
        now = utcnow()
        new = []
        for certificate in certificates:
            number = certificate.values["number"]
            if number in ours:
                report.rejected.append(Rejected(certificate.line, (
                    f"certificate {number} was issued by this store, not by the legacy "
                    "system")))
            elif number in migrated:
                report.already_certificates += 1
            else:
                new.append({**certificate.values, "imported_at": now})
        if new:  # a Core insert of the table: one executemany, no ORM bookkeeping
            session.execute(insert(LegacyCertificate.__table__), new)
            report.new_certificates += len(new)
        for balance in balances:
            opened = session.scalar(select(WalletEntry.id).where(
                WalletEntry.office_id == balance.office_id,
                WalletEntry.kind == WalletEntryKind.TOP_UP,
                WalletEntry.reference == OPENING_REFERENCE))
            if opened is not None or balance.amount == 0:
                report.already_balances += 1  # opened before, or nothing to open
                continue
            session.add(WalletEntry(office_id=balance.office_id, kind=WalletEntryKind.TOP_UP,
                                    amount=balance.amount, certificate_number=None,
                                    reference=OPENING_REFERENCE, at=now))
            session.flush()  # the ledger's trigger adds it to the office's balance
            session.add(AuditEvent(
                at=now, actor_id=self.actor_id, actor_label=self.actor_label,
                action="office.wallet_legacy_opening", entity_type="office",
                entity_id=balance.office_id, before=None,
                after={"amount": str(balance.amount), "as_of": balance.as_of.isoformat(),
                       "reference": OPENING_REFERENCE}))
            report.new_balances += 1
        if new:
            session.add(AuditEvent(
                at=now, actor_id=self.actor_id, actor_label=self.actor_label,
                action="legacy.import", entity_type="agency",
                entity_id=self.admin.agency_id, before=None,
                after={"certificates": len(new), "first": new[0]["number"],
                       "last": new[-1]["number"]}))
