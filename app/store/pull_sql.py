"""The SQL of a pull: which rows of which tables, with values already in the form the
local SQLite store keeps them (so the copy is a plain ``executemany`` of tuples).

SQLAlchemy keeps, on SQLite, times as ``YYYY-MM-DD HH:MM:SS.ffffff`` text (UTC), dates as
``YYYY-MM-DD``, exact decimals as text, JSON as text: a PostgreSQL central store casts to
those in the query; a SQLite central store holds them already.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import JSON, Date, Numeric, Table

from app.models.base import ExactDecimal, UtcDateTime

# columns that never leave the central store in a pull (payment secrets; signed PDFs and
# supporting documents' bytes: fetched on demand, app/services/documents.py)
WITHHELD = {
    "offices": {"merchant_id": "''", "checksum_key": "''"},
    "certificates": {"pdf": "NULL"},
    "supporting_documents": {"content": "NULL"},
}


def _ints(values: Iterable[int]) -> str:
    return ", ".join(str(int(v)) for v in values) or "NULL"


def column_sql(table: Table, dialect: str, alias: str = "t") -> list[tuple[str, str]]:
    """(column name, SQL expression) for every column of ``table``."""
    result = []
    withheld = WITHHELD.get(table.name, {})
    for column in table.columns:
        ref = f"{alias}.{column.name}"
        if column.name in withheld:
            expr = withheld[column.name]
        elif dialect != "postgresql":
            expr = ref
        elif isinstance(column.type, UtcDateTime):
            expr = f"to_char({ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
        elif isinstance(column.type, Date):
            expr = f"to_char({ref}, 'YYYY-MM-DD')"
        elif isinstance(column.type, ExactDecimal | JSON | Numeric):  # Numeric: balances
            expr = f"{ref}::text"
        else:
            expr = ref
        result.append((column.name, expr))
    return result


@dataclass(frozen=True)
class ApplicationFilter:
    """Applications of ``office_ids`` changed after each office's cursor, plus ``force_ids``."""

    office_ids: tuple[int, ...]
    cursors: dict[int, int]
    force_ids: tuple[int, ...] = ()

    def where(self, alias: str = "t") -> str:
        groups: dict[int, list[int]] = {}
        for office in self.office_ids:
            groups.setdefault(int(self.cursors.get(office, 0)), []).append(office)
        parts = [
            f"({alias}.office_id IN ({_ints(offices)}) AND {alias}.change_seq > {since})"
            for since, offices in sorted(groups.items())
        ]
        if self.force_ids:
            parts.append(f"({alias}.id IN ({_ints(self.force_ids)}) "
                         f"AND {alias}.office_id IN ({_ints(self.office_ids)}))")
        return "(" + " OR ".join(parts or ["false"]) + ")"

    def ids_sql(self) -> str:
        return f"SELECT a.id FROM applications a WHERE {self.where('a')}"


def select_sql(table: Table, dialect: str, where: str,
               omit: frozenset[str] = frozenset()) -> tuple[list[str], str]:
    columns = [c for c in column_sql(table, dialect) if c[0] not in omit]
    names = [name for name, _expr in columns]
    body = ", ".join(f'{expr} AS "{name}"' for name, expr in columns)
    return names, f"SELECT {body} FROM {table.name} t WHERE {where}"


def application_statement(tables: dict[str, Table], dialect: str,
                          filter_: ApplicationFilter) -> str:
    return select_sql(tables["applications"], dialect, filter_.where("t"))[1]


OFFICERS_DAY_REVISION = "0012_officers_day"  # offices.overdue_limit_hours, trade_events
WALLET_REVISION = "0009_wallet_ledger"  # office_wallets


def reference_statements(tables: dict[str, Table], dialect: str, agency_id: int,
                         revision: str | None = None) -> list[tuple[str, str]]:
    """The agency's small tables, pulled whole every time (a central store older than
    0012 has no overdue limit: the local store's default stands in)."""
    if revision is not None and revision < OFFICERS_DAY_REVISION:
        return [(name, select_sql(tables[name], dialect, where,
                                  frozenset({"overdue_limit_hours"}))[1])
                for name, where in _reference_wheres(agency_id).items()]
    return [(name, select_sql(tables[name], dialect, where)[1])
            for name, where in _reference_wheres(agency_id).items()]


def dashboard_statements(tables: dict[str, Table], dialect: str, agency_id: int,
                         office_ids: Iterable[int], revision: str) -> list[tuple[str, str]]:
    """What the dashboard reads besides the applications: the e-wallet balances of the
    user's offices (row-level security: those an officer may see) and the agency's trade
    events, each pulled whole."""
    statements = []
    if revision >= WALLET_REVISION:
        statements.append(("office_wallets", select_sql(
            tables["office_wallets"], dialect,
            f"t.office_id IN ({_ints(sorted(set(office_ids)))})")[1]))
    if revision >= OFFICERS_DAY_REVISION:
        statements.append(("trade_events", select_sql(
            tables["trade_events"], dialect, f"t.agency_id = {int(agency_id)}")[1]))
    return statements


def _reference_wheres(agency_id: int) -> dict[str, str]:
    offices = f"SELECT id FROM offices WHERE agency_id = {int(agency_id)}"
    wheres: dict[str, str] = {
        "agencies": f"t.id = {int(agency_id)}",
        "offices": f"t.agency_id = {int(agency_id)}",
        "users": f"t.agency_id = {int(agency_id)}",
        "officer_offices": f"t.office_id IN ({offices})",
    }
    return wheres


ESIGN_REVISION = "0014_esign_gateway"  # certificates.signed_with


def related_statements(
    tables: dict[str, Table], dialect: str, application_ids: Iterable[int],
    exporter_ids: Iterable[int], applicant_ids: Iterable[int], revision: str | None = None,
) -> list[tuple[str, str]]:
    """The rows that belong to the pulled applications, by id lists (plain integer
    comparisons, which row-level security lets the planner push into index scans); a
    central store older than 0014 has no ``certificates.signed_with`` (the local store's
    default 'dsc' stands in)."""
    ids = _ints(sorted(set(application_ids)))
    exporters = _ints(sorted(set(exporter_ids)))
    wheres = {
        "exporters": f"t.id IN ({exporters})",
        # every applicant user of those exporters (the exporter view lists them all)
        "applicants": f"(t.id IN ({_ints(sorted(set(applicant_ids)))}) "
                      f"OR t.exporter_id IN ({exporters}))",
        "goods_lines": f"t.application_id IN ({ids})",
        "cost_sheets": f"t.application_id IN ({ids})",
        "cost_sheet_materials": (f"t.cost_sheet_id IN (SELECT s.id FROM cost_sheets s "
                                 f"WHERE s.application_id IN ({ids}))"),
        "supporting_documents": f"t.application_id IN ({ids})",
        "certificates": f"t.application_id IN ({ids})",
        "audit_events": f"t.entity_type = 'application' AND t.entity_id IN ({ids})",
    }
    omit: dict[str, frozenset[str]] = {}
    if revision is not None and revision < ESIGN_REVISION:
        omit["certificates"] = frozenset({"signed_with"})
    return [(name, select_sql(tables[name], dialect, where,
                              omit.get(name, frozenset()))[1])
            for name, where in wheres.items()]


FOREIGN_REVISION = "0010_foreign_certificates"  # the central store has foreign certificates


def foreign_certificates_statement(tables: dict[str, Table], dialect: str,
                                   office_ids: Iterable[int]) -> str:
    """The foreign certificates that back-to-back applications of these offices name (the
    first statement of :func:`foreign_statements`: its ``id`` column gives the others their
    literal id list, so that the join with the applications runs once per pull)."""
    named = ("SELECT f.id FROM foreign_certificates f JOIN applications a "
             "ON a.exporter_id = f.exporter_id AND a.foreign_certificate_number = f.number "
             "AND a.foreign_certificate_country = f.country WHERE a.kind = 'back_to_back' "
             f"AND a.office_id IN ({_ints(sorted(set(office_ids)))})")
    return select_sql(tables["foreign_certificates"], dialect, f"t.id IN ({named})")[1]


def foreign_statements(tables: dict[str, Table], dialect: str,
                       certificate_ids: Iterable[int]) -> list[tuple[str, str]]:
    """The goods of these foreign certificates (from :func:`foreign_certificates_statement`)
    and what approved and issued applications (of any office) drew from them
    (``foreign_draws``: on PostgreSQL through ``od_foreign_draws``, since an officer sees
    only their offices' applications). Pulled whole every time: balances move when another
    office issues."""
    ids = _ints(sorted(set(certificate_ids)))
    statements = [("foreign_certificate_goods", select_sql(
        tables["foreign_certificate_goods"], dialect, f"t.foreign_certificate_id IN ({ids})")[1])]
    if dialect == "postgresql":
        draws = ("SELECT foreign_goods_id, application_id, quantity::text AS quantity, state "
                 f"FROM od_foreign_draws(ARRAY[{ids}]::integer[])")
    else:  # the same rows as od_foreign_draws (revision 0010), from the store's own tables
        live = ("EXISTS (SELECT 1 FROM certificates c WHERE c.application_id = a.id "
                "AND c.status <> 'cancelled')")
        draws = ("SELECT g.foreign_goods_id AS foreign_goods_id, g.application_id AS "
                 f"application_id, g.quantity AS quantity, CASE WHEN {live} THEN 'issued' "
                 "ELSE 'approved' END AS state FROM goods_lines g "
                 "JOIN applications a ON a.id = g.application_id "
                 "JOIN foreign_certificate_goods i ON i.id = g.foreign_goods_id "
                 f"WHERE i.foreign_certificate_id IN ({ids}) "
                 f"AND (a.status = 'approved' OR {live})")
    statements.append(("foreign_draws", draws))
    return statements


# tables the local store replaces as a whole on every pull (small, per agency; the foreign
# certificates and their draws: those the user's offices' applications name)
REPLACED_WHOLE = ("agencies", "offices", "users", "officer_offices", "foreign_certificates",
                  "foreign_certificate_goods", "foreign_draws", "office_wallets", "trade_events")
# tables whose rows belong to a pulled application (deleted and re-inserted with it)
APPLICATION_ROWS = ("goods_lines", "cost_sheets", "cost_sheet_materials",
                    "supporting_documents", "certificates", "audit_events")
