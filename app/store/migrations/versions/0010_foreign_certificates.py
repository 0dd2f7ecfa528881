"""Back-to-back certificates: the foreign certificate recorded once per exporter, its goods,
and the quantities each back-to-back application draws from them.

Both engines: ``foreign_certificates`` (exporter, number, issuing country, issuer, date;
unique per exporter + country + number), ``foreign_certificate_goods`` (description, HS
code, quantity, unit) and ``goods_lines.foreign_goods_id`` (the foreign goods item a
back-to-back line draws its quantity from, in the item's unit). Existing back-to-back
applications are migrated: one foreign certificate per exporter + country + number, one
goods item per description, HS code and unit holding what their lines drew; and a
back-to-back application never names a trade agreement or a preferential form.

PostgreSQL only (``docs/STORE.md``, "Back-to-back"):

- a CHECK keeps back-to-back applications on the non-preferential form;
- desk roles read the foreign certificates their visible applications name; the central
  service (``origin_desk_hub``) records them for its API key's exporter only, with their
  goods in the same transaction; nobody but the owner changes or deletes them;
- triggers (SECURITY DEFINER, for every role, the owner included): a goods line draws only
  from its application's own foreign certificate, in the item's unit
  (``goods_lines_b_foreign``); an approval by a desk role fits the balance less what other
  approved applications drew (``applications_b_back_to_back``); a reservation fits the
  balance (``certificate_numbers_b_back_to_back``); and the certificate's insert, which
  ``od_record_issue`` makes, locks the foreign certificates drawn from and refuses an
  over-draw (``certificates_b_back_to_back``): two desks issuing against one foreign
  certificate queue there and the second sees the first's certificate;
- ``od_foreign_draws(integer[])``: what approved and issued applications drew from the
  foreign certificates the caller's offices' applications name (the desk's balance).

Revision ID: 0010_foreign_certificates
Revises: 0009_wallet_ledger
Create Date: 2026-11-30
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0010_foreign_certificates'
down_revision = '0009_wallet_ledger'
branch_labels = None
depends_on = None

DESK = "origin_desk_officer, origin_desk_admin"
HUB = "origin_desk_hub"
KEY_EXPORTER = "(SELECT od_intake_exporter_id())"
NAMED_BY_VISIBLE = (
    "EXISTS (SELECT 1 FROM applications a WHERE a.kind = 'back_to_back' "
    "AND a.exporter_id = foreign_certificates.exporter_id "
    "AND a.foreign_certificate_number = foreign_certificates.number "
    "AND a.foreign_certificate_country = foreign_certificates.country)")
# (table, name, command, role, using, check)
POLICIES = [
    ("foreign_certificates", "foreign_read", "SELECT", DESK, NAMED_BY_VISIBLE, None),
    ("foreign_certificates", "intake_foreign_read", "SELECT", HUB,
     f"exporter_id = {KEY_EXPORTER}", None),
    ("foreign_certificates", "intake_foreign_record", "INSERT", HUB, None,
     f"exporter_id = {KEY_EXPORTER}"),
    ("foreign_certificate_goods", "foreign_goods_read", "SELECT", f"{DESK}, {HUB}",
     "foreign_certificate_id IN (SELECT f.id FROM foreign_certificates f)", None),
    # goods only with their certificate, in the transaction that records it
    ("foreign_certificate_goods", "intake_foreign_goods_record", "INSERT", HUB, None,
     "foreign_certificate_id IN (SELECT f.id FROM foreign_certificates f "
     f"WHERE f.exporter_id = {KEY_EXPORTER} AND f.xmin = pg_current_xact_id()::xid)"),
]
PRIVILEGES = [
    (f"GRANT SELECT ON foreign_certificates, foreign_certificate_goods TO {DESK}",
     f"REVOKE ALL ON foreign_certificates, foreign_certificate_goods FROM {DESK}"),
    (f"GRANT SELECT, INSERT ON foreign_certificates, foreign_certificate_goods TO {HUB}",
     f"REVOKE ALL ON foreign_certificates, foreign_certificate_goods FROM {HUB}"),
    (f"GRANT USAGE ON SEQUENCE foreign_certificates_id_seq, "
     f"foreign_certificate_goods_id_seq TO {HUB}",
     f"REVOKE USAGE ON SEQUENCE foreign_certificates_id_seq, "
     f"foreign_certificate_goods_id_seq FROM {HUB}"),
]
NONPREF_NAME = "ck_applications_back_to_back_nonpref"
NONPREF_CHECK = "kind <> 'back_to_back' OR (agreement_code IS NULL AND form_code = 'NONPREF')"

FUNCTIONS = """
-- the over-draw check of one application: raises ODREF naming the balance.
-- p_approved: count what other approved applications drew (approval); p_lock: lock the
-- foreign certificates first (the certificate's insert), so concurrent issues queue.
CREATE FUNCTION od_back_to_back_check(p_application_id integer, p_approved boolean,
                                      p_lock boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_app applications;
    v_item record;
    v_issued numeric;
    v_approved numeric;
    v_balance numeric;
BEGIN
    SELECT a.* INTO v_app FROM applications a WHERE a.id = p_application_id;
    IF NOT FOUND OR v_app.kind <> 'back_to_back' THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM goods_lines g WHERE g.application_id = v_app.id
               AND g.foreign_goods_id IS NULL) THEN
        RAISE EXCEPTION '%', format('Back-to-back application %s has goods lines that draw '
            'from no goods item of the recorded foreign certificate %s.', v_app.number,
            coalesce(v_app.foreign_certificate_number, '(none named)')) USING ERRCODE = 'ODREF';
    END IF;
    IF p_lock THEN
        PERFORM 1 FROM foreign_certificates f WHERE f.id IN (
            SELECT i.foreign_certificate_id FROM foreign_certificate_goods i
            JOIN goods_lines g ON g.foreign_goods_id = i.id WHERE g.application_id = v_app.id)
        ORDER BY f.id FOR UPDATE;
    END IF;
    FOR v_item IN
        SELECT i.id, i.item_no, i.description, i.quantity, i.unit, f.number AS certificate,
               sum(g.quantity) AS drawn
        FROM goods_lines g JOIN foreign_certificate_goods i ON i.id = g.foreign_goods_id
        JOIN foreign_certificates f ON f.id = i.foreign_certificate_id
        WHERE g.application_id = v_app.id
        GROUP BY i.id, f.number ORDER BY i.id
    LOOP
        SELECT coalesce(sum(g.quantity), 0) INTO v_issued FROM goods_lines g
        WHERE g.foreign_goods_id = v_item.id AND g.application_id <> v_app.id
          AND EXISTS (SELECT 1 FROM certificates c WHERE c.application_id = g.application_id
                      AND c.status <> 'cancelled');
        v_approved := 0;
        IF p_approved THEN
            SELECT coalesce(sum(g.quantity), 0) INTO v_approved FROM goods_lines g
            JOIN applications a ON a.id = g.application_id
            WHERE g.foreign_goods_id = v_item.id AND a.id <> v_app.id AND a.status = 'approved'
              AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.application_id = a.id);
        END IF;
        v_balance := v_item.quantity - v_issued - v_approved;
        IF v_item.drawn > v_balance THEN
            RAISE EXCEPTION '%', format('Back-to-back application %s draws %s %s of item %s '
                '(%s) of foreign certificate %s, whose balance is %s %s (%s certified, %s drawn '
                'by issued certificates%s).', v_app.number, trim_scale(v_item.drawn),
                v_item.unit, v_item.item_no, v_item.description, v_item.certificate,
                trim_scale(v_balance), v_item.unit, trim_scale(v_item.quantity),
                trim_scale(v_issued), CASE WHEN p_approved THEN format(', %s by other '
                'approved applications', trim_scale(v_approved)) ELSE '' END)
                USING ERRCODE = 'ODREF';
        END IF;
    END LOOP;
END $$;

CREATE FUNCTION od_goods_line_foreign() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_app applications;
    v_item foreign_certificate_goods;
    v_certificate foreign_certificates;
BEGIN
    IF NEW.foreign_goods_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT a.* INTO v_app FROM applications a WHERE a.id = NEW.application_id;
    SELECT i.* INTO v_item FROM foreign_certificate_goods i WHERE i.id = NEW.foreign_goods_id;
    SELECT f.* INTO v_certificate FROM foreign_certificates f
    WHERE f.id = v_item.foreign_certificate_id;
    IF v_app.kind IS DISTINCT FROM 'back_to_back' OR v_certificate.id IS NULL
       OR v_certificate.exporter_id IS DISTINCT FROM v_app.exporter_id
       OR v_certificate.number IS DISTINCT FROM v_app.foreign_certificate_number
       OR v_certificate.country IS DISTINCT FROM v_app.foreign_certificate_country THEN
        RAISE EXCEPTION '%', format('Goods line %s of application %s may draw only from the '
            'foreign certificate its back-to-back application names.', NEW.item_no,
            v_app.number) USING ERRCODE = 'ODREF';
    END IF;
    IF NEW.unit IS DISTINCT FROM v_item.unit THEN
        RAISE EXCEPTION '%', format('Goods line %s of application %s is in %s but item %s of '
            'foreign certificate %s is in %s; a line draws in the item''s unit.', NEW.item_no,
            v_app.number, NEW.unit, v_item.item_no, v_certificate.number, v_item.unit)
            USING ERRCODE = 'ODREF';
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION od_applications_back_to_back() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    -- a desk role's approval (the owner's seeding and functions pass, like the 0004 guard)
    IF NEW.kind = 'back_to_back' AND NEW.status = 'approved' AND OLD.status <> 'approved'
       AND NOT pg_has_role(session_user, (SELECT c.relowner FROM pg_class c
                                          WHERE c.oid = TG_RELID), 'USAGE') THEN
        PERFORM od_back_to_back_check(NEW.id, true, false);
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION od_reservation_back_to_back() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.state = 'reserved' AND NEW.application_id IS NOT NULL THEN
        PERFORM od_back_to_back_check(NEW.application_id, false, false);
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION od_certificate_back_to_back() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM od_back_to_back_check(NEW.application_id, false, true);
    RETURN NEW;
END $$;

-- what approved and issued applications drew from these foreign certificates, for those
-- named by an application of the caller's offices
CREATE FUNCTION od_foreign_draws(p_ids integer[])
RETURNS TABLE (foreign_goods_id integer, application_id integer, quantity numeric, state text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT g.foreign_goods_id, g.application_id, g.quantity,
           CASE WHEN EXISTS (SELECT 1 FROM certificates c WHERE c.application_id = a.id
                             AND c.status <> 'cancelled') THEN 'issued' ELSE 'approved' END
    FROM goods_lines g
    JOIN applications a ON a.id = g.application_id
    JOIN foreign_certificate_goods i ON i.id = g.foreign_goods_id
    JOIN foreign_certificates f ON f.id = i.foreign_certificate_id
    WHERE f.id = ANY (p_ids)
      AND (a.status = 'approved' OR EXISTS (SELECT 1 FROM certificates c
           WHERE c.application_id = a.id AND c.status <> 'cancelled'))
      AND EXISTS (SELECT 1 FROM applications v WHERE v.kind = 'back_to_back'
                  AND v.exporter_id = f.exporter_id AND v.foreign_certificate_number = f.number
                  AND v.foreign_certificate_country = f.country
                  AND v.office_id IN (SELECT od_office_ids()))
$$;

CREATE TRIGGER goods_lines_b_foreign BEFORE INSERT OR UPDATE OF foreign_goods_id, unit
ON goods_lines FOR EACH ROW EXECUTE FUNCTION od_goods_line_foreign();
-- after applications_a_guard (triggers fire in name order)
CREATE TRIGGER applications_b_back_to_back BEFORE UPDATE OF status ON applications
FOR EACH ROW EXECUTE FUNCTION od_applications_back_to_back();
CREATE TRIGGER certificate_numbers_b_back_to_back BEFORE INSERT ON certificate_numbers
FOR EACH ROW EXECUTE FUNCTION od_reservation_back_to_back();
CREATE TRIGGER certificates_b_back_to_back BEFORE INSERT ON certificates
FOR EACH ROW EXECUTE FUNCTION od_certificate_back_to_back();
"""
INTERNAL_FUNCTIONS = ("od_back_to_back_check(integer, boolean, boolean)",
                      "od_goods_line_foreign()", "od_applications_back_to_back()",
                      "od_reservation_back_to_back()", "od_certificate_back_to_back()")
PUBLIC_FUNCTIONS = ("od_foreign_draws(integer[])",)
TRIGGERS = (("goods_lines_b_foreign", "goods_lines"),
            ("applications_b_back_to_back", "applications"),
            ("certificate_numbers_b_back_to_back", "certificate_numbers"),
            ("certificates_b_back_to_back", "certificates"))


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        'foreign_certificates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('exporter_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=64), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('issuer', sa.String(length=200), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('recorded_at', app.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['exporter_id'], ['exporters.id'],
                                name=op.f('fk_foreign_certificates_exporter_id_exporters')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_foreign_certificates')),
        sa.UniqueConstraint('exporter_id', 'country', 'number',
                            name=op.f('uq_foreign_certificates_exporter_id')),
    )
    op.create_index(op.f('ix_foreign_certificates_exporter_id'), 'foreign_certificates',
                    ['exporter_id'])
    op.create_table(
        'foreign_certificate_goods',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('foreign_certificate_id', sa.Integer(), nullable=False),
        sa.Column('item_no', sa.Integer(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('hs_code', sa.String(length=8), nullable=False),
        sa.Column('quantity', app.models.base.ExactDecimal(), nullable=False),
        sa.Column('unit', sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ['foreign_certificate_id'], ['foreign_certificates.id'], ondelete='CASCADE',
            name=op.f('fk_foreign_certificate_goods_foreign_certificate_id_foreign_certificates')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_foreign_certificate_goods')),
        sa.UniqueConstraint('foreign_certificate_id', 'item_no',
                            name=op.f('uq_foreign_certificate_goods_foreign_certificate_id')),
    )
    op.create_index(op.f('ix_foreign_certificate_goods_foreign_certificate_id'),
                    'foreign_certificate_goods', ['foreign_certificate_id'])
    if postgresql:
        op.add_column('goods_lines', sa.Column('foreign_goods_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_goods_lines_foreign_goods_id_foreign_certificate_goods'),
                              'goods_lines', 'foreign_certificate_goods',
                              ['foreign_goods_id'], ['id'])
    elif 'foreign_goods_id' not in {c['name'] for c in sa.inspect(op.get_bind())
                                    .get_columns('goods_lines')}:
        # a plain ADD COLUMN: a batch rebuild would drop the change-sequence triggers (and
        # a downgrade leaves the column: SQLite cannot drop a referencing column)
        op.execute("ALTER TABLE goods_lines ADD COLUMN foreign_goods_id INTEGER "
                   "REFERENCES foreign_certificate_goods (id)")
    op.create_index(op.f('ix_goods_lines_foreign_goods_id'), 'goods_lines',
                    ['foreign_goods_id'])
    _migrate_back_to_back()
    if not postgresql:
        return
    op.execute(f"ALTER TABLE applications ADD CONSTRAINT {NONPREF_NAME} CHECK ({NONPREF_CHECK})")
    for grant, _undo in PRIVILEGES:
        op.execute(grant)
    for table in ("foreign_certificates", "foreign_certificate_goods"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for table, name, command, role, using, check in POLICIES:
        clause = f"FOR {command} TO {role}"
        if using is not None:
            clause += f" USING ({using})"
        if check is not None:
            clause += f" WITH CHECK ({check})"
        op.execute(f"CREATE POLICY {name} ON {table} {clause}")
    op.execute(FUNCTIONS)
    for name in INTERNAL_FUNCTIONS + PUBLIC_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC")
    for name in PUBLIC_FUNCTIONS:
        op.execute(f"GRANT EXECUTE ON FUNCTION {name} TO {DESK}")


def _migrate_back_to_back() -> None:
    """Existing back-to-back applications: on the non-preferential form, and drawing from a
    recorded foreign certificate that certifies what their lines drew."""
    bind = op.get_bind()
    apps = sa.table('applications', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                    sa.column('exporter_id', sa.Integer),
                    sa.column('agreement_code', sa.String), sa.column('form_code', sa.String),
                    sa.column('invoice_date', sa.Date),
                    sa.column('submitted_at', app.models.base.UtcDateTime()),
                    sa.column('foreign_origin_country', sa.String),
                    sa.column('foreign_certificate_number', sa.String),
                    sa.column('foreign_certificate_country', sa.String),
                    sa.column('foreign_certificate_issuer', sa.String),
                    sa.column('foreign_certificate_date', sa.Date))
    lines = sa.table('goods_lines', sa.column('id', sa.Integer),
                     sa.column('application_id', sa.Integer),
                     sa.column('description', sa.Text), sa.column('hs_code', sa.String),
                     sa.column('quantity', app.models.base.ExactDecimal()),
                     sa.column('unit', sa.String), sa.column('foreign_goods_id', sa.Integer))
    certificates = sa.table('foreign_certificates', sa.column('id', sa.Integer),
                            sa.column('exporter_id', sa.Integer),
                            sa.column('number', sa.String), sa.column('country', sa.String),
                            sa.column('issuer', sa.String), sa.column('issued_on', sa.Date),
                            sa.column('recorded_at', app.models.base.UtcDateTime()))
    goods = sa.table('foreign_certificate_goods', sa.column('id', sa.Integer),
                     sa.column('foreign_certificate_id', sa.Integer),
                     sa.column('item_no', sa.Integer), sa.column('description', sa.Text),
                     sa.column('hs_code', sa.String),
                     sa.column('quantity', app.models.base.ExactDecimal()),
                     sa.column('unit', sa.String))
    b2b = apps.c.kind == 'back_to_back'
    bind.execute(sa.update(apps).where(b2b, sa.or_(apps.c.agreement_code.is_not(None),
                                                   apps.c.form_code != 'NONPREF'))
                 .values(agreement_code=None, form_code='NONPREF'))
    rows = bind.execute(sa.select(apps).where(
        b2b, apps.c.foreign_certificate_number.is_not(None)).order_by(apps.c.id)).all()
    if not rows:
        return
    groups: dict[tuple[int, str, str], list] = {}
    for row in rows:
        country = row.foreign_certificate_country or row.foreign_origin_country
        if not country or not row.foreign_certificate_number.strip():
            continue
        groups.setdefault((row.exporter_id, country, row.foreign_certificate_number), []).append(row)
    for (exporter_id, country, number), members in groups.items():
        first = members[0]
        certificate_id = bind.execute(sa.insert(certificates).values(
            exporter_id=exporter_id, number=number, country=country,
            issuer=first.foreign_certificate_issuer or '',
            issued_on=first.foreign_certificate_date or first.invoice_date,
            recorded_at=min(m.submitted_at for m in members)).returning(certificates.c.id)
        ).scalar_one()
        if first.foreign_certificate_country is None:
            bind.execute(sa.update(apps).where(apps.c.id.in_([m.id for m in members]))
                         .values(foreign_certificate_country=country))
        items: dict[tuple[str, str, str], list] = {}
        for line in bind.execute(sa.select(lines).where(lines.c.application_id.in_(
                [m.id for m in members])).order_by(lines.c.application_id, lines.c.id)):
            items.setdefault((line.description, line.hs_code, line.unit), []).append(line)
        for item_no, ((description, hs_code, unit), drawn) in enumerate(items.items(), start=1):
            item_id = bind.execute(sa.insert(goods).values(
                foreign_certificate_id=certificate_id, item_no=item_no,
                description=description, hs_code=hs_code, unit=unit,
                quantity=sum((line.quantity for line in drawn), Decimal('0')),
            ).returning(goods.c.id)).scalar_one()
            bind.execute(sa.update(lines).where(lines.c.id.in_([line.id for line in drawn]))
                         .values(foreign_goods_id=item_id))


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        for name, table in TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON {table}")
        for name in PUBLIC_FUNCTIONS + INTERNAL_FUNCTIONS[::-1]:
            op.execute(f"DROP FUNCTION {name}")
        for table, name, *_rest in POLICIES:
            op.execute(f"DROP POLICY {name} ON {table}")
        for _grant, undo in reversed(PRIVILEGES):
            op.execute(undo)
        op.execute(f"ALTER TABLE applications DROP CONSTRAINT {NONPREF_NAME}")
    op.drop_index(op.f('ix_goods_lines_foreign_goods_id'), table_name='goods_lines')
    if postgresql:
        op.drop_constraint(op.f('fk_goods_lines_foreign_goods_id_foreign_certificate_goods'),
                           'goods_lines', type_='foreignkey')
    if postgresql:
        op.drop_column('goods_lines', 'foreign_goods_id')
    else:  # SQLite cannot drop a column that references another table: it stays, unused
        op.execute("UPDATE goods_lines SET foreign_goods_id = NULL")
    op.drop_index(op.f('ix_foreign_certificate_goods_foreign_certificate_id'),
                  table_name='foreign_certificate_goods')
    op.drop_table('foreign_certificate_goods')
    op.drop_index(op.f('ix_foreign_certificates_exporter_id'),
                  table_name='foreign_certificates')
    op.drop_table('foreign_certificates')
