"""The central service: officers' passwords and sessions, captchas answered, QR seals, and
the service's database role acting for the officer it has authenticated.

Both engines: ``user_credentials``, ``hub_sessions``, ``agency_sign_in_policies``,
``captcha_uses`` and ``agency_seals`` (``app/store/hub_tables.py``).

PostgreSQL: the group ``origin_desk_hub`` is the service's login (``origin-desk db
grant --hub ROLE``). It owns no table and reaches the service's own tables through grants; for a
request of a signed-in officer it runs ``SET ROLE origin_desk_officer`` (or ``_admin``) and
names the user in the transaction setting ``od.acting_login``, so that the privileges, the
row-level security policies, the triggers and the issuing functions of revisions 0003 and
0004 bind the service exactly as they bind the officer's own login: they name the caller
through ``od_login_name()`` instead of ``session_user``, and that function believes the
setting only when the session's login is a member of ``origin_desk_hub``.

Revision ID: 0005_central_service
Revises: 0004_central_rules
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0005_central_service'
down_revision = '0004_central_rules'
branch_labels = None
depends_on = None

HUB = "origin_desk_hub"
# tables with row-level security that the service reads as itself: sign-in (users), DSC
# proof (dsc_registrations), the trust list and status look-ups (certificates; agencies:
# whose seal a key is, for the published trust list and the public QR check)
HUB_READS = ("users", "officer_offices", "dsc_registrations", "certificates", "agencies")
ADMIN_CREDENTIALS = (
    "GRANT SELECT (user_id, must_change, failed_attempts, locked_until, changed_at), "
    "INSERT, UPDATE ON user_credentials TO origin_desk_admin",
    "GRANT SELECT (user_id, created_at, expires_at, last_seen_at, revoked_at, client), "
    "UPDATE (revoked_at) ON hub_sessions TO origin_desk_admin",
    "GRANT SELECT, INSERT, UPDATE ON agency_sign_in_policies TO origin_desk_admin",
    "ALTER TABLE user_credentials ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE hub_sessions ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE agency_sign_in_policies ENABLE ROW LEVEL SECURITY",
    # an administrator sees the users of their agency only (users' own policies)
    "CREATE POLICY admin_of_agency ON user_credentials FOR ALL TO origin_desk_admin "
    "USING ((SELECT od_is_admin()) AND user_id IN (SELECT id FROM users WHERE agency_id = "
    "(SELECT od_agency_id()))) WITH CHECK ((SELECT od_is_admin()) AND user_id IN "
    "(SELECT id FROM users WHERE agency_id = (SELECT od_agency_id())))",
    "CREATE POLICY admin_of_agency ON hub_sessions FOR ALL TO origin_desk_admin "
    "USING ((SELECT od_is_admin()) AND user_id IN (SELECT id FROM users WHERE agency_id = "
    "(SELECT od_agency_id())))",
    "CREATE POLICY admin_of_agency ON agency_sign_in_policies FOR ALL TO origin_desk_admin "
    "USING ((SELECT od_is_admin()) AND agency_id = (SELECT od_agency_id())) "
    "WITH CHECK ((SELECT od_is_admin()) AND agency_id = (SELECT od_agency_id()))",
    # the service itself (a member of the admin group) keeps every row of its tables
    f"CREATE POLICY hub_all ON user_credentials FOR ALL TO {HUB} USING (true)",
    f"CREATE POLICY hub_all ON hub_sessions FOR ALL TO {HUB} USING (true)",
    f"CREATE POLICY hub_all ON agency_sign_in_policies FOR ALL TO {HUB} USING (true)",
)
HUB_TABLES = ("user_credentials", "hub_sessions", "agency_sign_in_policies", "captcha_uses",
              "agency_seals")

LOGIN_NAME = f"""
CREATE FUNCTION od_login_name() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF pg_has_role(session_user, '{HUB}', 'MEMBER') THEN
        RETURN nullif(current_setting('od.acting_login', true), '');
    END IF;
    RETURN session_user;
END $$;
"""


def _dt() -> sa.types.TypeEngine:
    return app.models.base.UtcDateTime()


def upgrade() -> None:
    op.create_table(
        'user_credentials',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=False),
        sa.Column('must_change', sa.Boolean(), nullable=False),
        sa.Column('failed_attempts', sa.Integer(), nullable=False),
        sa.Column('locked_until', _dt(), nullable=True),
        sa.Column('changed_at', _dt(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_user_credentials_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_credentials')),
    )
    op.create_table(
        'hub_sessions',
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', _dt(), nullable=False),
        sa.Column('expires_at', _dt(), nullable=False),
        sa.Column('last_seen_at', _dt(), nullable=False),
        sa.Column('revoked_at', _dt(), nullable=True),
        sa.Column('client', sa.String(length=200), nullable=False),
        sa.Column('dsc_fingerprint', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_hub_sessions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_hub_sessions')),
    )
    op.create_index(op.f('ix_hub_sessions_user_id'), 'hub_sessions', ['user_id'])
    op.create_table(
        'agency_sign_in_policies',
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('require_dsc', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'],
                                name=op.f('fk_agency_sign_in_policies_agency_id_agencies'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('agency_id', name=op.f('pk_agency_sign_in_policies')),
    )
    op.create_table(
        'captcha_uses',
        sa.Column('captcha_id', sa.String(length=64), nullable=False),
        sa.Column('used_at', _dt(), nullable=False),
        sa.PrimaryKeyConstraint('captcha_id', name=op.f('pk_captcha_uses')),
    )
    op.create_index(op.f('ix_captcha_uses_used_at'), 'captcha_uses', ['used_at'])
    op.create_table(
        'agency_seals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('key_id', sa.LargeBinary(length=8), nullable=False),
        sa.Column('certificate', sa.LargeBinary(), nullable=False),
        sa.Column('key_label', sa.String(length=100), nullable=False),
        sa.Column('created_at', _dt(), nullable=False),
        sa.Column('retired_at', _dt(), nullable=True),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'],
                                name=op.f('fk_agency_seals_agency_id_agencies'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_seals')),
        sa.UniqueConstraint('key_id', name=op.f('uq_agency_seals_key_id')),
    )
    op.create_index(op.f('ix_agency_seals_agency_id'), 'agency_seals', ['agency_id'])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{HUB}') "
               f"THEN CREATE ROLE {HUB} NOLOGIN; END IF; END $$")
    op.execute(LOGIN_NAME)
    op.execute("REVOKE ALL ON FUNCTION od_login_name() FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION od_login_name() TO origin_desk_officer, "
               f"origin_desk_admin, {HUB}")
    _rewrite_functions("session_user", "od_login_name()")
    # a member (to SET ROLE for the officer it acts for) that does not inherit: as itself
    # the service has only what is granted to it below
    op.execute(f"ALTER ROLE {HUB} NOINHERIT")
    op.execute(f"GRANT origin_desk_officer, origin_desk_admin TO {HUB}")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {HUB}")
    op.execute("DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO "
               f"{HUB}', current_database()); END $$")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(HUB_TABLES)} TO {HUB}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {HUB}")
    # who is who: the service names the user it acts for by their login mapping
    op.execute(f"GRANT SELECT, INSERT ON db_logins TO {HUB}")
    op.execute(f"GRANT SELECT ON users, agencies, offices, officer_offices, "
               f"dsc_registrations, certificates, alembic_version TO {HUB}")
    op.execute(f"GRANT EXECUTE ON FUNCTION od_certificate_status(text) TO {HUB}")
    # the service is a member of the desk groups (to SET ROLE to them), so their policies
    # bind it when it acts as itself too; what it reads as itself it reads through these
    for table in HUB_READS:
        op.execute(f"CREATE POLICY hub_reads ON {table} FOR SELECT TO {HUB} USING (true)")
    # administrators manage their agency's users' passwords, sessions and sign-in policy
    # (never reading a password hash or a token digest)
    for statement in ADMIN_CREDENTIALS:
        op.execute(statement)


def _rewrite_functions(old: str, new: str) -> None:
    """Re-create every od_* function (but od_login_name) whose body names ``old``."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT p.oid, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname LIKE 'od\\_%' "
        "AND p.proname <> 'od_login_name' AND p.prosrc LIKE :pattern"),
        {"pattern": f"%{old}%"}).all()
    for oid, _name in rows:
        definition = bind.execute(sa.text("SELECT pg_get_functiondef(:oid)"),
                                  {"oid": oid}).scalar()
        body_start = definition.index("AS $")
        head, body = definition[:body_start], definition[body_start:]
        cursor = bind.connection.dbapi_connection.cursor()  # no placeholders: format('%s')
        try:
            cursor.execute(head + body.replace(old, new))
        finally:
            cursor.close()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in HUB_READS:
            op.execute(f"DROP POLICY hub_reads ON {table}")
        for table in ("user_credentials", "hub_sessions", "agency_sign_in_policies"):
            op.execute(f"DROP POLICY admin_of_agency ON {table}")
            op.execute(f"DROP POLICY hub_all ON {table}")
            op.execute(f"REVOKE ALL ON {table} FROM origin_desk_admin")
        _rewrite_functions("od_login_name()", "session_user")
        op.execute("DROP FUNCTION od_login_name()")
        op.execute(f"REVOKE origin_desk_officer, origin_desk_admin FROM {HUB}")
        op.execute(f"REVOKE ALL ON db_logins, users, agencies, offices, officer_offices, "
                   f"dsc_registrations, certificates, alembic_version FROM {HUB}")
        op.execute(f"REVOKE EXECUTE ON FUNCTION od_certificate_status(text) FROM {HUB}")
        op.execute(f"REVOKE USAGE ON ALL SEQUENCES IN SCHEMA public FROM {HUB}")
    op.drop_index(op.f('ix_agency_seals_agency_id'), table_name='agency_seals')
    op.drop_table('agency_seals')
    op.drop_index(op.f('ix_captcha_uses_used_at'), table_name='captcha_uses')
    op.drop_table('captcha_uses')
    op.drop_table('agency_sign_in_policies')
    op.drop_index(op.f('ix_hub_sessions_user_id'), table_name='hub_sessions')
    op.drop_table('hub_sessions')
    op.drop_table('user_credentials')
