"""The e-wallet ledger (issue 12, part 6): balances that never go negative, a top-up
credited once, one fee per certificate, and cancellation with a same-day refund.

Both engines (``docs/WALLET.md``):

- ``office_wallets``: one row per office, ``balance`` numeric(14, 2) with
  ``CHECK (balance >= 0)``, kept equal to the sum of the office's ``wallet_entries`` by a
  trigger in the transaction that inserts each line. Concurrent issues of one office queue
  on this row (the trigger's UPDATE locks it until the transaction ends), so the check
  sees every committed debit. Opening rows are the sums of the existing ledgers; an
  office whose ledger summed below zero (fees debited before balances were kept) gets a
  ``top_up`` line ``OPENING-0009`` that brings it to zero, so that every balance is the
  sum of its lines.
- ``wallet_entries``: unique (``certificate_number``, ``kind``): one fee and at most one
  refund per certificate; unique (``office_id``, ``reference``) among ``top_up`` lines:
  a payment-gateway reference credits an office once.

PostgreSQL only:

- ``wallet_entries_a_guard`` (BEFORE INSERT, as the writer): a desk role inserts only
  ``top_up`` lines (administrators, by 0004's policy), with a gateway reference of 4 to
  100 letters, digits, spaces and ``/ _ . : -``, an amount of at most two decimals and at most
  ``MAX_TOP_UP``, a reference not yet credited to that office, and the store's clock as
  ``at``; refusals are SQLSTATE ``ODREF``.
- ``wallet_entries_balance`` (AFTER INSERT, SECURITY DEFINER): adds the line to the
  office's balance; a debit that would take it below zero is refused with the balance and
  the fee named (``ODREF``), so ``od_record_issue`` refuses the issue whole.
- ``certificate_numbers_wallet`` (BEFORE INSERT of a ``reserved`` number, which only
  ``od_reserve_certificate_number`` makes): refuses the reservation when the office's
  e-wallet is on and holds less than the application's fee. So reserve and record check
  the balance inside the store without their bodies being replaced here: 0004's
  ``od_reserve_certificate_number`` and ``od_record_issue`` stay as they are.
- ``od_cancel_certificate(p_application_id, p_reason)`` (SECURITY DEFINER, desk roles; the
  caller named by ``od_login_name()`` of 0005, so the central service acting for a user works):
  an officer mapped to the office or an administrator of the agency cancels the issued
  certificate of an issued application with a reason: certificate ``cancelled`` with
  ``cancel_reason``, application ``issued -> cancelled`` (workflow CANCEL), audit events
  ``application.cancel`` and ``certificate.cancelled``, and, when it is the India date
  (Asia/Kolkata) on which it was issued, a ``refund`` line of the fee debited.
- ``office_wallets``: desk roles SELECT the rows of their offices (row-level security),
  nothing else.

Fees are 0004's (``FEE_PREFERENTIAL``, ``FEE_NON_PREFERENTIAL``), frozen here again.

Revision ID: 0009_wallet_ledger
Revises: 0008_origin_rules
Create Date: 2026-11-30
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = '0009_wallet_ledger'
down_revision = '0008_origin_rules'
branch_labels = None
depends_on = None

DESK = "origin_desk_officer, origin_desk_admin"
# app.models.certificates.CERTIFICATE_FEES, as 0004 froze them
FEE_PREFERENTIAL = "600.00"
FEE_NON_PREFERENTIAL = "200.00"
MAX_TOP_UP = "10000000.00"  # app.services.wallet.MAX_TOP_UP
REFERENCE_PATTERN = "^[A-Za-z0-9][A-Za-z0-9 /_.:-]{3,99}$"  # app.services.wallet
MAX_TEXT = 2000  # app.models.workflow.MAX_TEXT
OPENING_REFERENCE = "OPENING-0009"
TOP_UP_WHERE = "kind = 'top_up'"
RUPEES = "'FM999,999,999,990.00'"  # to_char format: 1,400.00 (app.services.wallet.rupees)

SQLITE_TRIGGER = """
CREATE TRIGGER wallet_entries_balance AFTER INSERT ON wallet_entries
BEGIN
    INSERT OR IGNORE INTO office_wallets (office_id, balance, updated_at)
    VALUES (NEW.office_id, 0, CURRENT_TIMESTAMP);
    UPDATE office_wallets
    SET balance = round(balance + CAST(NEW.amount AS REAL), 2), updated_at = CURRENT_TIMESTAMP
    WHERE office_id = NEW.office_id;
END
"""

FUNCTIONS = f"""
CREATE FUNCTION od_certificate_fee(p_kind text) RETURNS numeric
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
    SELECT CASE WHEN p_kind = 'preferential' THEN {FEE_PREFERENTIAL}::numeric
                ELSE {FEE_NON_PREFERENTIAL}::numeric END
$$;

CREATE FUNCTION od_rupees(p_amount numeric) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
    SELECT '₹' || to_char(p_amount, {RUPEES})
$$;

-- a desk role's top-up: checked here (the policy of 0004 lets administrators insert
-- positive top_up lines of their offices); the owner (the store's functions) passes
CREATE FUNCTION od_wallet_entry_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_office text;
    v_reference text := btrim(coalesce(NEW.reference, ''));
    v_credited wallet_entries;
BEGIN
    IF pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID),
                   'USAGE') THEN
        RETURN NEW;
    END IF;
    SELECT o.code INTO v_office FROM offices o WHERE o.id = NEW.office_id;
    IF NEW.kind IS DISTINCT FROM 'top_up' OR NEW.certificate_number IS NOT NULL THEN
        RAISE EXCEPTION '%', 'Fees and refunds are written by the central store when it '
            'records an issue or a cancellation; a desk writes top-ups only.'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.amount IS NULL OR NEW.amount <= 0 THEN
        RAISE EXCEPTION '%', format('A top-up of office %s credits a positive amount; a '
            'debit is written by the central store.', v_office)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF v_reference !~ '{REFERENCE_PATTERN}' THEN
        RAISE EXCEPTION '%', format('The payment-gateway reference %s is not one: 4 to 100 '
            'letters, digits, spaces and / _ . : -, starting with a letter or digit.',
            quote_literal(left(v_reference, 120))) USING ERRCODE = 'ODREF';
    END IF;
    IF NEW.amount <> round(NEW.amount, 2) OR NEW.amount > {MAX_TOP_UP} THEN
        RAISE EXCEPTION '%', format('A top-up of office %s is more than ₹0.00 and at most '
            '%s, in rupees and paise; %s is not.', v_office, od_rupees({MAX_TOP_UP}),
            coalesce(NEW.amount::text, 'nothing')) USING ERRCODE = 'ODREF';
    END IF;
    SELECT w.* INTO v_credited FROM wallet_entries w
    WHERE w.office_id = NEW.office_id AND w.kind = 'top_up' AND w.reference = v_reference;
    IF FOUND THEN
        RAISE EXCEPTION '%', format('Payment-gateway reference %s was already credited to '
            'office %s on %s (%s); a payment is credited once.', v_reference, v_office,
            to_char(v_credited.at AT TIME ZONE 'Asia/Kolkata', 'YYYY-MM-DD'),
            od_rupees(v_credited.amount)) USING ERRCODE = 'ODREF';
    END IF;
    NEW.reference := v_reference;
    NEW.at := now();  -- the store's clock, whatever the desk sent
    RETURN NEW;
END $$;

-- every line moves its office's balance in the inserting transaction; the row lock
-- queues concurrent issues of one office; never below zero
CREATE FUNCTION od_wallet_entry_balance() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_balance numeric;
    v_application text;
BEGIN
    INSERT INTO office_wallets (office_id, balance, updated_at)
    VALUES (NEW.office_id, 0, now()) ON CONFLICT (office_id) DO NOTHING;
    -- locked until the transaction ends: a second desk's debit waits here, then reads
    -- the balance this one left
    SELECT w.balance INTO v_balance FROM office_wallets w WHERE w.office_id = NEW.office_id
    FOR UPDATE;
    IF v_balance + NEW.amount < 0 THEN
        v_application := coalesce(nullif(NEW.reference, ''), 'certificate '
                                  || coalesce(NEW.certificate_number, '?'));
        RAISE EXCEPTION '%', format('Office %s''s e-wallet holds %s; the certificate fee for '
            'application %s is %s: ask an administrator to top it up first; it was not '
            'issued.', (SELECT o.code FROM offices o WHERE o.id = NEW.office_id),
            od_rupees(v_balance), v_application, od_rupees(-NEW.amount))
            USING ERRCODE = 'ODREF';
    END IF;
    UPDATE office_wallets w SET balance = w.balance + NEW.amount, updated_at = now()
    WHERE w.office_id = NEW.office_id;
    RETURN NULL;
END $$;

-- a number reserved for an application whose office's e-wallet cannot pay its fee
CREATE FUNCTION od_wallet_reserve_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_app record;
    v_fee numeric;
    v_balance numeric;
BEGIN
    IF NEW.state IS DISTINCT FROM 'reserved' OR NEW.application_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT a.number, a.kind, o.code, o.ewallet_enabled, a.office_id INTO v_app
    FROM applications a JOIN offices o ON o.id = a.office_id WHERE a.id = NEW.application_id;
    IF NOT FOUND OR NOT v_app.ewallet_enabled THEN
        RETURN NEW;
    END IF;
    v_fee := od_certificate_fee(v_app.kind);
    v_balance := coalesce((SELECT w.balance FROM office_wallets w
                           WHERE w.office_id = v_app.office_id), 0);
    IF v_balance < v_fee THEN
        RAISE EXCEPTION '%', format('Office %s''s e-wallet holds %s; the certificate fee for '
            'application %s is %s: ask an administrator to top it up first.', v_app.code,
            od_rupees(v_balance), v_app.number, od_rupees(v_fee)) USING ERRCODE = 'ODREF';
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION od_cancel_certificate(p_application_id integer, p_reason text)
RETURNS TABLE (number text, application_number text, refund numeric)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_user users;
    v_agency_id integer;
    v_app applications;
    v_office offices;
    v_certificate certificates;
    v_reason text := btrim(coalesce(p_reason, ''));
    v_label text;
    v_now timestamptz := now();
    v_fee wallet_entries;
    v_refund numeric;
BEGIN
    SELECT u.* INTO v_user FROM db_logins l JOIN users u ON u.id = l.user_id
    WHERE l.role_name = od_login_name() AND u.status = 'active';
    IF NOT FOUND THEN
        RAISE EXCEPTION '%', format('The database login %s is not an active Origin Desk user; '
            'it cannot cancel certificates.', od_login_name()) USING ERRCODE = 'ODREF';
    END IF;
    SELECT o.agency_id INTO v_agency_id FROM applications a JOIN offices o ON o.id = a.office_id
    WHERE a.id = p_application_id;
    IF v_agency_id IS NULL OR v_agency_id IS DISTINCT FROM v_user.agency_id THEN
        RAISE EXCEPTION '%', format('Application #%s is not in the central store.',
            p_application_id) USING ERRCODE = 'ODREF';
    END IF;
    SELECT a.* INTO v_app FROM applications a WHERE a.id = p_application_id FOR UPDATE;
    SELECT o.* INTO v_office FROM offices o WHERE o.id = v_app.office_id;
    IF NOT (v_user.role = 'administrator' OR (v_user.role = 'officer' AND EXISTS (
            SELECT 1 FROM officer_offices m
            WHERE m.user_id = v_user.id AND m.office_id = v_app.office_id))) THEN
        RAISE EXCEPTION '%', format('%s is not an officer of office %s, which holds '
            'application %s; only its officers or an administrator can cancel its '
            'certificate.', v_user.full_name, v_office.code, v_app.number)
            USING ERRCODE = 'ODREF';
    END IF;
    SELECT c.* INTO v_certificate FROM certificates c WHERE c.application_id = v_app.id
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%', format('Application %s has no certificate to cancel.',
            v_app.number) USING ERRCODE = 'ODREF';
    END IF;
    IF v_certificate.status = 'cancelled' THEN
        RAISE EXCEPTION '%', format('Certificate %s of application %s is already cancelled.',
            v_certificate.number, v_app.number) USING ERRCODE = 'ODREF';
    END IF;
    IF v_certificate.status <> 'valid' OR v_app.status <> 'issued' THEN
        RAISE EXCEPTION '%', format('Certificate %s of application %s is %s; only a valid '
            'certificate of an issued application can be cancelled.', v_certificate.number,
            v_app.number, coalesce('superseded by ' || v_certificate.superseded_by_number,
                                   v_certificate.status)) USING ERRCODE = 'ODREF';
    END IF;
    IF v_reason = '' THEN
        RAISE EXCEPTION '%', format('To cancel certificate %s, write a reason for the '
            'cancellation.', v_certificate.number) USING ERRCODE = 'ODREF';
    END IF;
    IF length(v_reason) > {MAX_TEXT} THEN
        RAISE EXCEPTION '%', format('The reason for cancelling %s has %s characters; at most '
            '{MAX_TEXT} are allowed.', v_certificate.number, length(v_reason))
            USING ERRCODE = 'ODREF';
    END IF;

    v_label := v_user.full_name || ' <' || v_user.email || '>';
    UPDATE certificates c SET status = 'cancelled', cancel_reason = v_reason
    WHERE c.id = v_certificate.id;
    -- workflow CANCEL (workflow.perform): issued -> cancelled, the claim cleared
    UPDATE applications a SET status = 'cancelled', claimed_by_id = NULL, claimed_at = NULL,
        version = a.version + 1, updated_at = v_now
    WHERE a.id = v_app.id;
    INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, entity_id,
                              before, after, note)
    VALUES (v_now, v_user.id, v_label, 'application.cancel', 'application', v_app.id,
            json_build_object('status', v_app.status, 'claimed_by_id', v_app.claimed_by_id,
                              'query_text', v_app.query_text,
                              'rejection_reason', v_app.rejection_reason),
            json_build_object('status', 'cancelled', 'claimed_by_id', NULL,
                              'query_text', v_app.query_text,
                              'rejection_reason', v_app.rejection_reason),
            v_reason);
    -- same India date as the issue: the fee debited comes back
    SELECT w.* INTO v_fee FROM wallet_entries w
    WHERE w.certificate_number = v_certificate.number AND w.kind = 'fee';
    IF FOUND AND (v_certificate.issued_at AT TIME ZONE 'Asia/Kolkata')::date
                 = (v_now AT TIME ZONE 'Asia/Kolkata')::date THEN
        v_refund := -v_fee.amount;
        INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, reference, at)
        VALUES (v_fee.office_id, 'refund', v_refund, v_certificate.number, v_app.number, v_now);
    END IF;
    INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, entity_id,
                              before, after, note)
    VALUES (v_now, v_user.id, v_label, 'certificate.cancelled', 'certificate',
            v_certificate.id, json_build_object('status', v_certificate.status),
            json_build_object('status', 'cancelled', 'number', v_certificate.number,
                              'application', v_app.number, 'refund', v_refund::text),
            v_reason);
    RETURN QUERY SELECT v_certificate.number::text, v_app.number::text, v_refund;
END $$;
"""
TRIGGERS = """
CREATE TRIGGER wallet_entries_a_guard BEFORE INSERT ON wallet_entries
FOR EACH ROW EXECUTE FUNCTION od_wallet_entry_guard();
CREATE TRIGGER wallet_entries_balance AFTER INSERT ON wallet_entries
FOR EACH ROW EXECUTE FUNCTION od_wallet_entry_balance();
CREATE TRIGGER certificate_numbers_wallet BEFORE INSERT ON certificate_numbers
FOR EACH ROW EXECUTE FUNCTION od_wallet_reserve_check();
"""
# od_rupees and od_certificate_fee: pure, and called by the guard as the writer
PUBLIC_FUNCTIONS = ("od_cancel_certificate(integer, text)", "od_certificate_fee(text)",
                    "od_rupees(numeric)")
INTERNAL_FUNCTIONS = ("od_wallet_entry_guard()", "od_wallet_entry_balance()",
                      "od_wallet_reserve_check()")


def upgrade() -> None:
    op.create_table(
        'office_wallets',
        sa.Column('office_id', sa.Integer(), nullable=False),
        sa.Column('balance', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('balance >= 0', name=op.f('ck_office_wallets_balance_not_negative')),
        sa.ForeignKeyConstraint(['office_id'], ['offices.id'],
                                name=op.f('fk_office_wallets_office_id_offices')),
        sa.PrimaryKeyConstraint('office_id', name=op.f('pk_office_wallets')),
    )
    with op.batch_alter_table('wallet_entries', schema=None) as batch_op:
        batch_op.create_index('ux_wallet_entries_certificate_kind',
                              ['certificate_number', 'kind'], unique=True)
        batch_op.create_index('ux_wallet_entries_top_up_reference', ['office_id', 'reference'],
                              unique=True, sqlite_where=sa.text(TOP_UP_WHERE),
                              postgresql_where=sa.text(TOP_UP_WHERE))
    _opening_balances()
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.execute(SQLITE_TRIGGER)
        return  # SQLite: app/services/central_issuing.py and app/services/wallet.py check
    op.execute("ALTER TABLE office_wallets ENABLE ROW LEVEL SECURITY")
    op.execute(f"GRANT SELECT ON office_wallets TO {DESK}")
    op.execute(f"CREATE POLICY wallet_balance_read ON office_wallets FOR SELECT TO {DESK} "
               "USING (office_id IN (SELECT od_office_ids()))")
    op.execute(FUNCTIONS)
    for name in PUBLIC_FUNCTIONS + INTERNAL_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC")
    for name in PUBLIC_FUNCTIONS:
        op.execute(f"GRANT EXECUTE ON FUNCTION {name} TO {DESK}")
    op.execute(TRIGGERS)


def _opening_balances() -> None:
    """office_wallets rows: each office's ledger sum; a negative sum is brought to zero by
    an OPENING-0009 top-up line (fees debited before balances were kept)."""
    bind = op.get_bind()
    sqlite = bind.dialect.name != "postgresql"
    sums: dict[int, Decimal] = {
        int(office_id): Decimal("0.00") for office_id in
        bind.execute(sa.text("SELECT id FROM offices")).scalars()}
    latest: dict[int, object] = {}
    for office_id, amount, at in bind.execute(sa.text(
            "SELECT office_id, amount, at FROM wallet_entries ORDER BY at")):
        sums[int(office_id)] = sums.get(int(office_id), Decimal("0.00")) + Decimal(str(amount))
        latest[int(office_id)] = at
    for office_id, total in sorted(sums.items()):
        # as of the office's latest line (the same store gives the same rows: the demo's
        # seed is deterministic), or now for an office without lines
        as_of = latest.get(office_id) or _when(dt.datetime.now(dt.UTC), sqlite)
        total = total.quantize(Decimal("0.01"))
        if total < 0:
            bind.execute(sa.text(
                "INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, "
                "reference, at) VALUES (:o, 'top_up', :a, NULL, :r, :t)"),
                {"o": office_id, "a": str(-total) if sqlite else -total,
                 "r": OPENING_REFERENCE, "t": as_of})
            total = Decimal("0.00")
        bind.execute(sa.text("INSERT INTO office_wallets (office_id, balance, updated_at) "
                             "VALUES (:o, :b, :t)"),
                     {"o": office_id, "b": float(total) if sqlite else total, "t": as_of})


def _when(moment: dt.datetime, sqlite: bool) -> object:
    # SQLite keeps UtcDateTime as naive UTC text (app.models.base.UtcDateTime)
    return moment.replace(tzinfo=None).isoformat(sep=" ") if sqlite else moment


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER certificate_numbers_wallet ON certificate_numbers")
        op.execute("DROP TRIGGER wallet_entries_balance ON wallet_entries")
        op.execute("DROP TRIGGER wallet_entries_a_guard ON wallet_entries")
        for name in reversed(PUBLIC_FUNCTIONS + INTERNAL_FUNCTIONS):
            op.execute(f"DROP FUNCTION {name}")
        op.execute("DROP POLICY wallet_balance_read ON office_wallets")
    else:
        op.execute("DROP TRIGGER wallet_entries_balance")
    op.execute(f"DELETE FROM wallet_entries WHERE kind = 'top_up' "
               f"AND reference = '{OPENING_REFERENCE}'")
    with op.batch_alter_table('wallet_entries', schema=None) as batch_op:
        batch_op.drop_index('ux_wallet_entries_top_up_reference')
        batch_op.drop_index('ux_wallet_entries_certificate_kind')
    op.drop_table('office_wallets')
