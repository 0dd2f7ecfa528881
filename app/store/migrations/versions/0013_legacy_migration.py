"""Certificates migrated from the legacy system (eCoO 1.0): verifiable by number, refused as
originals of an in-lieu request (issue 13 part 5, ``docs/MIGRATION.md``).

Both engines:

- ``legacy_certificates``: one row per certificate the legacy system issued, as
  ``origin-desk import-legacy`` read it from the legacy export: number (unique), the
  issuing office, exporter (IEC, name), consignee, destination, agreement and form, the
  issue date, the legacy status (``valid``, ``cancelled``, or ``superseded`` with the
  number of the certificate that replaced it: CHECK), a goods summary, when and by whom it
  was imported. Rows are never changed or removed.

PostgreSQL only:

- desk roles SELECT the rows of their agency's offices and INSERT (row-level security:
  an administrator, into the agency's offices); no UPDATE or DELETE;
- trigger ``legacy_certificates_a_guard`` (BEFORE INSERT, every writer but the table
  owner) with ``od_legacy_importer(number, office_id)`` (SECURITY DEFINER, one query per
  row): refuses an insert by anyone but an active administrator of the agency, or into
  an office of another agency (``ODREF``, one sentence), and stamps ``imported_at`` with
  the store's clock and ``imported_by_id`` with the login's user; the insert policy's
  functions are InitPlans, evaluated once per statement (a batch of 1,000 rows);
- ``od_is_legacy_certificate(text, date)`` (``CREATE OR REPLACE``: STABLE SECURITY
  DEFINER now; downgrade puts 0011's IMMUTABLE body back): a number migrated from the
  legacy system is legacy whatever its form, which is ``is_legacy_certificate(...,
  migrated=True)``; so ``od_original_certificate`` and the trigger
  ``applications_b_legacy`` (0011) refuse an in-lieu request against it;
- ``od_certificate_status(text)`` (``CREATE OR REPLACE``, same columns; downgrade puts
  0003's body back): a migrated certificate is found too, with its legacy status, its
  issue date as midnight in India, and the certificate that superseded it; so the public
  verification page and API (``origin_desk_hub``), a verifier login and the desks answer
  for it;
- ``od_certificate_details(text)`` (new, SECURITY DEFINER, granted to the desk roles, the
  central service and verifier logins): what verification by number shows: status, issue
  date (India), superseded by, agency and office, exporter IEC and name, consignee,
  destination, a goods summary (each description and HS code once, in item order),
  whether it was migrated from the legacy system, and for a cancelled certificate the India
  date of its cancellation (the audit event ``certificate.cancelled``) and its reason.

Revision ID: 0013_legacy_migration
Revises: 0012_officers_day
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0013_legacy_migration'
down_revision = '0012_officers_day'
branch_labels = None
depends_on = None

DESK = "origin_desk_officer, origin_desk_admin"
READERS = "origin_desk_officer, origin_desk_admin, origin_desk_hub, origin_desk_verifier"
ODREF = "USING ERRCODE = 'ODREF'"
IS_OWNER = ("pg_has_role(current_user, (SELECT c.relowner FROM pg_class c "
            "WHERE c.oid = TG_RELID), 'USAGE')")
# 0011's: the characters Python's str.isspace() counts as whitespace
SPACE = ("\\u0009\\u000a\\u000b\\u000c\\u000d\\u001c\\u001d\\u001e\\u001f\\u0020\\u0085"
         "\\u00a0\\u1680\\u2000\\u2001\\u2002\\u2003\\u2004\\u2005\\u2006\\u2007\\u2008"
         "\\u2009\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000")
GOODS_SUMMARY_CHARS = 500

LEGACY_RULE_TAIL = f"""    IF v_text <> '' THEN
        v_year := substring(v_text FROM '^[^/{SPACE}]{{1,16}}/([0-9]{{4}})/[0-9]{{7,}}$');
        IF v_year IS NULL OR v_year::integer < 2024 THEN
            RETURN true;
        END IF;
    END IF;
    RETURN p_issued_on IS NOT NULL AND p_issued_on < DATE '2024-12-21';
END $$;
"""
IS_LEGACY_0013 = f"""
CREATE OR REPLACE FUNCTION od_is_legacy_certificate(p_number text, p_issued_on date)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_text text := od_python_strip(p_number);
    v_year text;
BEGIN
    -- migrated from the legacy system (is_legacy_certificate(..., migrated=True))
    IF v_text <> '' AND EXISTS (SELECT 1 FROM legacy_certificates l
                               WHERE l.number = v_text) THEN
        RETURN true;
    END IF;
{LEGACY_RULE_TAIL}"""
IS_LEGACY_0011 = f"""
CREATE OR REPLACE FUNCTION od_is_legacy_certificate(p_number text, p_issued_on date)
RETURNS boolean
LANGUAGE plpgsql IMMUTABLE SET search_path = public, pg_temp AS $$
DECLARE
    v_text text := od_python_strip(p_number);
    v_year text;
BEGIN
{LEGACY_RULE_TAIL}"""

STATUS_HEAD = """
CREATE OR REPLACE FUNCTION od_certificate_status(certificate_number text)
RETURNS TABLE (number text, status text, issued_at timestamptz, superseded_by_number text,
               agency_code text, agency_name text, office_name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.number::text, c.status::text, c.issued_at, c.superseded_by_number::text,
           a.code::text, a.name::text, o.name::text
    FROM certificates c JOIN offices o ON o.id = c.office_id
    JOIN agencies a ON a.id = o.agency_id
    WHERE c.number = certificate_number
"""
STATUS_0003 = STATUS_HEAD + "$$;\n"
STATUS_0013 = STATUS_HEAD + """    UNION ALL
    SELECT l.number::text, l.status::text,
           (l.issued_on::timestamp AT TIME ZONE 'Asia/Kolkata'), l.superseded_by::text,
           a.code::text, a.name::text, o.name::text
    FROM legacy_certificates l JOIN offices o ON o.id = l.office_id
    JOIN agencies a ON a.id = o.agency_id
    WHERE l.number = certificate_number
      AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.number = certificate_number)
$$;
"""

DETAILS = f"""
CREATE FUNCTION od_certificate_details(p_number text)
RETURNS TABLE (number text, status text, issued_on date, superseded_by text,
               agency_code text, agency_name text, office_code text, office_name text,
               exporter_iec text, exporter_name text, consignee_name text,
               destination_country text, goods_summary text, legacy boolean,
               cancelled_on date, cancel_reason text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.number::text, c.status::text, (c.issued_at AT TIME ZONE 'Asia/Kolkata')::date,
           c.superseded_by_number::text, a.code::text, a.name::text, o.code::text,
           o.name::text, e.iec::text, e.name::text, p.consignee_name::text,
           p.destination_country::text,
           left((SELECT string_agg(d.line, '; ' ORDER BY d.first_item)
                 FROM (SELECT g.description || ' (HS ' || g.hs_code || ')' AS line,
                              min(g.item_no) AS first_item
                       FROM goods_lines g WHERE g.application_id = p.id GROUP BY 1) d),
                {GOODS_SUMMARY_CHARS}),
           false,
           CASE WHEN c.status = 'cancelled' THEN
               (SELECT (max(e.at) AT TIME ZONE 'Asia/Kolkata')::date FROM audit_events e
                WHERE e.action = 'certificate.cancelled' AND e.entity_type = 'certificate'
                  AND e.entity_id = c.id) END,
           CASE WHEN c.status = 'cancelled' THEN c.cancel_reason::text END
    FROM certificates c JOIN applications p ON p.id = c.application_id
    JOIN exporters e ON e.id = p.exporter_id
    JOIN offices o ON o.id = c.office_id JOIN agencies a ON a.id = o.agency_id
    WHERE c.number = p_number
    UNION ALL
    SELECT l.number::text, l.status::text, l.issued_on, l.superseded_by::text,
           a.code::text, a.name::text, o.code::text, o.name::text, l.exporter_iec::text,
           l.exporter_name::text, l.consignee_name::text, l.destination_country::text,
           left(l.goods_summary, {GOODS_SUMMARY_CHARS}), true, NULL::date, NULL::text
    FROM legacy_certificates l JOIN offices o ON o.id = l.office_id
    JOIN agencies a ON a.id = o.agency_id
    WHERE l.number = p_number
      AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.number = p_number)
$$;
"""

GUARD = f"""
-- the importing administrator's user id (one query per row); ODREF for anyone else
CREATE FUNCTION od_legacy_importer(p_number text, p_office_id integer) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_user integer;
    v_office boolean;
BEGIN
    SELECT u.id, EXISTS (SELECT 1 FROM offices o WHERE o.id = p_office_id
                                                 AND o.agency_id = u.agency_id)
    INTO v_user, v_office
    FROM db_logins l JOIN users u ON u.id = l.user_id
    WHERE l.role_name = session_user AND u.status = 'active' AND u.role = 'administrator';
    IF v_user IS NULL THEN
        RAISE EXCEPTION 'Only an administrator of the agency migrates certificates of the '
            'legacy system; certificate % was not imported.', p_number {ODREF};
    END IF;
    IF NOT v_office THEN
        RAISE EXCEPTION 'Certificate % names an office that is not one of your agency''s; '
            'it was not imported.', p_number {ODREF};
    END IF;
    RETURN v_user;
END $$;
CREATE FUNCTION od_legacy_certificates_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF {IS_OWNER} THEN
        RETURN NEW;
    END IF;
    NEW.imported_by_id := od_legacy_importer(NEW.number, NEW.office_id);
    NEW.imported_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER legacy_certificates_a_guard BEFORE INSERT ON legacy_certificates
    FOR EACH ROW EXECUTE FUNCTION od_legacy_certificates_guard();
"""

POLICIES = (
    ("legacy_certificates_read", "SELECT", DESK,
     "office_id IN (SELECT o.id FROM offices o WHERE o.agency_id = od_agency_id())", None),
    ("legacy_certificates_import", "INSERT", DESK, None,  # once per statement (InitPlans)
     "(SELECT od_is_admin()) AND office_id IN (SELECT od_office_ids())"),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        'legacy_certificates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=32), nullable=False),
        sa.Column('office_id', sa.Integer(), nullable=False),
        sa.Column('exporter_iec', sa.String(length=10), nullable=False),
        sa.Column('exporter_name', sa.String(length=200), nullable=False),
        sa.Column('consignee_name', sa.String(length=200), nullable=False),
        sa.Column('destination_country', sa.String(length=2), nullable=False),
        sa.Column('agreement', sa.String(length=40), nullable=False),
        sa.Column('form', sa.String(length=40), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('superseded_by', sa.String(length=32), nullable=True),
        sa.Column('goods_summary', sa.Text(), nullable=False),
        sa.Column('imported_at', app.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column('imported_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('valid', 'cancelled', 'superseded')",
                           name=op.f('ck_legacy_certificates_legacy_status_known')),
        sa.CheckConstraint("(status = 'superseded') = (superseded_by IS NOT NULL)",
                           name=op.f('ck_legacy_certificates_legacy_superseded_by_named')),
        sa.ForeignKeyConstraint(['office_id'], ['offices.id'],
                                name=op.f('fk_legacy_certificates_office_id_offices')),
        sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'],
                                name=op.f('fk_legacy_certificates_imported_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_legacy_certificates')),
        sa.UniqueConstraint('number', name=op.f('uq_legacy_certificates_number')),
    )
    op.create_index('ix_legacy_certificates_office_id', 'legacy_certificates', ['office_id'])
    if not postgresql:
        return
    op.execute(f"GRANT SELECT, INSERT ON legacy_certificates TO {DESK}")
    op.execute(f"GRANT USAGE ON SEQUENCE legacy_certificates_id_seq TO {DESK}")
    op.execute("ALTER TABLE legacy_certificates ENABLE ROW LEVEL SECURITY")
    for name, command, roles, using, check in POLICIES:
        clause = f"FOR {command} TO {roles}"
        if using is not None:
            clause += f" USING ({using})"
        if check is not None:
            clause += f" WITH CHECK ({check})"
        op.execute(f"CREATE POLICY {name} ON legacy_certificates {clause}")
    op.execute(GUARD)
    op.execute("REVOKE ALL ON FUNCTION od_legacy_certificates_guard() FROM PUBLIC")
    op.execute("REVOKE ALL ON FUNCTION od_legacy_importer(text, integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION od_legacy_importer(text, integer) TO {DESK}")
    op.execute(IS_LEGACY_0013)
    op.execute(STATUS_0013)
    op.execute(DETAILS)
    op.execute("REVOKE ALL ON FUNCTION od_certificate_details(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION od_certificate_details(text) TO {READERS}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION od_certificate_details(text)")
        op.execute(STATUS_0003)
        op.execute(IS_LEGACY_0011)
        op.execute("DROP TRIGGER legacy_certificates_a_guard ON legacy_certificates")
        op.execute("DROP FUNCTION od_legacy_certificates_guard()")
        op.execute("DROP FUNCTION od_legacy_importer(text, integer)")
        for name, *_ in POLICIES:
            op.execute(f"DROP POLICY {name} ON legacy_certificates")
    op.drop_index('ix_legacy_certificates_office_id', table_name='legacy_certificates')
    op.drop_table('legacy_certificates')
