"""Roles and row-level security on PostgreSQL (nothing to do on SQLite).

Group roles (NOLOGIN): ``origin_desk_officer``, ``origin_desk_admin``,
``origin_desk_verifier``. Each user logs in with their own role, a member of one group,
named in ``db_logins`` (``origin-desk db grant``). The helper functions run as their owner
(SECURITY DEFINER) and look the login up by ``session_user``; the policies then let:

- an officer see and change only the applications of the offices they are mapped to, and
  the rows that belong to those applications (goods, cost sheets, documents, certificates,
  audit events, wallet lines);
- an administrator see their own agency's offices, users and applications and write its
  offices, users, office mappings and DSC registrations;
- the verifier call ``od_certificate_status(number)`` and nothing else.

Policies bind neither superusers nor table owners: the migrations' role owns the tables,
desks never connect as it.

Revision ID: 0003_row_security
Revises: 0002_sync_and_numbers
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op

revision = '0003_row_security'
down_revision = '0002_sync_and_numbers'
branch_labels = None
depends_on = None

GROUPS = ("origin_desk_officer", "origin_desk_admin", "origin_desk_verifier")
DESK = "origin_desk_officer, origin_desk_admin"
VISIBLE_APPLICATION = "EXISTS (SELECT 1 FROM applications a WHERE a.id = application_id)"
# table -> (privileges for both desk groups, policies: (name, command, using, check))
POLICIES: dict[str, tuple[str, list[tuple[str, str, str, str | None]]]] = {
    "agencies": ("SELECT", [("agency_read", "SELECT", "id = (SELECT od_agency_id())", None)]),
    "offices": ("SELECT, INSERT, UPDATE", [
        ("office_read", "SELECT", "agency_id = (SELECT od_agency_id())", None),
        ("office_admin", "ALL", "(SELECT od_is_admin()) AND agency_id = (SELECT od_agency_id())",
         "(SELECT od_is_admin()) AND agency_id = (SELECT od_agency_id())"),
    ]),
    "users": ("SELECT, INSERT, UPDATE", [
        ("user_read", "SELECT", "agency_id = (SELECT od_agency_id())", None),
        ("user_admin", "ALL", "(SELECT od_is_admin()) AND agency_id = (SELECT od_agency_id())",
         "(SELECT od_is_admin()) AND agency_id = (SELECT od_agency_id())"),
    ]),
    "officer_offices": ("SELECT, INSERT, DELETE", [
        ("mapping_read", "SELECT", "office_id IN (SELECT id FROM offices)", None),
        ("mapping_admin", "ALL", "(SELECT od_is_admin()) AND office_id IN (SELECT od_office_ids())",
         "(SELECT od_is_admin()) AND office_id IN (SELECT od_office_ids()) "
         "AND user_id IN (SELECT id FROM users)"),
    ]),
    "applications": ("SELECT, UPDATE", [
        ("application_office", "ALL", "office_id IN (SELECT od_office_ids())",
         "office_id IN (SELECT od_office_ids())"),
    ]),
    "goods_lines": ("SELECT, UPDATE", [
        ("goods_of_visible", "ALL", VISIBLE_APPLICATION, VISIBLE_APPLICATION)]),
    "cost_sheets": ("SELECT, UPDATE", [
        ("cost_sheet_of_visible", "ALL", VISIBLE_APPLICATION, VISIBLE_APPLICATION)]),
    "cost_sheet_materials": ("SELECT, UPDATE", [
        ("material_of_visible", "ALL", "EXISTS (SELECT 1 FROM cost_sheets s WHERE s.id = cost_sheet_id)",
         "EXISTS (SELECT 1 FROM cost_sheets s WHERE s.id = cost_sheet_id)")]),
    "supporting_documents": ("SELECT", [
        ("document_of_visible", "ALL", VISIBLE_APPLICATION, VISIBLE_APPLICATION)]),
    "certificates": ("SELECT, INSERT, UPDATE", [
        ("certificate_of_visible", "ALL", VISIBLE_APPLICATION, VISIBLE_APPLICATION)]),
    "certificate_numbers": ("SELECT, INSERT, UPDATE", [
        ("number_of_agency", "ALL", "agency_id = (SELECT od_agency_id())", "agency_id = (SELECT od_agency_id())")]),
    "certificate_number_counters": ("SELECT, INSERT, UPDATE", [
        ("counter_of_agency", "ALL", "agency_id = (SELECT od_agency_id())", "agency_id = (SELECT od_agency_id())")]),
    "wallet_entries": ("SELECT, INSERT", [
        ("wallet_of_office", "ALL", "office_id IN (SELECT od_office_ids())",
         "office_id IN (SELECT od_office_ids())")]),
    "dsc_registrations": ("SELECT, INSERT, UPDATE", [
        ("dsc_read", "SELECT", "user_id IN (SELECT id FROM users)", None),
        ("dsc_write", "ALL", "user_id = (SELECT od_user_id()) OR ((SELECT od_is_admin()) AND user_id IN "
         "(SELECT id FROM users))", "user_id = (SELECT od_user_id()) OR ((SELECT od_is_admin()) AND user_id IN "
         "(SELECT id FROM users))"),
    ]),
    "audit_events": ("SELECT, INSERT", [
        ("audit_read", "SELECT",
         "(entity_type = 'application' AND EXISTS (SELECT 1 FROM applications a "
         "WHERE a.id = entity_id)) "
         "OR (entity_type <> 'application' AND (SELECT od_is_admin()) AND actor_id IN "
         "(SELECT id FROM users)) OR actor_id = (SELECT od_user_id())", None),
        ("audit_write", "INSERT", "true",
         "actor_id = (SELECT od_user_id()) AND (entity_type <> 'application' "
         "OR EXISTS (SELECT 1 FROM applications a WHERE a.id = entity_id))"),
    ]),
    "applied_operations": ("SELECT, INSERT", [
        ("operation_of_user", "ALL", "user_id = (SELECT od_user_id())", "user_id = (SELECT od_user_id())")]),
}
READ_ONLY = ("exporters", "applicants", "gst_registrations", "exporter_branches",
             "alembic_version")

# plpgsql (plans cached per session, unlike nested SQL functions); policies call them as
# "(SELECT f())" or "IN (SELECT f())" so that they run once per statement, not per row
FUNCTIONS = """
CREATE FUNCTION od_user_id() RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN (SELECT l.user_id FROM db_logins l JOIN users u ON u.id = l.user_id
            WHERE l.role_name = session_user AND u.status = 'active');
END $$;
CREATE FUNCTION od_agency_id() RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN (SELECT u.agency_id FROM db_logins l JOIN users u ON u.id = l.user_id
            WHERE l.role_name = session_user AND u.status = 'active');
END $$;
CREATE FUNCTION od_is_admin() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN coalesce((SELECT u.role = 'administrator' FROM db_logins l JOIN users u
                     ON u.id = l.user_id
                     WHERE l.role_name = session_user AND u.status = 'active'), false);
END $$;
CREATE FUNCTION od_office_ids() RETURNS SETOF integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT o.id FROM db_logins l
    JOIN users u ON u.id = l.user_id AND u.status = 'active'
    JOIN offices o ON o.agency_id = u.agency_id
    WHERE l.role_name = session_user AND (
        u.role = 'administrator'
        OR EXISTS (SELECT 1 FROM officer_offices m WHERE m.user_id = u.id AND m.office_id = o.id));
END $$;
CREATE FUNCTION od_certificate_status(certificate_number text)
RETURNS TABLE (number text, status text, issued_at timestamptz, superseded_by_number text,
               agency_code text, agency_name text, office_name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.number::text, c.status::text, c.issued_at, c.superseded_by_number::text,
           a.code::text, a.name::text, o.name::text
    FROM certificates c JOIN offices o ON o.id = c.office_id
    JOIN agencies a ON a.id = o.agency_id
    WHERE c.number = certificate_number
$$;
"""
FUNCTION_NAMES = ("od_user_id()", "od_agency_id()", "od_is_admin()", "od_office_ids()",
                  "od_certificate_status(text)")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for group in GROUPS:
        op.execute(f"""
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{group}') THEN
                    CREATE ROLE {group} NOLOGIN;
                END IF;
            END $$""")
    op.execute(FUNCTIONS)
    for name in FUNCTION_NAMES:
        op.execute(f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name} TO {DESK}")
    op.execute("GRANT EXECUTE ON FUNCTION od_certificate_status(text) TO origin_desk_verifier")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {DESK}, origin_desk_verifier")
    op.execute("DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO origin_desk_officer, "
               "origin_desk_admin, origin_desk_verifier', current_database()); END $$")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {DESK}")
    op.execute(f"REVOKE ALL ON application_change_seq FROM {DESK}")
    for table in READ_ONLY:
        op.execute(f"GRANT SELECT ON {table} TO {DESK}")
    for table, (privileges, policies) in POLICIES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {DESK}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        for name, command, using, check in policies:
            clause = f"FOR {command} TO {DESK}"
            if command != "INSERT":
                clause += f" USING ({using})"
            if check is not None:
                clause += f" WITH CHECK ({check})"
            op.execute(f"CREATE POLICY {name} ON {table} {clause}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (_privileges, policies) in POLICIES.items():
        for name, *_rest in policies:
            op.execute(f"DROP POLICY {name} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute(f"REVOKE ALL ON {table} FROM {DESK}")
    for table in READ_ONLY:
        op.execute(f"REVOKE ALL ON {table} FROM {DESK}")
    op.execute(f"REVOKE USAGE ON ALL SEQUENCES IN SCHEMA public FROM {DESK}")
    for name in reversed(FUNCTION_NAMES):
        op.execute(f"DROP FUNCTION {name}")
    # the group roles are cluster-wide and may serve other databases: they stay
