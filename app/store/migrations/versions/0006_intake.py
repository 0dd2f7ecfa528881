"""The intake API: exporters' systems file applications with API keys issued per IEC.

Both engines: ``api_keys`` (SHA-256 of each key, its exporter and the office its
applications go to, who issued it, revoked, last used) and ``idempotency_records`` (the
answer given to a request made with an ``Idempotency-Key``), in
``app/store/intake_tables.py``.

PostgreSQL: for intake the service acts as **itself** (``origin_desk_hub``), never as an
officer. Each intake transaction names the API key it serves in the transaction setting
``od.intake_key`` (its prefix); ``od_intake_exporter_id()`` / ``od_intake_office_id()``
believe it only for a member of ``origin_desk_hub`` and only while the key is not revoked.
The policies below (``TO origin_desk_hub``) then let the service:

- read the applications of that key's exporter (and their goods, cost sheets, documents,
  certificates, audit events; the code and name of their offices through
  ``od_intake_office(id)``: offices themselves, with their gateway secrets, stay unread);
- insert an application of that exporter only as just filed: status ``submitted`` at
  version 1, unclaimed, no query, reason or decision, an applicant user of the exporter,
  in the key's office;
- insert goods lines, cost sheets and materials only while the application is with the
  exporter (just filed and never claimed, or returned with a query), delete them only
  while it is returned (a resubmission replaces them);
- insert supporting documents while the application is unclaimed and submitted,
  resubmitted or returned;
- update an application only from ``returned`` to ``resubmitted`` (the exporter's
  resubmission), checked by ``od_intake_application_update``: version + 1, and the
  number, kind, office, exporter, submission time, claim, texts and decision unchanged;
- write ``application.submit`` / ``.resubmit`` / ``.document`` audit events of its
  exporter's applications; ``od_intake_audit_event`` names the applicant and the key as
  the actor whatever the service sent.

The applications and audit guards of 0004 send the service's own writes (``current_user``
a member of ``origin_desk_hub``, i.e. not acting for an officer) to those two functions;
officers' logins, and the service acting for an officer, meet the 0004 rules unchanged (a
resubmission stays refused to them). Administrators list, issue (``created_by_id`` = the
administrator, an office of their agency) and revoke (``revoked_at`` only, never undone)
the API keys of their agency's offices.

Revision ID: 0006_intake
Revises: 0005_central_service
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0006_intake'
down_revision = '0005_central_service'
branch_labels = None
depends_on = None

HUB = "origin_desk_hub"
ADMIN = "origin_desk_admin"
DENY = "USING ERRCODE = 'insufficient_privilege'"
INTAKE_ACTIONS = "('application.submit', 'application.resubmit', 'application.document')"

FUNCTIONS = f"""
-- the API key this transaction of the service serves (od.intake_key = its prefix), if active
CREATE FUNCTION od_intake_key_id() RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT pg_has_role(session_user, '{HUB}', 'MEMBER') THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT k.id FROM api_keys k
            WHERE k.prefix = nullif(current_setting('od.intake_key', true), '')
              AND k.revoked_at IS NULL);
END $$;
CREATE FUNCTION od_intake_exporter_id() RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN (SELECT k.exporter_id FROM api_keys k WHERE k.id = od_intake_key_id());
END $$;
CREATE FUNCTION od_intake_office_id() RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN (SELECT k.office_id FROM api_keys k WHERE k.id = od_intake_key_id());
END $$;
-- the code and name of the key's office or of an office holding one of its exporter's
-- applications (the service never reads offices, and so their gateway secrets, itself)
CREATE FUNCTION od_intake_office(p_office_id integer) RETURNS TABLE (code text, name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY SELECT o.code::text, o.name::text FROM offices o
    WHERE o.id = p_office_id AND (o.id = od_intake_office_id() OR EXISTS (
        SELECT 1 FROM applications a
        WHERE a.office_id = o.id AND a.exporter_id = od_intake_exporter_id()));
END $$;

-- the service's own update of an application: only the exporter's resubmission
CREATE FUNCTION od_intake_application_update(p_old applications, p_new applications)
RETURNS applications
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF p_old.exporter_id IS DISTINCT FROM od_intake_exporter_id() THEN
        RAISE EXCEPTION '%', format('Application %s is not filed under the IEC of the API key '
            'this request serves.', p_old.number) {DENY};
    END IF;
    IF p_old.status <> 'returned' OR p_new.status <> 'resubmitted' THEN
        RAISE EXCEPTION '%', format('Application %s cannot go from %s to %s through the '
            'intake API: it only resubmits an application returned with a query.',
            p_old.number, replace(p_old.status, '_', ' '), replace(p_new.status, '_', ' '))
            {DENY};
    END IF;
    IF p_new.version IS DISTINCT FROM p_old.version + 1 THEN
        RAISE EXCEPTION '%', format('The resubmission of application %s must take its version '
            'from %s to %s.', p_old.number, p_old.version, p_old.version + 1) {DENY};
    END IF;
    IF p_new.id IS DISTINCT FROM p_old.id OR p_new.number IS DISTINCT FROM p_old.number
       OR p_new.kind IS DISTINCT FROM p_old.kind
       OR p_new.office_id IS DISTINCT FROM p_old.office_id
       OR p_new.exporter_id IS DISTINCT FROM p_old.exporter_id
       OR p_new.submitted_at IS DISTINCT FROM p_old.submitted_at
       OR p_new.claimed_by_id IS NOT NULL OR p_new.claimed_at IS NOT NULL
       OR p_new.query_text IS DISTINCT FROM p_old.query_text
       OR p_new.rejection_reason IS DISTINCT FROM p_old.rejection_reason
       OR p_new.decided_at IS DISTINCT FROM p_old.decided_at
       OR p_new.applicant_id NOT IN (SELECT p.id FROM applicants p
                                     WHERE p.exporter_id = p_old.exporter_id) THEN
        RAISE EXCEPTION '%', format('A resubmission of application %s changes the exporter''s '
            'data and its status; its number, kind, office, exporter, claim, query and '
            'decision stay.', p_old.number) {DENY};
    END IF;
    RETURN p_new;
END $$;

-- the service's own audit events: intake events of its key's exporter's applications,
-- the actor being the application's applicant through the key
CREATE FUNCTION od_intake_audit_event(p_event audit_events) RETURNS audit_events
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_label text;
BEGIN
    IF p_event.entity_type IS DISTINCT FROM 'application'
       OR p_event.action NOT IN {INTAKE_ACTIONS} THEN
        RAISE EXCEPTION '%', format('The intake API records only the filing, resubmission and '
            'documents of applications, not %s.', p_event.action) {DENY};
    END IF;
    SELECT p.full_name || ' <' || p.email || '> (applicant, API key odk_' || k.prefix || ')'
    INTO v_label
    FROM applications a JOIN applicants p ON p.id = a.applicant_id
    JOIN api_keys k ON k.id = od_intake_key_id() AND k.exporter_id = a.exporter_id
    WHERE a.id = p_event.entity_id;
    IF v_label IS NULL THEN
        RAISE EXCEPTION '%', 'The intake API records events of its API key''s own '
            'applications only.' {DENY};
    END IF;
    p_event.actor_id := NULL;
    p_event.actor_label := v_label;
    RETURN p_event;
END $$;
"""
KEY_FUNCTIONS = ("od_intake_key_id()", "od_intake_exporter_id()", "od_intake_office_id()",
                 "od_intake_office(integer)",
                 "od_intake_application_update(applications, applications)",
                 "od_intake_audit_event(audit_events)")

# hooks into the 0004 guards, right after their "the table owner passes" block
IS_OWNER = ("IF pg_has_role(current_user, (SELECT c.relowner FROM pg_class c "
            "WHERE c.oid = TG_RELID), 'USAGE') THEN")
HOOKS = {
    "od_applications_guard": f"""
    IF pg_has_role(current_user, '{HUB}', 'MEMBER') THEN
        RETURN od_intake_application_update(OLD, NEW);  -- the service's intake (0006)
    END IF;""",
    "od_audit_guard": f"""
    IF pg_has_role(current_user, '{HUB}', 'MEMBER') THEN
        RETURN od_intake_audit_event(NEW);  -- the service's intake (0006)
    END IF;""",
}

KEY_EXPORTER = "(SELECT od_intake_exporter_id())"
VISIBLE_APPLICATION = "application_id IN (SELECT a.id FROM applications a)"
# the application is with the exporter: just filed and never claimed, or returned
WITH_EXPORTER = ("a.claimed_by_id IS NULL AND (a.status = 'returned' "
                 "OR (a.status = 'submitted' AND a.version = 1))")
WRITABLE = f"application_id IN (SELECT a.id FROM applications a WHERE {WITH_EXPORTER})"
RETURNED = "application_id IN (SELECT a.id FROM applications a WHERE a.status = 'returned')"
DOCUMENTS_OPEN = ("application_id IN (SELECT a.id FROM applications a WHERE "
                  "a.claimed_by_id IS NULL AND a.status IN ('submitted', 'resubmitted', "
                  "'returned'))")
SHEET_OF = "cost_sheet_id IN (SELECT s.id FROM cost_sheets s JOIN applications a " \
           "ON a.id = s.application_id WHERE {where})"
ADMIN_OF_OFFICE = "(SELECT od_is_admin()) AND office_id IN (SELECT od_office_ids())"

# (table, name, permissive|restrictive, command, role, using, check)
POLICIES: list[tuple[str, str, str, str, str, str | None, str | None]] = [
    ("applications", "intake_application_read", "PERMISSIVE", "SELECT", HUB,
     f"exporter_id = {KEY_EXPORTER}", None),
    ("applications", "intake_application_file", "PERMISSIVE", "INSERT", HUB, None,
     f"exporter_id = {KEY_EXPORTER} AND office_id = (SELECT od_intake_office_id()) "
     "AND status = 'submitted' AND version = 1 AND claimed_by_id IS NULL "
     "AND claimed_at IS NULL AND query_text IS NULL AND rejection_reason IS NULL "
     "AND decided_at IS NULL AND applicant_id IN (SELECT p.id FROM applicants p "
     f"WHERE p.exporter_id = {KEY_EXPORTER})"),
    ("applications", "intake_application_resubmit", "PERMISSIVE", "UPDATE", HUB,
     f"exporter_id = {KEY_EXPORTER} AND status = 'returned'",
     f"exporter_id = {KEY_EXPORTER} AND status = 'resubmitted'"),
    ("goods_lines", "intake_goods", "PERMISSIVE", "ALL", HUB, VISIBLE_APPLICATION,
     VISIBLE_APPLICATION),
    ("goods_lines", "intake_goods_insert", "RESTRICTIVE", "INSERT", HUB, None, WRITABLE),
    ("goods_lines", "intake_goods_delete", "RESTRICTIVE", "DELETE", HUB, RETURNED, None),
    ("cost_sheets", "intake_cost_sheet", "PERMISSIVE", "ALL", HUB, VISIBLE_APPLICATION,
     VISIBLE_APPLICATION),
    ("cost_sheets", "intake_cost_sheet_insert", "RESTRICTIVE", "INSERT", HUB, None, WRITABLE),
    ("cost_sheets", "intake_cost_sheet_delete", "RESTRICTIVE", "DELETE", HUB, RETURNED, None),
    ("cost_sheet_materials", "intake_material", "PERMISSIVE", "ALL", HUB,
     "cost_sheet_id IN (SELECT s.id FROM cost_sheets s)",
     "cost_sheet_id IN (SELECT s.id FROM cost_sheets s)"),
    ("cost_sheet_materials", "intake_material_insert", "RESTRICTIVE", "INSERT", HUB, None,
     SHEET_OF.format(where=WITH_EXPORTER)),
    ("cost_sheet_materials", "intake_material_delete", "RESTRICTIVE", "DELETE", HUB,
     SHEET_OF.format(where="a.status = 'returned'"), None),
    ("supporting_documents", "intake_document", "PERMISSIVE", "ALL", HUB,
     VISIBLE_APPLICATION, VISIBLE_APPLICATION),
    ("supporting_documents", "intake_document_insert", "RESTRICTIVE", "INSERT", HUB, None,
     DOCUMENTS_OPEN),
    ("certificates", "intake_certificate_read", "PERMISSIVE", "SELECT", HUB,
     VISIBLE_APPLICATION, None),
    ("audit_events", "intake_audit_read", "PERMISSIVE", "SELECT", HUB,
     "entity_type = 'application' AND entity_id IN (SELECT a.id FROM applications a)", None),
    ("audit_events", "intake_audit_write", "PERMISSIVE", "INSERT", HUB, None,
     f"entity_type = 'application' AND action IN {INTAKE_ACTIONS} AND actor_id IS NULL "
     "AND entity_id IN (SELECT a.id FROM applications a)"),
    # the service authenticates any key presented; it only notes when a key was last used
    ("api_keys", "intake_key_read", "PERMISSIVE", "SELECT", HUB, "true", None),
    ("api_keys", "intake_key_used", "PERMISSIVE", "UPDATE", HUB, "revoked_at IS NULL",
     "revoked_at IS NULL"),
    ("api_keys", "api_key_admin_read", "PERMISSIVE", "SELECT", ADMIN, ADMIN_OF_OFFICE, None),
    ("api_keys", "api_key_admin_issue", "PERMISSIVE", "INSERT", ADMIN, None,
     f"{ADMIN_OF_OFFICE} AND created_by_id = (SELECT od_user_id()) "
     "AND revoked_at IS NULL AND last_used_at IS NULL"),
    ("api_keys", "api_key_admin_revoke", "PERMISSIVE", "UPDATE", ADMIN,
     f"{ADMIN_OF_OFFICE} AND revoked_at IS NULL", f"{ADMIN_OF_OFFICE} AND revoked_at IS NOT NULL"),
    ("idempotency_records", "intake_idempotency", "PERMISSIVE", "ALL", HUB,
     "api_key_id = (SELECT od_intake_key_id())", "api_key_id = (SELECT od_intake_key_id())"),
]
NEW_RLS_TABLES = ("api_keys", "idempotency_records")
# (grant, revoke)
PRIVILEGES = [
    (f"GRANT SELECT ON exporters, applicants TO {HUB}",
     f"REVOKE SELECT ON exporters, applicants FROM {HUB}"),
    (f"GRANT SELECT, INSERT, UPDATE ON applications TO {HUB}",
     f"REVOKE SELECT, INSERT, UPDATE ON applications FROM {HUB}"),
    (f"GRANT SELECT, INSERT, DELETE ON goods_lines, cost_sheets, cost_sheet_materials TO {HUB}",
     f"REVOKE SELECT, INSERT, DELETE ON goods_lines, cost_sheets, cost_sheet_materials "
     f"FROM {HUB}"),
    (f"GRANT SELECT, INSERT ON supporting_documents, audit_events TO {HUB}",
     f"REVOKE SELECT, INSERT ON supporting_documents, audit_events FROM {HUB}"),
    (f"GRANT SELECT ON api_keys TO {HUB}", f"REVOKE SELECT ON api_keys FROM {HUB}"),
    (f"GRANT UPDATE (last_used_at) ON api_keys TO {HUB}",
     f"REVOKE UPDATE (last_used_at) ON api_keys FROM {HUB}"),
    (f"GRANT SELECT, INSERT, DELETE ON idempotency_records TO {HUB}",
     f"REVOKE ALL ON idempotency_records FROM {HUB}"),
    (f"GRANT USAGE ON SEQUENCE applications_id_seq, goods_lines_id_seq, cost_sheets_id_seq, "
     f"cost_sheet_materials_id_seq, supporting_documents_id_seq, audit_events_id_seq TO {HUB}",
     f"REVOKE USAGE ON SEQUENCE applications_id_seq, goods_lines_id_seq, cost_sheets_id_seq, "
     f"cost_sheet_materials_id_seq, supporting_documents_id_seq, audit_events_id_seq "
     f"FROM {HUB}"),
    (f"GRANT SELECT, INSERT ON api_keys TO {ADMIN}", f"REVOKE ALL ON api_keys FROM {ADMIN}"),
    (f"GRANT UPDATE (revoked_at) ON api_keys TO {ADMIN}",
     f"REVOKE UPDATE (revoked_at) ON api_keys FROM {ADMIN}"),
    (f"GRANT USAGE ON SEQUENCE api_keys_id_seq TO {ADMIN}",
     f"REVOKE USAGE ON SEQUENCE api_keys_id_seq FROM {ADMIN}"),
]


def _dt() -> sa.types.TypeEngine:
    return app.models.base.UtcDateTime()


def upgrade() -> None:
    op.create_table(
        'api_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('key_sha256', sa.String(length=64), nullable=False),
        sa.Column('exporter_id', sa.Integer(), nullable=False),
        sa.Column('office_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=100), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', _dt(), nullable=False),
        sa.Column('revoked_at', _dt(), nullable=True),
        sa.Column('last_used_at', _dt(), nullable=True),
        sa.ForeignKeyConstraint(['exporter_id'], ['exporters.id'],
                                name=op.f('fk_api_keys_exporter_id_exporters'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['office_id'], ['offices.id'],
                                name=op.f('fk_api_keys_office_id_offices')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_api_keys_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
        sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix')),
    )
    op.create_index(op.f('ix_api_keys_exporter_id'), 'api_keys', ['exporter_id'])
    op.create_table(
        'idempotency_records',
        sa.Column('api_key_id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=200), nullable=False),
        sa.Column('request_sha256', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('response_body', sa.Text(), nullable=False),
        sa.Column('created_at', _dt(), nullable=False),
        sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'],
                                name=op.f('fk_idempotency_records_api_key_id_api_keys'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('api_key_id', 'idempotency_key',
                                name=op.f('pk_idempotency_records')),
    )
    op.create_index(op.f('ix_idempotency_records_created_at'), 'idempotency_records',
                    ['created_at'])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTIONS)
    for name in KEY_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name} TO {HUB}")
    for function, hook in HOOKS.items():
        _rewrite_guard(function, add=hook)
    for grant, _revoke in PRIVILEGES:
        op.execute(grant)
    for table in NEW_RLS_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for table, name, kind, command, role, using, check in POLICIES:
        clause = f"AS {kind} FOR {command} TO {role}"
        if using is not None:
            clause += f" USING ({using})"
        if check is not None:
            clause += f" WITH CHECK ({check})"
        op.execute(f"CREATE POLICY {name} ON {table} {clause}")


def _rewrite_guard(function: str, *, add: str | None = None, remove: str | None = None) -> None:
    """Re-create a 0004 guard with ``add`` inserted after its table-owner block (or with
    ``remove`` taken out again)."""
    bind = op.get_bind()
    definition = bind.execute(sa.text(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.proname = :name"),
        {"name": function}).scalar()
    if definition is None:
        raise RuntimeError(f"{function}() is missing: revision 0004_central_rules first")
    if add is not None:
        start = definition.index(IS_OWNER)
        end = definition.index("END IF;", start) + len("END IF;")
        definition = definition[:end] + add + definition[end:]
    elif remove is not None:
        if remove not in definition:
            raise RuntimeError(f"{function}() does not hold the intake hook")
        definition = definition.replace(remove, "")
    cursor = bind.connection.dbapi_connection.cursor()  # no placeholders: format('%s')
    try:
        cursor.execute(definition)
    finally:
        cursor.close()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, name, *_rest in reversed(POLICIES):
            op.execute(f"DROP POLICY {name} ON {table}")
        for _grant, revoke in reversed(PRIVILEGES):
            op.execute(revoke)
        for function, hook in HOOKS.items():
            _rewrite_guard(function, remove=hook)
        for name in reversed(KEY_FUNCTIONS):
            op.execute(f"DROP FUNCTION {name}")
    op.drop_index(op.f('ix_idempotency_records_created_at'), table_name='idempotency_records')
    op.drop_table('idempotency_records')
    op.drop_index(op.f('ix_api_keys_exporter_id'), table_name='api_keys')
    op.drop_table('api_keys')
