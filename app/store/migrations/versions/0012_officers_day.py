"""The officer's day (issue 13, part 1): trade events, a per-office overdue limit, and the
indexes the dashboard's figures read.

Both engines:

- ``offices.overdue_limit_hours`` (integer, 48 by default, 1 to 720): an application waiting
  on the office longer than this is flagged overdue in the queue and on the dashboard
  (``app/services/queue_rows.py``). Existing offices get 48.
- ``trade_events``: an agency's fairs, missions and buyer-seller meets for its officers
  (title, first and last India date, place, note; ``ends_on >= starts_on``), indexed by
  (``agency_id``, ``starts_on``).
- indexes for ``app/services/dashboard.py`` (declared on the models too, so a desk's local
  copy has them): ``certificates (issued_at, office_id)`` (issued per day, covering),
  ``applications (office_id, status, waiting_since)`` (overdue counts, covering; the
  oldest waiting per office and status) and ``audit_events (actor_id, at)`` (the user's
  own work today).

PostgreSQL only:

- ``offices``: ``CHECK (overdue_limit_hours BETWEEN 1 AND 720)``; officers (who read
  offices column by column since 0004) may read the new column; administrators write it
  (0003's table grants).
- ``trade_events``: row-level security; desk roles SELECT their agency's events; INSERT,
  UPDATE and DELETE are granted to both desk groups so that the guard below answers an
  officer with a sentence (rather than a bare permission error), and the policy keeps
  every write inside the caller's agency.
- ``trade_events_a_guard`` (BEFORE INSERT, UPDATE or DELETE, as the writer; every writer
  but the table owner): only an active administrator of the event's agency writes; the title is 1 to 200
  characters once trimmed, the place at most 200 and the note at most 2000; the last day
  is not before the first; ``updated_at`` is the store's clock and ``created_by_id`` the
  caller (``od_user_id()``, which since 0005 names the user the central service acts for).
  Refusals are SQLSTATE ``ODREF`` with one sentence.

Revision ID: 0012_officers_day
Revises: 0011_legacy_rule
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0012_officers_day'
down_revision = '0011_legacy_rule'
branch_labels = None
depends_on = None

DESK = "origin_desk_officer, origin_desk_admin"
DEFAULT_LIMIT = 48  # app.models.organisation.DEFAULT_OVERDUE_LIMIT_HOURS
MAX_LIMIT = 720  # app.models.organisation.MAX_OVERDUE_LIMIT_HOURS
MAX_TITLE = 200  # app.models.trade_events
MAX_PLACE = 200
MAX_NOTE = 2000
IS_OWNER = ("pg_has_role(current_user, (SELECT c.relowner FROM pg_class c "
            "WHERE c.oid = TG_RELID), 'USAGE')")

GUARD = f"""
-- as the writer (not SECURITY DEFINER: the table owner, the store's own code, passes); the
-- caller is named by od_user_id() / od_is_admin() / od_agency_id(), which 0005 made
-- believe the central service acting for a user
CREATE FUNCTION od_trade_event_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_row trade_events;
    v_user integer;
    v_name text;
    v_title text;
BEGIN
    IF {IS_OWNER} THEN
        RETURN coalesce(NEW, OLD);  -- the store's owner (migrations, the demo's seed)
    END IF;
    v_row := coalesce(NEW, OLD);
    v_user := od_user_id();
    IF v_user IS NULL OR NOT od_is_admin()
       OR v_row.agency_id IS DISTINCT FROM od_agency_id()
       OR (TG_OP = 'UPDATE' AND OLD.agency_id IS DISTINCT FROM od_agency_id()) THEN
        SELECT u.full_name INTO v_name FROM users u WHERE u.id = v_user;
        RAISE EXCEPTION '%', format('Only an administrator of the agency adds, changes or '
            'removes its trade events; %s cannot.',
            coalesce(v_name, 'the database login ' || od_login_name()))
            USING ERRCODE = 'ODREF';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    v_title := btrim(coalesce(NEW.title, ''));
    IF v_title = '' OR length(v_title) > {MAX_TITLE} THEN
        RAISE EXCEPTION '%', format('A trade event has a title of 1 to {MAX_TITLE} characters; '
            'this one has %s.', length(v_title)) USING ERRCODE = 'ODREF';
    END IF;
    IF length(coalesce(NEW.place, '')) > {MAX_PLACE}
       OR length(coalesce(NEW.note, '')) > {MAX_NOTE} THEN
        RAISE EXCEPTION '%', format('Trade event %s: the place is at most {MAX_PLACE} '
            'characters and the note at most {MAX_NOTE}.', quote_literal(left(v_title, 80)))
            USING ERRCODE = 'ODREF';
    END IF;
    IF NEW.starts_on IS NULL OR NEW.ends_on IS NULL OR NEW.ends_on < NEW.starts_on THEN
        RAISE EXCEPTION '%', format('Trade event %s ends on %s, before it starts on %s.',
            quote_literal(left(v_title, 80)), coalesce(NEW.ends_on::text, 'no date'),
            coalesce(NEW.starts_on::text, 'no date')) USING ERRCODE = 'ODREF';
    END IF;
    NEW.title := v_title;
    NEW.place := btrim(coalesce(NEW.place, ''));
    NEW.note := btrim(coalesce(NEW.note, ''));
    NEW.updated_at := now();
    IF TG_OP = 'INSERT' THEN
        NEW.created_by_id := v_user;
    ELSE
        NEW.created_by_id := OLD.created_by_id;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER trade_events_a_guard BEFORE INSERT OR UPDATE OR DELETE ON trade_events
FOR EACH ROW EXECUTE FUNCTION od_trade_event_guard();
"""
AGENCY = "agency_id = (SELECT od_agency_id())"


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    op.add_column('offices', sa.Column('overdue_limit_hours', sa.Integer(), nullable=False,
                                       server_default=sa.text(str(DEFAULT_LIMIT))))
    op.create_table(
        'trade_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=MAX_TITLE), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('place', sa.String(length=MAX_PLACE), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', app.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_trade_events_ends_after_start')),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'],
                                name=op.f('fk_trade_events_agency_id_agencies')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_trade_events_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_trade_events')),
    )
    op.create_index('ix_trade_events_agency_starts', 'trade_events', ['agency_id', 'starts_on'])
    op.create_index('ix_certificates_issued_at', 'certificates', ['issued_at', 'office_id'])
    op.create_index('ix_applications_office_waiting', 'applications',
                    ['office_id', 'status', 'waiting_since'])
    op.create_index('ix_audit_events_actor_at', 'audit_events', ['actor_id', 'at'])
    if not postgresql:
        return  # SQLite: app/services/admin.py and app/services/trade_events.py check
    # officers read offices column by column (0004 keeps the payment secrets from them)
    op.execute("GRANT SELECT (overdue_limit_hours) ON offices TO origin_desk_officer")
    op.create_check_constraint(op.f('ck_offices_overdue_limit_hours_range'), 'offices',
                               f'overdue_limit_hours BETWEEN 1 AND {MAX_LIMIT}')
    op.execute("ALTER TABLE trade_events ENABLE ROW LEVEL SECURITY")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON trade_events TO {DESK}")
    op.execute(f"GRANT USAGE ON SEQUENCE trade_events_id_seq TO {DESK}")
    op.execute(f"CREATE POLICY trade_event_read ON trade_events FOR SELECT TO {DESK} "
               f"USING ({AGENCY})")
    op.execute(f"CREATE POLICY trade_event_write ON trade_events FOR ALL TO {DESK} "
               f"USING ({AGENCY}) WITH CHECK ({AGENCY})")
    op.execute(GUARD)
    op.execute("REVOKE ALL ON FUNCTION od_trade_event_guard() FROM PUBLIC")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER trade_events_a_guard ON trade_events")
        op.execute("DROP FUNCTION od_trade_event_guard()")
        op.execute("DROP POLICY trade_event_write ON trade_events")
        op.execute("DROP POLICY trade_event_read ON trade_events")
        op.execute("REVOKE SELECT (overdue_limit_hours) ON offices FROM origin_desk_officer")
        op.drop_constraint(op.f('ck_offices_overdue_limit_hours_range'), 'offices',
                           type_='check')
    op.drop_index('ix_audit_events_actor_at', 'audit_events')
    op.drop_index('ix_applications_office_waiting', 'applications')
    op.drop_index('ix_certificates_issued_at', 'certificates')
    op.drop_index('ix_trade_events_agency_starts', 'trade_events')
    op.drop_table('trade_events')
    # a plain ALTER TABLE ... DROP COLUMN on SQLite too (3.35+): no table copy, so the
    # tables that refer to offices and their triggers stay as they are
    op.drop_column('offices', 'overdue_limit_hours')
