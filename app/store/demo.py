"""The embedded demo: a SQLite central store seeded deterministically.

One agency with three offices, one administrator, six officers, sixty exporters with
several applicant users each, and 2,000 applications of all four kinds in every status,
with real HS codes, partner countries that fit each agreement, and cost sheets for the
preferential ones. The same ``seed`` and ``today`` always give the same rows (without ``today``, times are
anchored on the current hour, so that nothing lies in the future).

Rows go in through Core bulk inserts: the ORM's unit of work is several times slower for
tens of thousands of rows and nothing here needs identity tracking. The schema comes from
the Alembic migrations (``app.store.schema.upgrade``), like any central store's: rows go
into the initial revision's tables, then the later revisions add the change-sequence
triggers and take the seed's ``change_seq`` numbering up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import random
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from app.models import (
    Agency,
    Applicant,
    Application,
    ApplicationKind,
    ApplicationStatus,
    AuditEvent,
    Certificate,
    CertificateNumber,
    CertificateStatus,
    CostSheet,
    CostSheetMaterial,
    DocumentKind,
    Exporter,
    ExporterBranch,
    GoodsLine,
    GstRegistration,
    Office,
    Role,
    SupportingDocument,
    User,
    UserStatus,
    WalletEntry,
    WalletEntryKind,
    officer_offices,
)
from app.models.agreements import trade_agreements
from app.models.certificates import certificate_fee
from app.models.origin_review import OVERRIDE_ACTION
from app.models.validation import RESOURCES, gstin_check_character
from app.store.central import sqlite_engine
from app.store.schema import upgrade

log = logging.getLogger(__name__)

DEMO_SEED = 20241221
DEMO_APPLICATIONS = 2000
SEED_REVISION = "0001_initial"
AGENCY_CODE = "IGCC"
AGENCY_DOMAIN = "igcc.org.in"
OFFICES = (
    ("MUM", "Mumbai Regional Office", "Mumbai",
     "Indo-Gulf Chamber House, 4th Floor, Ballard Estate, Mumbai 400001"),
    ("DEL", "Northern Regional Office", "New Delhi",
     "Plot 12, Institutional Area, Lodhi Road, New Delhi 110003"),
    ("CHE", "Southern Regional Office", "Chennai",
     "No. 25, Rajaji Salai, Chennai 600001"),
)
# officer index -> office codes (one officer covers two offices)
OFFICER_OFFICES = (("MUM",), ("MUM", "DEL"), ("DEL",), ("DEL",), ("CHE",), ("CHE",))
KIND_WEIGHTS = {
    ApplicationKind.NON_PREFERENTIAL: 45,
    ApplicationKind.PREFERENTIAL: 38,
    ApplicationKind.IN_LIEU: 9,
    ApplicationKind.BACK_TO_BACK: 8,
}
S = ApplicationStatus
STATUS_WEIGHTS = {
    S.SUBMITTED: 22, S.UNDER_SCRUTINY: 8, S.RETURNED: 6, S.RESUBMITTED: 6, S.APPROVED: 12,
    S.ISSUED: 30, S.REJECTED: 6, S.SUPERSEDED: 5, S.CANCELLED: 5,
}
QUERIES = (
    "Please upload the signed commercial invoice; the copy attached is unsigned.",
    "Gross weight on the packing list differs from the application; please correct.",
    "Consignee address is incomplete: please give the city and postcode.",
    "Cost sheet shows materials of undetermined origin; please provide supplier declarations.",
    "HS code of item 2 does not match the description; please check the tariff line.",
)
REJECTIONS = (
    "Goods are not of Indian origin and no foreign certificate was produced.",
    "Duplicate application: a certificate was already issued for this invoice.",
    "Value content below the agreement's threshold according to the cost sheet.",
)
CANCELS = ("Shipment cancelled by the exporter.", "Issued against a wrong invoice.")
IN_LIEU_REASONS = (
    "Consignee name misspelt on the original certificate.",
    "Invoice date corrected after amendment of the invoice.",
    "Quantity in item 1 corrected to match the bill of lading.",
    "Original certificate lost in transit; replacement requested by the importer.",
)


# the office whose e-wallet holds too little for a preferential certificate (docs/WALLET.md)
SHORT_OFFICE = "CHE"
SHORT_BALANCE = Decimal("400.00")
# what an in-lieu application takes over from the original certificate's application
IN_LIEU_COPIED = (
    "exporter_id", "applicant_id", "consignee_country", "destination_country",
    "transport_mode", "vessel_or_flight", "port_of_loading",
    "port_of_discharge", "departure_date", "invoice_number", "invoice_date", "remarks",
    "declaration_place", "declaration_date", "currency",
)


def _correct_in_lieu(app: dict[str, Any], original: dict[str, Any]) -> None:
    """What the in-lieu reason says was wrong on the original, corrected."""
    reason = app["in_lieu_reason"]
    if reason.startswith("Consignee name"):
        app["consignee_name"] = f"{original['consignee_name']} LLC"
    elif reason.startswith("Invoice date"):
        app["invoice_date"] = original["invoice_date"] + dt.timedelta(days=1)
        app["declaration_date"] = app["invoice_date"]


def _corrected_goods(lines: list[dict[str, Any]], app: dict[str, Any]) -> list[dict[str, Any]]:
    """The original's goods lines for the in-lieu application (item 1's quantity corrected
    when that is the reason)."""
    copies = [dict(line, application_id=app["id"]) for line in lines]
    if app["in_lieu_reason"].startswith("Quantity in item 1") and copies:
        quantity = copies[0]["quantity"]
        copies[0]["quantity"] = (quantity * Decimal("1.02")).quantize(Decimal("0.001"))
    return copies


STD_CODES = {"MUM": 22, "DEL": 11, "CHE": 44}  # telephone trunk codes of the office cities


def _ports_for(ports: list[str], mode: str) -> list[str]:
    """Airports for air freight, sea and land ports otherwise (when the country has both)."""
    airports = [p for p in ports if "Airport" in p]
    others = [p for p in ports if "Airport" not in p]
    wanted = airports if mode == "air" else others
    return wanted or ports


def load_catalogue() -> dict[str, Any]:
    with (RESOURCES / "demo" / "catalogue.json").open(encoding="utf-8") as handle:
        return json.load(handle)


def create_demo_store(
    path: Path,
    *,
    today: dt.date | None = None,
    applications: int = DEMO_APPLICATIONS,
    progress: Callable[[str], None] | None = None,
) -> Engine:
    """Create (replacing any old file) and seed the demo central store at ``path``."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    tmp = path.with_suffix(".seeding")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    engine = sqlite_engine(tmp)
    # the same migrations as a PostgreSQL central store; rows go in before the change-sequence
    # triggers exist (the seed numbers change_seq itself, the later revision takes it up)
    upgrade(engine, SEED_REVISION)
    seed_demo(engine, today=today, applications=applications, progress=progress)
    upgrade(engine)
    from app.store.demo_foreign import seed_foreign_certificates

    seed_foreign_certificates(engine, today)  # revision 0010's tables: after the upgrade
    set_overdue_limits(engine)  # revision 0012's column
    engine.dispose()
    tmp.rename(path)  # a half-seeded store never takes the demo's name
    log.info("demo store created at %s with %d applications", path, applications)
    return sqlite_engine(path)


def seed_demo(
    engine: Engine,
    *,
    today: dt.date | None,
    applications: int = DEMO_APPLICATIONS,
    seed: int = DEMO_SEED,
    progress: Callable[[str], None] | None = None,
    short_office: str | None = SHORT_OFFICE,
) -> None:
    """``short_office``: the office whose e-wallet is left short (the embedded demo shows
    the refusal there); None: every office opens with ₹5,00,000.00 (seed_central)."""
    rows = DemoSeed(random.Random(seed), load_catalogue(), today,
                    short_office=short_office).build(applications)
    with engine.begin() as connection:
        for table, values in rows:
            if values:
                keys = {key for row in values for key in row}
                values = [{key: row.get(key) for key in keys} for row in values]
                if progress:
                    progress(f"{table.name}: {len(values)} rows")
                connection.execute(insert(table), values)


# each office's overdue limit (offices.overdue_limit_hours, revision 0012): Mumbai's port
# desk promises a decision within a day and a half
OVERDUE_LIMITS = {"MUM": 36, "DEL": 48, "CHE": 48}


def realistic_wait(drawn: dt.timedelta) -> dt.timedelta:
    """How long an application has waited on its office, from the seed's draw (20 minutes
    to 36 hours for seven in ten, up to 14 days for the rest), in the same order: three
    in four arrived in the last six hours, most others within a day and a half, one in
    fifty is days old (overdue)."""
    hours = drawn.total_seconds() / 3600
    low, mid, high = 1 / 3, 36.0, 14 * 24.0
    if hours <= mid:  # the draw's quantile
        q = 0.7 * (max(hours, low) - low) / (mid - low)
    else:
        q = 0.7 + 0.3 * (min(hours, high) - mid) / (high - mid)
    if q < 0.75:
        wait = 1 / 6 + q / 0.75 * (6 - 1 / 6)
    elif q < 0.98:
        wait = 6 + (q - 0.75) / 0.23 * 30
    else:
        wait = 50 + (q - 0.98) / 0.02 * (6 * 24 - 50)
    return dt.timedelta(minutes=round(wait * 60))


def set_overdue_limits(engine: Engine) -> None:
    """The demo offices' limits (after revision 0012 gave offices the column)."""
    from sqlalchemy import text

    with engine.begin() as connection:
        for code, hours in OVERDUE_LIMITS.items():
            connection.execute(text("UPDATE offices SET overdue_limit_hours = :h "
                                    "WHERE code = :c"), {"h": hours, "c": code})


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class DemoSeed:
    """Builds the demo's rows as plain dicts, table by table, in insertion order."""

    def __init__(
        self, rng: random.Random, catalogue: dict[str, Any], today: dt.date | None,
        short_office: str | None = SHORT_OFFICE,
    ) -> None:
        self.short_office = short_office
        self.rng = rng
        self.cat = catalogue
        if today is None:  # anchored on this hour: nothing in the demo lies in the future
            self.now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        else:  # a fixed day gives the same rows every time
            self.now = dt.datetime.combine(today, dt.time(10, 0), tzinfo=dt.UTC)
        self.today = self.now.date()
        self.seq = 0
        self.papers: Any = None  # the demo's document maker, made on first use

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def build(self, count: int) -> list[tuple[Any, list[dict[str, Any]]]]:
        rng, cat = self.rng, self.cat
        agencies = [{"id": 1, "code": AGENCY_CODE, "name": "Indo-Gulf Chamber of Commerce",
                     "email_domains": [AGENCY_DOMAIN, "mail." + AGENCY_DOMAIN]}]
        offices = [
            {"id": i, "agency_id": 1, "code": code, "name": name, "place": place,
             "address": address, "contact_email": f"{code.lower()}@{AGENCY_DOMAIN}",
             "contact_phone": f"+91 {STD_CODES[code]} {rng.randint(2000_0000, 2999_9999)}",
             "ewallet_enabled": True, "merchant_id": f"IGCC{code}{rng.randint(100000, 999999)}",
             "checksum_key": "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", k=32))}
            for i, (code, name, place, address) in enumerate(OFFICES, start=1)
        ]
        office_ids = {o["code"]: o["id"] for o in offices}
        users = [{"id": 1, "agency_id": 1, "email": f"admin@{AGENCY_DOMAIN}",
                  "full_name": cat["administrator_name"], "designation": "Agency Administrator",
                  "role": Role.ADMINISTRATOR, "status": UserStatus.ACTIVE,
                  "registered_at": self.now - dt.timedelta(days=400)}]
        mappings = []
        officers_by_office: dict[str, list[int]] = {code: [] for code, *_ in OFFICES}
        for i, name in enumerate(cat["officer_names"]):
            user_id = i + 2
            first, last = name.lower().split()
            users.append({"id": user_id, "agency_id": 1, "email": f"{first}.{last}@{AGENCY_DOMAIN}",
                          "full_name": name, "designation": "Issuing Officer",
                          "role": Role.OFFICER, "status": UserStatus.ACTIVE,
                          "registered_at": self.now - dt.timedelta(days=300 - i * 20)})
            for code in OFFICER_OFFICES[i]:
                mappings.append({"user_id": user_id, "office_id": office_ids[code]})
                officers_by_office[code].append(user_id)
        # one registration waiting for the administrator
        users.append({"id": len(users) + 1, "agency_id": 1,
                      "email": f"tarun.bose@{AGENCY_DOMAIN}", "full_name": "Tarun Bose",
                      "designation": "Issuing Officer", "role": Role.OFFICER,
                      "status": UserStatus.PENDING, "registered_at": self.now - dt.timedelta(days=1)})

        exporters, gst, branches, applicants = self._exporters()
        apps, goods, sheets, materials, docs, certs, numbers, wallet, audit = (
            self._applications(count, exporters, applicants, officers_by_office, office_ids)
        )
        wallet = [
            {"office_id": o["id"], "kind": WalletEntryKind.TOP_UP,
             "amount": self._opening_top_up(o, wallet),
             "reference": f"NEFT/{rng.randint(10**9, 10**10 - 1)}",
             "at": self.now - dt.timedelta(days=30)}
            for o in offices
        ] + wallet
        return [
            (Agency.__table__, agencies), (Office.__table__, offices), (User.__table__, users),
            (officer_offices, mappings), (Exporter.__table__, exporters),
            (GstRegistration.__table__, gst), (ExporterBranch.__table__, branches),
            (Applicant.__table__, applicants), (Application.__table__, apps),
            (GoodsLine.__table__, goods), (CostSheet.__table__, sheets),
            (CostSheetMaterial.__table__, materials), (SupportingDocument.__table__, docs),
            (CertificateNumber.__table__, numbers), (Certificate.__table__, certs),
            (WalletEntry.__table__, wallet), (AuditEvent.__table__, audit),
        ]

    def _opening_top_up(self, office: dict[str, Any], fees: list[dict[str, Any]]) -> Decimal:
        """Each office's opening top-up: ₹5,00,000.00, except the short office's, which
        leaves SHORT_BALANCE after its seeded fees (less than a preferential certificate's
        fee: the demo shows the refusal before the PIN; docs/WALLET.md)."""
        if office["code"] != self.short_office:
            return Decimal("500000.00")
        debited = sum((-f["amount"] for f in fees if f["office_id"] == office["id"]),
                      Decimal("0.00"))
        return debited + SHORT_BALANCE

    def _exporters(self) -> tuple[list[dict[str, Any]], ...]:
        rng, cat = self.rng, self.cat
        words = cat["exporter_words"]
        exporters, gst, branches, applicants = [], [], [], []
        used_names: set[str] = set()
        used_pans: set[str] = set()
        for i in range(1, 61):
            while True:
                name = f"{rng.choice(words['first'])} {rng.choice(words['second'])} {rng.choice(words['suffix'])}"
                if name not in used_names:
                    used_names.add(name)
                    break
            while True:
                pan = ("".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=3)) + rng.choice("CF")
                       + name[0] + f"{rng.randint(1000, 9999)}" + rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
                if pan not in used_pans:
                    used_pans.add(pan)
                    break
            city = cat["cities"][(i - 1) % len(cat["cities"])]
            street = rng.choice(cat["streets"])
            address = f"{street} {rng.randint(1, 240)}, {city['city']}, {city['state']} {city['pin']}, India"
            slug = "".join(ch for ch in name.split()[0].lower() if ch.isalpha())
            exporters.append({"id": i, "iec": pan, "name": name, "address": address,
                              "state": city["state"], "email": f"exports@{slug}{i}.co.in"})
            first14 = city["gst"] + pan + "1Z"
            gst.append({"exporter_id": i, "gstin": first14 + gstin_check_character(first14),
                        "state": city["state"]})
            if rng.random() < 0.3:
                other = rng.choice(cat["cities"])
                if other["gst"] != city["gst"]:
                    first14 = other["gst"] + pan + "2Z"
                    gst.append({"exporter_id": i, "gstin": first14 + gstin_check_character(first14),
                                "state": other["state"]})
                    branches.append({"exporter_id": i, "name": f"{other['city']} branch",
                                     "address": f"{rng.choice(cat['streets'])} {rng.randint(1, 99)}, {other['city']}, {other['state']} {other['pin']}, India"})
            for k in range(rng.randint(2, 4)):
                first = rng.choice(cat["applicant_first_names"])
                last = rng.choice(cat["applicant_last_names"])
                applicants.append({"id": len(applicants) + 1, "exporter_id": i,
                                   "full_name": f"{first} {last}",
                                   "email": f"{first.lower()}.{last.lower()}{k}@{slug}{i}.co.in",
                                   "phone": f"+91 9{rng.randint(100000000, 999999999)}"})
        return exporters, gst, branches, applicants

    def _applications(self, count, exporters, applicants, officers_by_office, office_ids):  # type: ignore[no-untyped-def]
        rng, cat = self.rng, self.cat
        agreements = list(trade_agreements().values())
        apps: list[dict[str, Any]] = []
        goods: list[dict[str, Any]] = []
        sheets: list[dict[str, Any]] = []
        materials: list[dict[str, Any]] = []
        docs: list[dict[str, Any]] = []
        certs: list[dict[str, Any]] = []
        numbers: list[dict[str, Any]] = []
        wallet: list[dict[str, Any]] = []
        audit: list[dict[str, Any]] = []
        applicants_by_exporter: dict[int, list[dict[str, Any]]] = {}
        for a in applicants:
            applicants_by_exporter.setdefault(a["exporter_id"], []).append(a)
        exporter_office = {e["id"]: cat["cities"][(e["id"] - 1) % len(cat["cities"])]["office"]
                           for e in exporters}
        kinds = list(KIND_WEIGHTS)
        statuses = list(STATUS_WEIGHTS)
        superseded_pool: list[dict[str, Any]] = []
        serial = 0
        year = self.today.year
        # Build in two passes so that in-lieu applications can point at superseded originals.
        plan = [rng.choices(kinds, weights=list(KIND_WEIGHTS.values()))[0] for _ in range(count)]
        order = sorted(range(count), key=lambda i: plan[i] == ApplicationKind.IN_LIEU)
        for position, index in enumerate(order):
            app_id = index + 1
            kind = plan[index]
            exporter = exporters[rng.randrange(len(exporters))]
            office_code = exporter_office[exporter["id"]]
            if rng.random() < 0.15:
                office_code = rng.choice(list(office_ids))
            status = rng.choices(statuses, weights=list(STATUS_WEIGHTS.values()))[0]
            if kind == ApplicationKind.IN_LIEU and status == S.SUPERSEDED:
                status = S.ISSUED
            agreement = None
            if kind == ApplicationKind.PREFERENTIAL:
                agreement = rng.choice(agreements)
                destination = rng.choice(agreement.partners)
            else:
                destination = rng.choice(cat["nonpreferential_destinations"])
            original = None
            if kind == ApplicationKind.IN_LIEU:
                if not superseded_pool:
                    kind = ApplicationKind.NON_PREFERENTIAL
                else:
                    original = superseded_pool.pop(rng.randrange(len(superseded_pool)))
                    destination = original["app"]["destination_country"]
                    agreement = trade_agreements().get(original["app"]["agreement_code"] or "")
            dest = cat["destinations"][destination]
            # most applications arrived in the last day and a half; a tail waits longer
            recent = rng.random() < 0.7
            submitted = self.now - dt.timedelta(
                minutes=rng.randint(20, 36 * 60) if recent else rng.randint(36 * 60, 14 * 24 * 60)
            )
            # realistic times (issue 13): those waiting on the office mostly a few hours, a
            # handful past their office's limit (the drawn wait mapped onto that, in the
            # same order); decided ones over the last month (a generator of the
            # application's own: the seed's other draws stay as they were)
            if status in (S.SUBMITTED, S.UNDER_SCRUTINY, S.APPROVED):
                submitted = self.now - realistic_wait(self.now - submitted)
            elif status != S.RESUBMITTED:
                pace = random.Random(app_id * 1_000_003 + 7)
                submitted = self.now - dt.timedelta(minutes=pace.randint(60, 29 * 24 * 60))
            mode = rng.choices(["sea", "air", "road"], weights=[70, 25, 5])[0]
            loading_options = cat["ports_of_loading"][office_code]
            if mode not in loading_options:
                mode = "sea"
            consignee_words = cat["consignee_words"]
            consignee = f"{rng.choice(consignee_words['first'])} {rng.choice(consignee_words['second'])}"
            city = rng.choice(dest["cities"])
            invoice_date = (submitted - dt.timedelta(days=rng.randint(1, 10))).date()
            app = {
                "id": app_id,
                "number": f"APP-{year}-{app_id:06d}",
                "kind": kind,
                "status": status,
                "office_id": office_ids[office_code],
                "exporter_id": exporter["id"],
                "applicant_id": rng.choice(applicants_by_exporter[exporter["id"]])["id"],
                "agreement_code": agreement.code if agreement else None,
                "form_code": agreement.form if agreement else "NONPREF",
                "consignee_name": consignee,
                "consignee_address": f"{rng.randint(1, 400)} {rng.choice(['Harbour Road', 'Trade Centre', 'Industrial Zone', 'Market Street', 'Free Zone Block'])}, {city}",
                "consignee_country": destination,
                "destination_country": destination,
                "origin_country": "IN",
                "transport_mode": mode,
                "vessel_or_flight": (f"MV {rng.choice(['MSC Aurora', 'Maersk Kensington', 'CMA CGM Tigris', 'Ever Given', 'ONE Harmony'])} V.{rng.randint(100, 999)}{rng.choice('EWNS')}"
                                     if mode == "sea" else f"{rng.choice(['EK', 'AI', 'SQ', 'EY', 'LH'])} {rng.randint(100, 999)}" if mode == "air" else "Truck"),
                "port_of_loading": rng.choice(loading_options[mode]),
                "port_of_discharge": rng.choice(_ports_for(dest["ports"], mode)),
                "departure_date": (submitted + dt.timedelta(days=rng.randint(1, 12))).date(),
                "invoice_number": f"{exporter['name'][:3].upper()}/{year % 100}-{(year + 1) % 100}/{rng.randint(1, 4999):04d}",
                "invoice_date": invoice_date,
                "remarks": rng.choice(["", "", "", "Letter of credit No. LC/" + str(rng.randint(10000, 99999)),
                                       "Shipment under Advance Authorisation No. " + str(rng.randint(10**9, 10**10 - 1))]),
                "declaration_place": exporter["address"].split(", ")[-3] if ", " in exporter["address"] else "",
                "declaration_date": invoice_date,
                "submitted_at": submitted,
                "waiting_since": submitted,
                "version": 1,
                "currency": "USD",
            }
            if original is not None:
                app.update({
                    "original_certificate_number": original["number"],
                    "original_certificate_date": original["issued_at"].date(),
                    "in_lieu_reason": rng.choice(IN_LIEU_REASONS),
                    "consignee_name": original["app"]["consignee_name"],
                    "consignee_address": original["app"]["consignee_address"],
                })
                # the exporter's own certificate, reprinted with what the reason corrects
                # (no random draws: the rest of the demo stays as it was)
                app.update({key: original["app"][key] for key in IN_LIEU_COPIED})
                _correct_in_lieu(app, original["app"])
            if kind == ApplicationKind.BACK_TO_BACK:
                foreign = rng.choice(cat["foreign_origins"])
                app.update({
                    "origin_country": foreign["country"],
                    "foreign_origin_country": foreign["country"],
                    "foreign_certificate_number": f"{foreign['country']}{year}{rng.randint(10**7, 10**8 - 1)}",
                    "foreign_certificate_country": foreign["country"],
                    "foreign_certificate_issuer": foreign["issuer"],
                    "foreign_certificate_date": invoice_date - dt.timedelta(days=rng.randint(20, 90)),
                    "remarks": rng.choice(["Transshipment via Indian port; goods not of Indian origin.",
                                           "Merchanting trade: goods re-exported in original packing."]),
                })
            lines = self._goods_lines(app, kind, agreement)
            if original is not None:
                lines = _corrected_goods(original["lines"], app)
            goods.extend(lines)
            app["hs_codes"] = " ".join(dict.fromkeys(line["hs_code"] for line in lines))
            app["total_fob"] = sum((line["fob_value"] for line in lines), Decimal("0"))
            override = None  # (figures, reason) when approving it needed an origin override
            if kind == ApplicationKind.PREFERENTIAL or (original and agreement):
                sheet_id = len(sheets) + 1
                sheet, mats = self._cost_sheet(sheet_id, app_id, lines, agreement)
                sheets.append(sheet)
                materials.extend(mats)
                if kind == ApplicationKind.PREFERENTIAL:
                    override = _origin_override(app, lines, sheet, mats, agreement)
            docs.extend(self._documents(app_id, kind, submitted, app, lines, exporter,
                                        office_code))
            # history: what happened to the application so far
            officer_id = rng.choice(officers_by_office[office_code])
            audit.extend(self._history(app, status, officer_id, submitted, override))
            if status in (S.UNDER_SCRUTINY, S.APPROVED):
                app["claimed_by_id"] = officer_id
                app["claimed_at"] = submitted + dt.timedelta(hours=1)
            if status == S.RETURNED:
                app["query_text"] = rng.choice(QUERIES)
            if status == S.RESUBMITTED:
                app["query_text"] = rng.choice(QUERIES)
                app["waiting_since"] = submitted + dt.timedelta(hours=rng.randint(3, 48))
                if app["waiting_since"] > self.now:
                    app["waiting_since"] = self.now - dt.timedelta(minutes=5)
                # the exporter's answer came a realistic while ago (never before submission:
                # realistic_wait is never longer than the draw)
                app["waiting_since"] = self.now - realistic_wait(self.now - app["waiting_since"])
            if status == S.REJECTED:
                app["rejection_reason"] = rng.choice(REJECTIONS)
            if status in (S.ISSUED, S.SUPERSEDED, S.CANCELLED):
                serial += 1
                number = f"{AGENCY_CODE}/{year}/{serial:07d}"
                issued_at = submitted + dt.timedelta(hours=rng.randint(2, 30))
                if issued_at > self.now:
                    issued_at = self.now - dt.timedelta(minutes=1)
                app["decided_at"] = issued_at
                numbers.append({"number": number, "agency_id": 1, "year": year, "serial": serial,
                                "application_id": app_id, "reserved_at": issued_at,
                                "state": "issued"})
                cert = {"number": number, "application_id": app_id, "office_id": app["office_id"],
                        "issued_by_id": officer_id, "issued_at": issued_at,
                        "status": {S.ISSUED: CertificateStatus.VALID,
                                   S.SUPERSEDED: CertificateStatus.SUPERSEDED,
                                   S.CANCELLED: CertificateStatus.CANCELLED}[status],
                        "cancel_reason": rng.choice(CANCELS) if status == S.CANCELLED else None,
                        "superseded_by_number": None}
                certs.append(cert)
                wallet.append({"office_id": app["office_id"], "kind": WalletEntryKind.FEE,
                               "amount": -certificate_fee(kind == ApplicationKind.PREFERENTIAL),
                               "certificate_number": number, "reference": app["number"],
                               "at": issued_at})
                if status == S.SUPERSEDED:
                    superseded_pool.append({"number": number, "issued_at": issued_at,
                                            "app": app, "cert": cert, "lines": lines})
                if original is not None and status in (S.ISSUED, S.CANCELLED):
                    original["cert"]["superseded_by_number"] = number
            if original is not None and status not in (S.ISSUED, S.CANCELLED):
                # not issued yet: the original still stands (issued, its certificate valid)
                original["app"]["status"] = S.ISSUED
                original["cert"]["status"] = CertificateStatus.VALID
                gone = original["app"]["id"]
                audit[:] = [e for e in audit if not (e["entity_id"] == gone and
                                                     e["action"] == "application.supersede")]
            app["change_seq"] = self.next_seq()
            app["updated_at"] = self.now
            apps.append(app)
            del position
        apps.sort(key=lambda a: a["id"])
        for item in superseded_pool:  # originals no in-lieu application took: still superseded
            item["cert"]["superseded_by_number"] = item["cert"]["superseded_by_number"] or "(legacy system)"
        return apps, goods, sheets, materials, docs, certs, numbers, wallet, audit

    def _goods_lines(self, app, kind, agreement):  # type: ignore[no-untyped-def]
        rng = self.rng
        catalogue = self.cat["goods"]
        n = rng.choices([1, 2, 3, 4, 6, 8, 14, 35], weights=[30, 22, 16, 12, 8, 6, 4, 2])[0]
        lines = []
        first = rng.randrange(len(catalogue))
        for item_no in range(1, n + 1):
            item = catalogue[(first + rng.randrange(4)) % len(catalogue)] if n > 1 else catalogue[first]
            pack_value = item["per_pack"] * item["price"]
            packages = rng.randint(1, 400 if pack_value < 500 else 40 if pack_value < 5000 else 3)
            quantity = Decimal(str(item["per_pack"])) * packages
            quantity = quantity.quantize(Decimal("0.001"))
            unit = item["unit"]
            weight_per_unit = {"KGS": 1.03, "GMS": 0.0012, "MTS": 1003.0, "LTR": 0.92,
                               "SQM": 28.0, "PCS": 0.25, "NOS": 2.4, "PRS": 1.1, "SET": 1.6}
            gross = (quantity * Decimal(str(weight_per_unit.get(unit, 1.0)))).quantize(Decimal("0.001"))
            fob = _money(quantity * Decimal(str(item["price"])) * Decimal(str(rng.uniform(0.9, 1.1))))
            criterion = None
            if agreement is not None:
                base = item["criterion"]
                if base == "RVC":
                    criterion = f"RVC {rng.randint(agreement.min_rvc_percent or 35, 68)}%"
                elif base in ("CTH", "CTSH"):
                    criterion = agreement.tariff_shift or base
                else:
                    criterion = base
            lines.append({
                "application_id": app["id"], "item_no": item_no, "description": item["desc"],
                "hs_code": item["hs"], "quantity": quantity, "unit": unit,
                "gross_weight_kg": max(gross, Decimal("0.001")), "package_count": packages,
                "package_kind": item["pack"],
                "marks": f"{app['consignee_name'].split()[0].upper()}/{app['invoice_number'][-4:]}/{item_no}",
                "fob_value": max(fob, Decimal("1.00")), "origin_criterion": criterion,
            })
        return lines

    def _cost_sheet(self, sheet_id, app_id, lines, agreement):  # type: ignore[no-untyped-def]
        """A cost sheet that adds up (FOB = materials + labour + overheads + profit + other
        costs) and, for about one application in eleven, misses the claimed criterion: an
        imported input under a wholly-obtained claim, or a value content a few points under
        the rule (approving those needs an origin override). Its own random stream, so the
        rest of the demo does not move when the cost sheets change."""
        self._former_cost_sheet_draws(agreement)
        rng = random.Random(app_id * 7919 + 17)
        fob = sum((line["fob_value"] for line in lines), Decimal("0"))
        rule = agreement.general_rule if agreement is not None else None
        thresholds = [rule.threshold(m) for m in rule.methods] if rule else []
        thresholds = [t for t in thresholds if t is not None] or [Decimal(35)]
        failing = rng.random() < 0.09
        claims = {str(line["origin_criterion"] or "").split(" ")[0] for line in lines}
        headings = {line["hs_code"][:4] for line in lines}
        imported = [m for m in self.cat["materials"] if m["hs"][:4] not in headings]
        if "WO" in claims:  # wholly obtained: Indian inputs only (one imported when failing)
            rvc = Decimal(100) if not failing else Decimal(rng.randint(92, 97))
        elif failing:
            rvc = max(Decimal(5), min(thresholds) - rng.randint(1, 6))
        else:
            rvc = Decimal(rng.randint(int(max(thresholds)) + 2, 78))
        non_originating = _money(fob * (100 - rvc) / 100)
        local = fob - non_originating  # originating inputs, labour, overheads, profit
        labour = _money(local * Decimal("0.30"))
        overheads = _money(local * Decimal("0.15"))
        profit = _money(local * Decimal("0.15"))
        originating = local - labour - overheads - profit
        ex_works = _money(fob * Decimal("0.96"))
        sheet = {"id": sheet_id, "application_id": app_id, "product_hs_code": lines[0]["hs_code"],
                 "method": "build_down", "labour": labour, "overheads": overheads,
                 "profit": profit, "other_costs": _money(0), "ex_works": ex_works, "fob": fob}
        mats = []
        parts = 0 if non_originating <= 0 else 1 if "WO" in claims else rng.randint(1, 3)
        shares = [_money(non_originating / parts)] * parts if parts else []
        if shares:
            shares[-1] = non_originating - sum(shares[:-1], Decimal(0))
        for share in shares:
            material = imported[rng.randrange(len(imported))]
            origin = rng.choice(["CN", "VN", "DE", "US", None])
            mats.append({"cost_sheet_id": sheet_id, "description": material["desc"],
                         "hs_code": material["hs"], "origin_country": origin,
                         "originating": False, "value": share,
                         "evidence": f"Bill of entry {rng.randint(10**6, 10**7 - 1)}" if origin else "Supplier declaration awaited"})
        mats.append({"cost_sheet_id": sheet_id, "description": "Indian-origin inputs",
                     "hs_code": lines[0]["hs_code"][:6], "origin_country": "IN", "originating": True,
                     "value": originating, "evidence": "Supplier declarations on file"})
        return sheet, mats

    def _former_cost_sheet_draws(self, agreement):  # type: ignore[no-untyped-def]
        """Draw from the demo's stream what the former cost sheets drew, so that every
        other application of the demo stays as it was (tests pick them by their state)."""
        rng = self.rng
        threshold = (agreement.min_rvc_percent if agreement and agreement.min_rvc_percent else 35)
        rng.randint(threshold - 5, 75)
        rng.randint(10, 25)
        for _ in range(rng.randint(1, 3)):
            rng.randrange(len(self.cat["materials"]))
            if rng.choice(["CN", "VN", "DE", "US", None]):
                rng.randint(10**6, 10**7 - 1)

    def _documents(self, app_id, kind, submitted, app, lines, exporter, office_code):  # type: ignore[no-untyped-def]
        """Real, openable files (app/store/demo_documents.py); the random draws of the
        placeholders they replaced stay, so the rest of the demo is as it was."""
        if self.papers is None:
            from app.store.demo_documents import DemoPapers

            self.papers = DemoPapers()
        kinds = [DocumentKind.INVOICE, DocumentKind.PACKING_LIST, DocumentKind.BILL_OF_LADING]
        if kind == ApplicationKind.PREFERENTIAL:
            kinds.append(DocumentKind.COST_SHEET)
        if kind == ApplicationKind.BACK_TO_BACK:
            kinds.append(DocumentKind.FOREIGN_CERTIFICATE)
        if kind == ApplicationKind.IN_LIEU:
            kinds.append(DocumentKind.ORIGINAL_CERTIFICATE)
        rows = []
        for document_kind in kinds:
            self.rng.randint(40_000, 900_000)  # the draws of the former placeholder rows
            self.rng.getrandbits(256)
            name, media_type, content = self.papers.document(
                document_kind.value, app, lines, exporter, office_code)
            rows.append({"application_id": app_id, "kind": document_kind,
                         "file_name": name, "media_type": media_type,
                         "size_bytes": len(content),
                         "sha256": hashlib.sha256(content).hexdigest(),
                         "uploaded_at": submitted, "content": content})
        return rows

    def _history(self, app, status, officer_id, submitted, override=None):  # type: ignore[no-untyped-def]
        events = [("application.submit", None, "submitted", submitted, "")]
        t = submitted
        steps = {
            S.SUBMITTED: [],
            S.UNDER_SCRUTINY: ["claim"],
            S.RETURNED: ["claim", "return"],
            S.RESUBMITTED: ["claim", "return", "resubmit"],
            S.APPROVED: ["claim", "approve"],
            S.ISSUED: ["claim", "approve", "issue"],
            S.REJECTED: ["claim", "reject"],
            S.SUPERSEDED: ["claim", "approve", "issue", "supersede"],
            S.CANCELLED: ["claim", "approve", "issue", "cancel"],
        }[status]
        state = "submitted"
        targets = {"claim": "under_scrutiny", "return": "returned", "resubmit": "resubmitted",
                   "approve": "approved", "issue": "issued", "reject": "rejected",
                   "supersede": "superseded", "cancel": "cancelled"}
        for step in steps:
            t = min(t + dt.timedelta(minutes=self.rng.randint(5, 300)), self.now)
            if step == "approve" and override is not None:  # the criterion was not met
                figures, reason = override
                events.append((OVERRIDE_ACTION, None, figures, t, reason))
            events.append((f"application.{step}", state, targets[step], t, ""))
            state = targets[step]
        rows = []
        for action, before, after, at, note in events:
            applicant = action in ("application.submit", "application.resubmit")
            rows.append({
                "at": at, "actor_id": None if applicant else officer_id,
                "actor_label": "applicant" if applicant else f"officer #{officer_id}",
                "action": action, "entity_type": "application", "entity_id": app["id"],
                "before": {"status": before} if before else None,
                "after": after if isinstance(after, dict) else {"status": after},
                "note": note,
            })
        return rows


OVERRIDE_REASONS = (
    "Exporter's chartered accountant certifies the domestic value addition; the cost sheet "
    "omits in-house tooling. Accepted on the CA certificate on file.",
    "Imported packing only; the partner's customs accept it under the agreement's packing "
    "rule. Override recorded for post-audit.",
    "Cost sheet figures are from the previous quarter; the current costing on file meets "
    "the rule. Exporter told to update the cost sheet.",
)


def _origin_override(app, lines, sheet, mats, agreement):  # type: ignore[no-untyped-def]
    """(figures, reason) of the origin override an approval of this application needed, or
    None when every line meets its criterion (the same check as the desk's)."""
    from types import SimpleNamespace

    from app.models.origin_review import check_line

    materials = [SimpleNamespace(**m) for m in mats]
    cost = SimpleNamespace(
        **sheet, materials=materials,
        non_originating_value=sum((m.value for m in materials if not m.originating), Decimal(0)),
        originating_value=sum((m.value for m in materials if m.originating), Decimal(0)))
    checks = [check_line(SimpleNamespace(**line), cost, agreement, app["currency"])
              for line in lines if line["origin_criterion"]]
    failing = [c for c in checks if not c.met]
    if not failing:
        return None
    figures = {"agreement": agreement.code, "lines": [c.figures() for c in failing]}
    return figures, OVERRIDE_REASONS[app["id"] % len(OVERRIDE_REASONS)]
