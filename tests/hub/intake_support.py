"""What the intake API tests share: an exporter of the seeded store with what each kind of
filing needs, filings of the four kinds, API keys, and a digest of every table intake may
touch (to prove that a refused request changed nothing)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

ADMIN = "admin@igcc.org.in"
# the tables the intake API writes or could write (last_used_at is bookkeeping: left out)
TABLES = {
    "applications": "SELECT * FROM applications ORDER BY id",
    "goods_lines": "SELECT * FROM goods_lines ORDER BY id",
    "cost_sheets": "SELECT * FROM cost_sheets ORDER BY id",
    "cost_sheet_materials": "SELECT * FROM cost_sheet_materials ORDER BY id",
    "supporting_documents": "SELECT * FROM supporting_documents ORDER BY id",
    "audit_events": "SELECT * FROM audit_events ORDER BY id",
    "applicants": "SELECT * FROM applicants ORDER BY id",
    "idempotency_records": "SELECT * FROM idempotency_records "
                           "ORDER BY api_key_id, idempotency_key",
    "api_keys": "SELECT id, prefix, key_sha256, exporter_id, office_id, label, revoked_at "
                "FROM api_keys ORDER BY id",
}


@dataclass(frozen=True)
class ExporterFacts:
    id: int
    iec: str
    applicant_email: str
    office_code: str  # where its applications mostly go (the key's default office)
    original_certificate: str  # a valid certificate of a non-preferential application
    returned_number: str | None  # one of its applications returned with a query


def exporter_facts(engine: Engine, *, not_id: int | None = None) -> ExporterFacts:
    """An exporter with a valid non-preferential certificate (for in-lieu filings)."""
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT e.id, e.iec, c.number FROM exporters e "
            "JOIN applications a ON a.exporter_id = e.id "
            "JOIN certificates c ON c.application_id = a.id "
            "WHERE c.status = 'valid' AND c.superseded_by_number IS NULL "
            "AND a.kind = 'non_preferential' AND e.id <> :not_id "
            "ORDER BY e.id, c.id LIMIT 1"), {"not_id": not_id or -1}).first()
        assert row is not None, "the seeded store has a valid certificate"
        exporter_id, iec, certificate = row
        email = connection.execute(text(
            "SELECT email FROM applicants WHERE exporter_id = :e ORDER BY id"),
            {"e": exporter_id}).scalar()
        office = connection.execute(text(
            "SELECT o.code FROM applications a JOIN offices o ON o.id = a.office_id "
            "WHERE a.exporter_id = :e GROUP BY o.code ORDER BY count(*) DESC, o.code LIMIT 1"),
            {"e": exporter_id}).scalar()
        returned = connection.execute(text(
            "SELECT number FROM applications WHERE exporter_id = :e AND status = 'returned' "
            "ORDER BY id LIMIT 1"), {"e": exporter_id}).scalar()
    return ExporterFacts(exporter_id, iec, email, office, certificate, returned)


def issue_key(engine: Engine, iec: str, **kwargs: Any) -> Any:
    """A new API key for the IEC, issued by the demo agency's administrator."""
    from app.services.admin import AgencyAdmin

    return AgencyAdmin.for_email(engine, ADMIN).api_keys().issue(iec, **kwargs)


def officers(engine: Engine, code: str) -> tuple[str, str]:
    """An officer mapped to the office, and one who is not."""
    with engine.connect() as connection:
        mapped = connection.execute(text(
            "SELECT u.email FROM users u JOIN officer_offices m ON m.user_id = u.id "
            "JOIN offices o ON o.id = m.office_id WHERE o.code = :c AND u.status = 'active' "
            "ORDER BY u.id"), {"c": code}).scalar()
        other = connection.execute(text(
            "SELECT u.email FROM users u WHERE u.role = 'officer' AND u.status = 'active' "
            "AND NOT EXISTS (SELECT 1 FROM officer_offices m JOIN offices o "
            "ON o.id = m.office_id WHERE m.user_id = u.id AND o.code = :c) ORDER BY u.id"),
            {"c": code}).scalar()
    return mapped, other


def days_ago(days: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days)).isoformat()


def goods_line(**overrides: Any) -> dict[str, Any]:
    line = {"description": "Cotton yarn, combed, 40s count, on cones", "hs_code": "520512",
            "quantity": "12000", "unit": "KGS", "gross_weight_kg": "12480.5",
            "package_count": 480, "package_kind": "cartons", "marks": "ACME/0042/1",
            "fob_value": "38400.00"}
    line.update(overrides)
    return line


def filing(kind: str, facts: ExporterFacts, **overrides: Any) -> dict[str, Any]:
    """A complete, valid filing of this kind for the exporter."""
    body: dict[str, Any] = {
        "kind": kind, "applicant_email": facts.applicant_email,
        "consignee_name": "Acme Textiles Inc.",
        "consignee_address": "350 Fifth Avenue, New York, NY 10118",
        "consignee_country": "US", "destination_country": "US", "transport_mode": "sea",
        "vessel_or_flight": "MV MSC Aurora V.212W", "port_of_loading": "Nhava Sheva (JNPT)",
        "port_of_discharge": "New York", "departure_date": days_ago(-5),
        "invoice_number": "EXP/26-27/0042", "invoice_date": days_ago(4), "currency": "USD",
        "declaration_place": "Mumbai", "declaration_date": days_ago(3),
        "goods": [goods_line(), goods_line(description="Cotton yarn, carded, 20s count",
                                           hs_code="5205.11", fob_value="12000.50")],
    }
    if kind == "preferential":
        body.update({
            "agreement_code": "IUCEPA", "consignee_name": "Al Noor Trading LLC",
            "consignee_address": "12 Harbour Road, Dubai", "consignee_country": "AE",
            "destination_country": "AE", "port_of_discharge": "Jebel Ali",
            "goods": [goods_line(description="Basmati rice, 1121 Sella, in 25 kg PP bags",
                                 hs_code="10063020", unit="KGS", package_kind="PP bags",
                                 origin_criterion="WO"),
                      goods_line(description="Galvanised steel structures for sheds",
                                 hs_code="730890", quantity="40", unit="MTS",
                                 gross_weight_kg="40120", package_count=12,
                                 package_kind="bundles", fob_value="52000.00",
                                 origin_criterion="RVC 46%")],
            "cost_sheet": {
                "product_hs_code": "730890", "method": "build_down", "labour": "6240.00",
                "overheads": "4160.00", "profit": "3640.00", "other_costs": "0",
                "ex_works": "49920.00", "fob": "52000.00",
                "materials": [
                    {"description": "Steel billets", "hs_code": "720711",
                     "origin_country": "CN", "originating": False, "value": "28080.00",
                     "evidence": "Bill of entry 2231157"},
                    {"description": "Zinc for galvanising", "hs_code": "790111",
                     "origin_country": "IN", "originating": True, "value": "5200.00",
                     "evidence": "Supplier declaration on file"}]},
        })
    elif kind == "in_lieu":
        body.update({"original_certificate_number": facts.original_certificate,
                     "in_lieu_reason": "Consignee name misspelt on the original certificate."})
    elif kind == "back_to_back":
        body.update({
            "consignee_country": "AE", "destination_country": "AE",
            "port_of_discharge": "Jebel Ali", "origin_country": "CN",
            "foreign_origin_country": "CN", "foreign_certificate_number": "CN2026418812345",
            "foreign_certificate_country": "CN",
            "foreign_certificate_issuer": "China Council for the Promotion of International "
                                          "Trade (CCPIT)",
            "foreign_certificate_date": days_ago(40),
            "remarks": "Transshipment via Indian port; goods not of Indian origin.",
            # recorded with the first filing; each line draws from one item, in its unit
            "foreign_certificate_goods": [
                {"description": "Cotton yarn, combed, 40s count, on cones",
                 "hs_code": "520512", "quantity": "50000", "unit": "KGS"},
                {"description": "Cotton yarn, carded, 20s count", "hs_code": "520511",
                 "quantity": "30000", "unit": "KGS"}],
            "goods": [goods_line(foreign_item=1),
                      goods_line(description="Cotton yarn, carded, 20s count",
                                 hs_code="5205.11", fob_value="12000.50", foreign_item=2)],
        })
    body.update(overrides)
    return body


KINDS = ("non_preferential", "preferential", "in_lieu", "back_to_back")

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40


def snapshot(engine: Engine) -> dict[str, tuple[int, str]]:
    """Each intake table's row count and a digest of all its rows."""
    result = {}
    with engine.connect() as connection:
        for table, sql in TABLES.items():
            rows = connection.execute(text(sql)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            result[table] = (len(rows), digest)
    return result


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
