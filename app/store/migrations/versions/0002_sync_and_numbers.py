"""Sync and certificate numbers: change sequence, applied operations, number counters.

- ``applications.change_seq`` is set by the store on every insert or update of an
  application and of the rows that belong to it (goods lines, cost sheets and their
  materials, documents, certificates, audit events). On PostgreSQL from a sequence, with a
  transaction-scoped advisory lock taken before the first row is touched, so that values
  become visible in the order they were handed out (a puller that has seen value N never
  later meets a value below N); on SQLite from the ``change_counter`` row (SQLite has one
  writer at a time anyway).
- ``applied_operations``: the outbox operations desks pushed, with their outcome.
- ``certificate_number_counters``: last serial per agency and year.
- ``db_logins``: which PostgreSQL login role is which user.

Revision ID: 0002_sync_and_numbers
Revises: 0001_initial
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0002_sync_and_numbers'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

LOCK_KEY = 7355608001  # pg_advisory_xact_lock key of the change sequence
# child table -> SQL giving the application ids of the rows in transition table {rows}
CHILDREN = {
    "goods_lines": "SELECT application_id FROM {rows}",
    "cost_sheets": "SELECT application_id FROM {rows}",
    "supporting_documents": "SELECT application_id FROM {rows}",
    "certificates": "SELECT application_id FROM {rows}",
    "cost_sheet_materials": (
        "SELECT s.application_id FROM cost_sheets s JOIN {rows} r ON r.cost_sheet_id = s.id"
    ),
    "audit_events": "SELECT entity_id FROM {rows} WHERE entity_type = 'application'",
}
SQLITE_CHILDREN = {
    "goods_lines": "{row}.application_id",
    "cost_sheets": "{row}.application_id",
    "supporting_documents": "{row}.application_id",
    "certificates": "{row}.application_id",
    "cost_sheet_materials": (
        "(SELECT application_id FROM cost_sheets WHERE id = {row}.cost_sheet_id)"
    ),
    "audit_events": "CASE WHEN {row}.entity_type = 'application' THEN {row}.entity_id END",
}


def upgrade() -> None:
    op.create_table(
        'applied_operations',
        sa.Column('operation_id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('outcome', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('version_after', sa.Integer(), nullable=True),
        sa.Column('received_at', app.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_applied_operations_user_id_users')),
        sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                                name=op.f('fk_applied_operations_application_id_applications')),
        sa.PrimaryKeyConstraint('operation_id', name=op.f('pk_applied_operations')),
    )
    op.create_table(
        'certificate_number_counters',
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('last_serial', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'],
                                name=op.f('fk_certificate_number_counters_agency_id_agencies')),
        sa.PrimaryKeyConstraint('agency_id', 'year', name=op.f('pk_certificate_number_counters')),
    )
    op.create_table(
        'db_logins',
        sa.Column('role_name', sa.String(length=63), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_db_logins_user_id_users')),
        sa.PrimaryKeyConstraint('role_name', name=op.f('pk_db_logins')),
        sa.UniqueConstraint('user_id', name=op.f('uq_db_logins_user_id')),
    )
    with op.batch_alter_table('certificate_numbers', schema=None) as batch_op:
        batch_op.create_index('ix_certificate_numbers_agency_year_state',
                              ['agency_id', 'year', 'state'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_change_seq()
    else:
        _sqlite_change_seq()


def _postgresql_change_seq() -> None:
    op.execute("CREATE SEQUENCE application_change_seq AS bigint")
    op.execute("SELECT setval('application_change_seq', "
               "coalesce((SELECT max(change_seq) FROM applications), 0) + 1, false)")
    op.execute(f"""
        CREATE FUNCTION od_change_seq_lock() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock({LOCK_KEY});
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE FUNCTION od_change_seq_next() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            NEW.change_seq := nextval('application_change_seq');
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER applications_change_seq_lock BEFORE INSERT OR UPDATE "
               "ON applications FOR EACH STATEMENT EXECUTE FUNCTION od_change_seq_lock()")
    op.execute("CREATE TRIGGER applications_change_seq BEFORE INSERT OR UPDATE "
               "ON applications FOR EACH ROW EXECUTE FUNCTION od_change_seq_next()")
    for table, ids in CHILDREN.items():
        for event, rows in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            name = f"od_bump_{table}_{event.lower()}"
            op.execute(f"""
                CREATE FUNCTION {name}() RETURNS trigger
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
                BEGIN
                    UPDATE applications SET change_seq = 0
                    WHERE id IN ({ids.format(rows='changed_rows')});
                    RETURN NULL;
                END $$""")
            op.execute(f"CREATE TRIGGER {table}_bump_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING {rows} TABLE AS changed_rows "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")


def _sqlite_change_seq() -> None:
    op.create_table(
        'change_counter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_change_counter')),
    )
    op.execute("INSERT INTO change_counter (id, value) "
               "SELECT 1, coalesce(max(change_seq), 0) FROM applications")
    for event in ("INSERT", "UPDATE"):
        op.execute(f"""
            CREATE TRIGGER applications_change_seq_{event.lower()} AFTER {event} ON applications
            BEGIN
                UPDATE change_counter SET value = value + 1 WHERE id = 1;
                UPDATE applications SET change_seq = (SELECT value FROM change_counter WHERE id = 1)
                WHERE id = NEW.id;
            END""")
    for table, ids in SQLITE_CHILDREN.items():
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(f"""
                CREATE TRIGGER {table}_bump_{event.lower()} AFTER {event} ON {table}
                BEGIN
                    UPDATE applications SET change_seq = change_seq
                    WHERE id = {ids.format(row=row)};
                END""")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in CHILDREN:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_bump_{event} ON {table}")
                op.execute(f"DROP FUNCTION od_bump_{table}_{event}()")
        op.execute("DROP TRIGGER applications_change_seq ON applications")
        op.execute("DROP TRIGGER applications_change_seq_lock ON applications")
        op.execute("DROP FUNCTION od_change_seq_next()")
        op.execute("DROP FUNCTION od_change_seq_lock()")
        op.execute("DROP SEQUENCE application_change_seq")
    else:
        for table in SQLITE_CHILDREN:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_bump_{event}")
        op.execute("DROP TRIGGER applications_change_seq_insert")
        op.execute("DROP TRIGGER applications_change_seq_update")
        op.drop_table('change_counter')
    with op.batch_alter_table('certificate_numbers', schema=None) as batch_op:
        batch_op.drop_index('ix_certificate_numbers_agency_year_state')
    op.drop_table('db_logins')
    op.drop_table('certificate_number_counters')
    op.drop_table('applied_operations')
