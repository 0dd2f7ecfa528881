"""The desk's rules enforced by the central store: an officer's own login can do through
plain SQL nothing more than the desk itself allows.

Both engines: ``certificate_numbers.reserved_by_id`` (the user who reserved the number)
and ``certificate_numbers.desk_session`` (the desk session that reserved it, an opaque id).

PostgreSQL only (see docs/STORE.md, "What each role may do"):

- **Gateway secrets**: officers may not select ``offices.merchant_id`` and
  ``offices.checksum_key`` (column privileges); administrators keep every column.
- **Numbers, counters, certificates, fees and the issue**: desk roles keep SELECT but lose
  INSERT/UPDATE/DELETE on ``certificate_numbers``, ``certificate_number_counters`` and
  ``certificates``, and officers lose INSERT on ``wallet_entries`` (administrators may insert
  positive ``top_up`` lines for their agency's offices). They change only through SECURITY
  DEFINER functions that run the issuing rules of ``app/services/issuing.py``:
  ``od_reserve_certificate_number``, ``od_record_issue``, ``od_void_certificate_number``,
  ``od_release_reservations``. Refusals raise SQLSTATE ``ODREF`` (a sentence for the
  officer), concurrent changes ``ODCON``.
- **Applications**: a trigger lets desk roles make only the workflow's desk transitions
  (claim, release, return, approve, reject; ``app/models/workflow.py``), by whom the
  workflow says, and never change the application's own data. Goods lines, cost sheets and
  their materials become read-only for desk roles.
- **Audit events**: a trigger sets the actor from the login whatever the client sent, and
  refuses ``certificate.*`` events and events about someone else's DSC from desk roles.
- **DSC registrations**: an officer inserts only their own (not revoked, fingerprint =
  SHA-256 of the DER); only an administrator of the agency updates (``revoked_at`` only).

The triggers let the table owner (the migrations' role, which the SECURITY DEFINER
functions run as) through: the functions, and the change-sequence triggers, write as it.

Revision ID: 0004_central_rules
Revises: 0003_row_security
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_central_rules'
down_revision = '0003_row_security'
branch_labels = None
depends_on = None

DESK = "origin_desk_officer, origin_desk_admin"
OFFICE_COLUMNS = ("id", "agency_id", "code", "name", "place", "address", "contact_email",
                  "contact_phone", "ewallet_enabled", "stamp_png")  # all but the gateway secrets
STALE_MINUTES = 15  # app.services.issuing.STALE_RESERVATION
ABANDONED = "reservation abandoned: the desk that reserved it stopped before issuing"
# app.models.certificates.CERTIFICATE_FEES (rupees), frozen here with this revision
FEE_PREFERENTIAL = "600.00"
FEE_NON_PREFERENTIAL = "200.00"
MAX_TEXT = 2000  # app.models.workflow.MAX_TEXT, app.store.numbers.MAX_REASON

# -- policies: 0003's that this revision replaces, and their replacements -----------------
# table -> [(name, command, using, check)]
OLD_POLICIES = {
    "certificates": [("certificate_of_visible", "ALL",
                      "EXISTS (SELECT 1 FROM applications a WHERE a.id = application_id)",
                      "EXISTS (SELECT 1 FROM applications a WHERE a.id = application_id)")],
    "certificate_numbers": [("number_of_agency", "ALL", "agency_id = (SELECT od_agency_id())",
                             "agency_id = (SELECT od_agency_id())")],
    "certificate_number_counters": [("counter_of_agency", "ALL",
                                     "agency_id = (SELECT od_agency_id())",
                                     "agency_id = (SELECT od_agency_id())")],
    "wallet_entries": [("wallet_of_office", "ALL", "office_id IN (SELECT od_office_ids())",
                        "office_id IN (SELECT od_office_ids())")],
    "dsc_registrations": [(
        "dsc_write", "ALL",
        "user_id = (SELECT od_user_id()) OR ((SELECT od_is_admin()) AND user_id IN "
        "(SELECT id FROM users))",
        "user_id = (SELECT od_user_id()) OR ((SELECT od_is_admin()) AND user_id IN "
        "(SELECT id FROM users))")],
}
NEW_POLICIES = {
    "certificates": [("certificate_read", "SELECT",
                      "EXISTS (SELECT 1 FROM applications a WHERE a.id = application_id)", None)],
    "certificate_numbers": [("number_read", "SELECT", "agency_id = (SELECT od_agency_id())",
                             None)],
    "certificate_number_counters": [("counter_read", "SELECT",
                                     "agency_id = (SELECT od_agency_id())", None)],
    "wallet_entries": [
        ("wallet_read", "SELECT", "office_id IN (SELECT od_office_ids())", None),
        ("wallet_top_up", "INSERT", None,
         "(SELECT od_is_admin()) AND kind = 'top_up' AND amount > 0 "
         "AND certificate_number IS NULL AND office_id IN (SELECT od_office_ids())"),
    ],
    "dsc_registrations": [
        ("dsc_register_own", "INSERT", None,
         "user_id = (SELECT od_user_id()) AND NOT (SELECT od_is_admin()) "
         "AND revoked_at IS NULL AND fingerprint_sha256 = encode(sha256(certificate_der), 'hex')"),
        ("dsc_admin_update", "UPDATE",
         "(SELECT od_is_admin()) AND user_id IN (SELECT id FROM users)",
         "(SELECT od_is_admin()) AND user_id IN (SELECT id FROM users)"),
    ],
}
# privileges: (statement for upgrade, statement for downgrade)
PRIVILEGES = [
    ("REVOKE SELECT ON offices FROM origin_desk_officer",
     "GRANT SELECT ON offices TO origin_desk_officer"),
    (f"GRANT SELECT ({', '.join(OFFICE_COLUMNS)}) ON offices TO origin_desk_officer",
     f"REVOKE SELECT ({', '.join(OFFICE_COLUMNS)}) ON offices FROM origin_desk_officer"),
    (f"REVOKE INSERT, UPDATE, DELETE ON certificate_numbers FROM {DESK}",
     f"GRANT INSERT, UPDATE ON certificate_numbers TO {DESK}"),
    (f"REVOKE INSERT, UPDATE, DELETE ON certificate_number_counters FROM {DESK}",
     f"GRANT INSERT, UPDATE ON certificate_number_counters TO {DESK}"),
    (f"REVOKE INSERT, UPDATE, DELETE ON certificates FROM {DESK}",
     f"GRANT INSERT, UPDATE ON certificates TO {DESK}"),
    ("REVOKE INSERT ON wallet_entries FROM origin_desk_officer",
     "GRANT INSERT ON wallet_entries TO origin_desk_officer"),
    (f"REVOKE UPDATE ON goods_lines, cost_sheets, cost_sheet_materials FROM {DESK}",
     f"GRANT UPDATE ON goods_lines, cost_sheets, cost_sheet_materials TO {DESK}"),
    (f"REVOKE UPDATE, DELETE ON dsc_registrations FROM {DESK}",
     f"GRANT UPDATE ON dsc_registrations TO {DESK}"),
    ("GRANT UPDATE (revoked_at) ON dsc_registrations TO origin_desk_admin",
     "REVOKE UPDATE (revoked_at) ON dsc_registrations FROM origin_desk_admin"),
]

# -- functions ------------------------------------------------------------------------------
# Every refusal is one sentence; RAISE '%' so that a '%' in a name cannot be taken as a
# placeholder. ODREF: refused (the desk shows the sentence); ODCON: changed meanwhile.
HELPERS = f"""
CREATE FUNCTION od_user_label() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN (SELECT u.full_name || ' <' || u.email || '>' FROM db_logins l
            JOIN users u ON u.id = l.user_id
            WHERE l.role_name = session_user AND u.status = 'active');
END $$;

-- the caller as an issuing officer of the office (active, role officer, mapped), or ODREF
CREATE FUNCTION od_issuing_officer(p_office_id integer, p_application_number text)
RETURNS users
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_user users;
    v_office_code text;
BEGIN
    SELECT u.* INTO v_user FROM db_logins l JOIN users u ON u.id = l.user_id
    WHERE l.role_name = session_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%', format('The database login %s is not an Origin Desk user; it '
            'cannot issue application %s.', session_user, p_application_number)
            USING ERRCODE = 'ODREF';
    END IF;
    IF v_user.status <> 'active' THEN
        RAISE EXCEPTION '%', format('%s''s account is %s; only active officers can issue '
            'application %s.', v_user.full_name, v_user.status, p_application_number)
            USING ERRCODE = 'ODREF';
    END IF;
    SELECT o.code INTO v_office_code FROM offices o WHERE o.id = p_office_id;
    IF v_user.role <> 'officer' OR NOT EXISTS (
        SELECT 1 FROM officer_offices m WHERE m.user_id = v_user.id AND m.office_id = p_office_id
    ) THEN
        RAISE EXCEPTION '%', format('%s is not an issuing officer of office %s, which holds '
            'application %s.', v_user.full_name, v_office_code, p_application_number)
            USING ERRCODE = 'ODREF';
    END IF;
    RETURN v_user;
END $$;

-- the original certificate an in-lieu application replaces (locked), or ODREF:
-- Issuer._check_original, and it must be of the same agency and valid
CREATE FUNCTION od_original_certificate(p_application applications, p_agency_id integer)
RETURNS certificates
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_number text := btrim(coalesce(p_application.original_certificate_number, ''));
    v_original certificates;
BEGIN
    SELECT c.* INTO v_original FROM certificates c JOIN offices o ON o.id = c.office_id
    WHERE c.number = v_number AND o.agency_id = p_agency_id
    FOR UPDATE OF c;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%', format('The original certificate %s of in-lieu application %s is '
            'not in this store; an in-lieu certificate for one issued by the legacy system is '
            'issued there.', coalesce(nullif(v_number, ''), '(none named)'),
            p_application.number) USING ERRCODE = 'ODREF';
    END IF;
    IF v_original.status = 'cancelled' THEN
        RAISE EXCEPTION '%', format('The original certificate %s of in-lieu application %s was '
            'cancelled; it cannot be replaced.', v_number, p_application.number)
            USING ERRCODE = 'ODREF';
    END IF;
    IF v_original.superseded_by_number IS NOT NULL OR v_original.status <> 'valid' THEN
        RAISE EXCEPTION '%', format('The original certificate %s of in-lieu application %s was '
            'already replaced by %s.', v_number, p_application.number,
            coalesce(v_original.superseded_by_number, 'another certificate'))
            USING ERRCODE = 'ODREF';
    END IF;
    RETURN v_original;
END $$;

CREATE FUNCTION od_reserve_certificate_number(p_application_id integer, p_desk_session text)
RETURNS TABLE (number text, reserved_at timestamptz, version integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_app applications;
    v_agency_id integer;
    v_agency_code text;
    v_user users;
    v_live record;
    v_existing text;
    v_now timestamptz := now();
    v_year integer := extract(year FROM now() AT TIME ZONE 'Asia/Kolkata')::integer;
    v_serial integer;
    v_number text;
    v_session text := left(btrim(coalesce(p_desk_session, '')), 64);
BEGIN
    -- visible to the caller's agency first, then locked: reserves of one application queue
    SELECT o.agency_id INTO v_agency_id FROM applications a JOIN offices o ON o.id = a.office_id
    WHERE a.id = p_application_id;
    IF v_agency_id IS NULL OR v_agency_id IS DISTINCT FROM od_agency_id() THEN
        RAISE EXCEPTION '%', format('Application #%s is not in the central store.',
            p_application_id) USING ERRCODE = 'ODREF';
    END IF;
    SELECT a.* INTO v_app FROM applications a WHERE a.id = p_application_id FOR NO KEY UPDATE;
    v_user := od_issuing_officer(v_app.office_id, v_app.number);
    IF v_app.status <> 'approved' THEN
        RAISE EXCEPTION '%', format('Application %s is %s; only approved applications can be '
            'issued.', v_app.number, replace(v_app.status, '_', ' ')) USING ERRCODE = 'ODREF';
    END IF;
    IF v_session = '' THEN
        RAISE EXCEPTION '%', format('No desk session was named for the number of application '
            '%s.', v_app.number) USING ERRCODE = 'ODREF';
    END IF;
    SELECT c.number INTO v_existing FROM certificates c WHERE c.application_id = v_app.id;
    IF v_existing IS NOT NULL THEN
        RAISE EXCEPTION '%', format('Application %s already has certificate %s.', v_app.number,
            v_existing) USING ERRCODE = 'ODREF';
    END IF;
    FOR v_live IN
        SELECT n.id, n.number, n.state, n.reserved_at FROM certificate_numbers n
        WHERE n.application_id = v_app.id AND n.state IN ('reserved', 'issued')
        ORDER BY n.id FOR UPDATE
    LOOP
        IF v_live.state = 'issued' THEN
            RAISE EXCEPTION '%', format('Application %s already holds certificate number %s.',
                v_app.number, v_live.number) USING ERRCODE = 'ODREF';
        END IF;
        IF v_live.reserved_at > v_now - interval '{STALE_MINUTES} minutes' THEN
            RAISE EXCEPTION '%', format('Application %s is being issued at another desk (number '
                '%s reserved at %s UTC).', v_app.number, v_live.number,
                to_char(v_live.reserved_at AT TIME ZONE 'UTC', 'HH24:MI'))
                USING ERRCODE = 'ODREF';
        END IF;
        UPDATE certificate_numbers n SET state = 'void', void_reason = '{ABANDONED}'
        WHERE n.id = v_live.id;
    END LOOP;
    IF v_app.kind = 'in_lieu' THEN
        PERFORM od_original_certificate(v_app, v_agency_id);
    END IF;
    -- the (agency, year) counter row, locked until the caller's transaction ends
    -- (app/store/numbers.py); a new one continues after the numbers already recorded
    SELECT g.code INTO v_agency_code FROM agencies g WHERE g.id = v_agency_id;
    FOR attempt IN 1..100 LOOP
        UPDATE certificate_number_counters c SET last_serial = c.last_serial + 1
        WHERE c.agency_id = v_agency_id AND c.year = v_year
        RETURNING c.last_serial INTO v_serial;
        IF v_serial IS NULL THEN
            SELECT coalesce(max(n.serial), 0) + 1 INTO v_serial FROM certificate_numbers n
            WHERE n.agency_id = v_agency_id AND n.year = v_year;
            BEGIN
                INSERT INTO certificate_number_counters (agency_id, year, last_serial)
                VALUES (v_agency_id, v_year, v_serial);
            EXCEPTION WHEN unique_violation THEN
                v_serial := NULL;  -- another desk created it meanwhile: bump it instead
            END;
        END IF;
        EXIT WHEN v_serial IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM certificate_numbers n
            WHERE n.agency_id = v_agency_id AND n.year = v_year AND n.serial = v_serial);
        v_serial := NULL;  -- a serial recorded beside the counter: take the next one
    END LOOP;
    IF v_serial IS NULL THEN
        RAISE EXCEPTION '%', format('No certificate number could be allocated for application '
            '%s; try again.', v_app.number) USING ERRCODE = 'ODCON';
    END IF;
    v_number := v_agency_code || '/' || v_year || '/'
        || CASE WHEN v_serial >= 1000000 THEN v_serial::text
                ELSE lpad(v_serial::text, 7, '0') END;
    INSERT INTO certificate_numbers (number, agency_id, year, serial, application_id,
                                     reserved_at, state, reserved_by_id, desk_session)
    VALUES (v_number, v_agency_id, v_year, v_serial, v_app.id, v_now, 'reserved', v_user.id,
            v_session);
    RETURN QUERY SELECT v_number, v_now, v_app.version;
END $$;

CREATE FUNCTION od_record_issue(p_number text, p_application_id integer, p_version integer,
                                p_pdf bytea, p_pdf_sha256 text, p_signer_fingerprint text)
RETURNS TABLE (certificate_id integer, issued_at timestamptz, superseded_number text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_app applications;
    v_agency_id integer;
    v_number certificate_numbers;
    v_user users;
    v_label text;
    v_digest text := lower(btrim(coalesce(p_pdf_sha256, '')));
    v_signer text := lower(btrim(coalesce(p_signer_fingerprint, '')));
    v_issued_at timestamptz;
    v_certificate_id integer;
    v_original certificates;
    v_original_app applications;
    v_superseded text;
BEGIN
    SELECT o.agency_id INTO v_agency_id FROM applications a JOIN offices o ON o.id = a.office_id
    WHERE a.id = p_application_id;
    IF v_agency_id IS NULL OR v_agency_id IS DISTINCT FROM od_agency_id() THEN
        RAISE EXCEPTION '%', format('Application #%s is not in the central store.',
            p_application_id) USING ERRCODE = 'ODREF';
    END IF;
    SELECT a.* INTO v_app FROM applications a WHERE a.id = p_application_id FOR UPDATE;
    SELECT n.* INTO v_number FROM certificate_numbers n
    WHERE n.number = p_number AND n.agency_id = v_agency_id FOR UPDATE;
    IF NOT FOUND OR v_number.application_id IS DISTINCT FROM v_app.id THEN
        RAISE EXCEPTION '%', format('Certificate number %s is not reserved for application %s; '
            'it was not issued.', p_number, v_app.number) USING ERRCODE = 'ODREF';
    END IF;
    IF v_number.state <> 'reserved' THEN
        RAISE EXCEPTION '%', format('Certificate number %s of application %s is %s, no longer '
            'reserved; it was not issued.', p_number, v_app.number, v_number.state)
            USING ERRCODE = 'ODREF';
    END IF;
    IF v_number.reserved_by_id IS DISTINCT FROM od_user_id() THEN
        RAISE EXCEPTION '%', format('Certificate number %s of application %s was reserved by '
            'another user; only they can issue with it.', p_number, v_app.number)
            USING ERRCODE = 'ODREF';
    END IF;
    IF v_app.status <> 'approved' OR v_app.version IS DISTINCT FROM p_version THEN
        RAISE EXCEPTION '%', format('Application %s changed at another desk while it was being '
            'signed (now %s); it was not issued here.', v_app.number,
            replace(v_app.status, '_', ' ')) USING ERRCODE = 'ODCON';
    END IF;
    v_user := od_issuing_officer(v_app.office_id, v_app.number);
    IF p_pdf IS NULL OR encode(sha256(p_pdf), 'hex') <> v_digest THEN
        RAISE EXCEPTION '%', format('The signed PDF of application %s does not match its '
            'SHA-256 digest; it was not issued.', v_app.number) USING ERRCODE = 'ODREF';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM dsc_registrations d
        WHERE d.user_id = v_user.id AND d.fingerprint_sha256 = v_signer
          AND (d.revoked_at IS NULL OR d.revoked_at > now())
    ) THEN
        RAISE EXCEPTION '%', format('The certificate of application %s was signed with a DSC '
            'that is not registered to %s (or was revoked); it was not issued.', v_app.number,
            v_user.full_name) USING ERRCODE = 'ODREF';
    END IF;
    IF v_app.kind = 'in_lieu' THEN
        v_original := od_original_certificate(v_app, v_agency_id);
    END IF;

    v_label := v_user.full_name || ' <' || v_user.email || '>';
    v_issued_at := v_number.reserved_at;  -- the moment printed on the certificate
    -- workflow ISSUE (workflow.perform): approved -> issued, the claim cleared
    UPDATE applications a SET status = 'issued', claimed_by_id = NULL, claimed_at = NULL,
        version = a.version + 1, updated_at = now()
    WHERE a.id = v_app.id;
    INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, entity_id,
                              before, after, note)
    VALUES (v_issued_at, v_user.id, v_label, 'application.issue', 'application', v_app.id,
            json_build_object('status', v_app.status, 'claimed_by_id', v_app.claimed_by_id,
                              'query_text', v_app.query_text,
                              'rejection_reason', v_app.rejection_reason),
            json_build_object('status', 'issued', 'claimed_by_id', NULL,
                              'query_text', v_app.query_text,
                              'rejection_reason', v_app.rejection_reason),
            '');
    BEGIN
        INSERT INTO certificates (number, application_id, office_id, issued_by_id, issued_at,
                                  status, signer_fingerprint, pdf_sha256, pdf)
        VALUES (p_number, v_app.id, v_app.office_id, v_user.id, v_issued_at, 'valid', v_signer,
                v_digest, p_pdf)
        RETURNING id INTO v_certificate_id;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION '%', format('Application %s was issued at another desk while it was '
            'being signed; this copy was discarded.', v_app.number) USING ERRCODE = 'ODCON';
    END;
    UPDATE certificate_numbers n SET state = 'issued' WHERE n.id = v_number.id;
    IF (SELECT o.ewallet_enabled FROM offices o WHERE o.id = v_app.office_id) THEN
        INSERT INTO wallet_entries (office_id, kind, amount, certificate_number, reference, at)
        VALUES (v_app.office_id, 'fee',
                -(CASE WHEN v_app.kind = 'preferential' THEN {FEE_PREFERENTIAL}
                       ELSE {FEE_NON_PREFERENTIAL} END),
                p_number, v_app.number, v_issued_at);
    END IF;
    IF v_original.id IS NOT NULL THEN
        UPDATE certificates c SET status = 'superseded', superseded_by_number = p_number
        WHERE c.id = v_original.id;
        v_superseded := v_original.number;
        SELECT a.* INTO v_original_app FROM applications a
        WHERE a.id = v_original.application_id FOR UPDATE;
        IF v_original_app.status = 'issued' THEN  -- workflow SUPERSEDE
            UPDATE applications a SET status = 'superseded', claimed_by_id = NULL,
                claimed_at = NULL, version = a.version + 1, updated_at = now()
            WHERE a.id = v_original_app.id;
            INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type,
                                      entity_id, before, after, note)
            VALUES (v_issued_at, v_user.id, v_label, 'application.supersede', 'application',
                    v_original_app.id,
                    json_build_object('status', v_original_app.status,
                                      'claimed_by_id', v_original_app.claimed_by_id,
                                      'query_text', v_original_app.query_text,
                                      'rejection_reason', v_original_app.rejection_reason),
                    json_build_object('status', 'superseded', 'claimed_by_id', NULL,
                                      'query_text', v_original_app.query_text,
                                      'rejection_reason', v_original_app.rejection_reason),
                    'superseded by in-lieu certificate ' || p_number);
        END IF;
    END IF;
    INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, entity_id,
                              before, after, note)
    VALUES (v_issued_at, v_user.id, v_label, 'certificate.issued', 'certificate',
            v_certificate_id, NULL,
            json_build_object('number', p_number, 'application', v_app.number,
                              'pdf_sha256', v_digest, 'signer_sha256', v_signer,
                              'supersedes', v_superseded),
            '');
    RETURN QUERY SELECT v_certificate_id, v_issued_at, v_superseded;
END $$;

CREATE FUNCTION od_void_certificate_number(p_number text, p_reason text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_user_id integer := od_user_id();
    v_number certificate_numbers;
    v_for text;
    v_reason text := btrim(coalesce(p_reason, ''));
BEGIN
    IF v_user_id IS NULL THEN
        RAISE EXCEPTION '%', format('The database login %s is not an active Origin Desk user; '
            'certificate number %s was not voided.', session_user, p_number)
            USING ERRCODE = 'ODREF';
    END IF;
    SELECT n.* INTO v_number FROM certificate_numbers n
    WHERE n.number = p_number AND n.agency_id = od_agency_id() FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%', format('Certificate number %s was never allocated.', p_number)
            USING ERRCODE = 'ODREF';
    END IF;
    v_for := coalesce(' of application ' || (SELECT a.number FROM applications a
                                             WHERE a.id = v_number.application_id), '');
    IF v_reason = '' THEN
        RAISE EXCEPTION '%', format('Say why certificate number %s%s is voided.', p_number,
            v_for) USING ERRCODE = 'ODREF';
    END IF;
    IF length(v_reason) > {MAX_TEXT} THEN
        RAISE EXCEPTION '%', format('The reason for voiding %s%s has %s characters; at most '
            '{MAX_TEXT} are allowed.', p_number, v_for, length(v_reason))
            USING ERRCODE = 'ODREF';
    END IF;
    IF v_number.state = 'issued' THEN
        RAISE EXCEPTION '%', format('Certificate number %s%s is issued; an issued certificate '
            'is cancelled, not voided.', p_number, v_for) USING ERRCODE = 'ODREF';
    END IF;
    IF v_number.state <> 'reserved' THEN
        RAISE EXCEPTION '%', format('Certificate number %s%s is already void.', p_number, v_for)
            USING ERRCODE = 'ODREF';
    END IF;
    IF v_number.reserved_by_id IS DISTINCT FROM v_user_id AND NOT od_is_admin() THEN
        RAISE EXCEPTION '%', format('Certificate number %s%s was reserved by another user; '
            'only they or an administrator can void it.', p_number, v_for)
            USING ERRCODE = 'ODREF';
    END IF;
    UPDATE certificate_numbers n SET state = 'void', void_reason = v_reason
    WHERE n.id = v_number.id;
END $$;

CREATE FUNCTION od_release_reservations(p_desk_session text) RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_user_id integer := od_user_id();
    v_session text := left(btrim(coalesce(p_desk_session, '')), 64);
BEGIN
    IF v_user_id IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH picked AS (
        SELECT n.id FROM certificate_numbers n
        WHERE n.agency_id = od_agency_id() AND n.state = 'reserved'
          AND ((n.reserved_by_id = v_user_id AND n.desk_session = v_session AND v_session <> '')
               OR n.reserved_at < now() - interval '{STALE_MINUTES} minutes')
        ORDER BY n.id FOR UPDATE
    ), voided AS (
        UPDATE certificate_numbers n SET state = 'void', void_reason = '{ABANDONED}'
        FROM picked p WHERE n.id = p.id AND n.state = 'reserved'
        RETURNING n.number, n.serial
    )
    SELECT v.number::text FROM voided v ORDER BY v.serial;
END $$;
"""
PUBLIC_FUNCTIONS = (
    "od_user_label()",
    "od_reserve_certificate_number(integer, text)",
    "od_record_issue(text, integer, integer, bytea, text, text)",
    "od_void_certificate_number(text, text)",
    "od_release_reservations(text)",
)
INTERNAL_FUNCTIONS = (  # called by the functions above only (as the owner)
    "od_issuing_officer(integer, text)",
    "od_original_certificate(applications, integer)",
)

# -- triggers (SECURITY INVOKER: they look at who is writing) -------------------------------
IS_OWNER = ("pg_has_role(current_user, (SELECT c.relowner FROM pg_class c "
            "WHERE c.oid = TG_RELID), 'USAGE')")
DENY = "USING ERRCODE = 'insufficient_privilege'"
# the columns a workflow transition changes; every other column is the application's data
WORKFLOW_COLUMNS = ("status", "claimed_by_id", "claimed_at", "query_text", "rejection_reason",
                    "decided_at", "version", "change_seq", "updated_at")
APPLICATION_DATA = "- ARRAY[" + ", ".join(f"'{c}'" for c in WORKFLOW_COLUMNS) + "]"
TRIGGERS = f"""
CREATE FUNCTION od_applications_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_user_id integer;
    v_admin boolean;
    v_officer boolean;  -- an officer mapped to the application's office
    v_holder boolean;  -- ... who holds its claim
    v_action text;
    v_same_texts boolean := NEW.query_text IS NOT DISTINCT FROM OLD.query_text
        AND NEW.rejection_reason IS NOT DISTINCT FROM OLD.rejection_reason;
BEGIN
    IF {IS_OWNER} THEN
        RETURN NEW;  -- the store's own functions and triggers
    END IF;
    IF (to_jsonb(NEW) {APPLICATION_DATA}) IS DISTINCT FROM (to_jsonb(OLD) {APPLICATION_DATA}) THEN
        RAISE EXCEPTION '%', format('Application %s is the exporter''s: a desk changes only its '
            'status, through the workflow, never its data.', OLD.number) {DENY};
    END IF;
    v_user_id := od_user_id();
    IF v_user_id IS NULL THEN
        RAISE EXCEPTION '%', format('The database login %s is not an active Origin Desk user; '
            'it cannot change application %s.', session_user, OLD.number) {DENY};
    END IF;
    IF NEW.status = OLD.status THEN
        IF NEW.claimed_by_id IS DISTINCT FROM OLD.claimed_by_id
           OR NEW.claimed_at IS DISTINCT FROM OLD.claimed_at OR NOT v_same_texts
           OR NEW.decided_at IS DISTINCT FROM OLD.decided_at
           OR NEW.version IS DISTINCT FROM OLD.version
           OR NEW.updated_at IS DISTINCT FROM OLD.updated_at THEN
            RAISE EXCEPTION '%', format('The claim, texts and version of application %s change '
                'only with a workflow action.', OLD.number) {DENY};
        END IF;
        RETURN NEW;
    END IF;
    v_action := CASE
        WHEN OLD.status IN ('submitted', 'resubmitted') AND NEW.status = 'under_scrutiny'
            THEN 'claim'
        WHEN OLD.status = 'under_scrutiny' AND NEW.status = 'submitted' THEN 'release'
        WHEN OLD.status = 'under_scrutiny' AND NEW.status = 'returned' THEN 'return'
        WHEN OLD.status = 'under_scrutiny' AND NEW.status = 'approved' THEN 'approve'
        WHEN OLD.status = 'under_scrutiny' AND NEW.status = 'rejected' THEN 'reject'
    END;
    IF v_action IS NULL THEN
        RAISE EXCEPTION '%', format('Application %s cannot go from %s to %s at a desk: only '
            'claim, release, return, approve and reject are desk actions (issuing goes through '
            'od_record_issue).', OLD.number, replace(OLD.status, '_', ' '),
            replace(NEW.status, '_', ' ')) {DENY};
    END IF;
    IF NEW.version IS DISTINCT FROM OLD.version + 1 THEN
        RAISE EXCEPTION '%', format('The %s of application %s must take its version from %s to '
            '%s.', v_action, OLD.number, OLD.version, OLD.version + 1) {DENY};
    END IF;
    v_admin := od_is_admin();
    v_officer := NOT v_admin AND OLD.office_id IN (SELECT od_office_ids());
    v_holder := v_officer AND OLD.claimed_by_id = v_user_id;
    IF v_action = 'claim' THEN
        IF NOT v_officer THEN
            RAISE EXCEPTION '%', format('Only an officer mapped to its office can claim '
                'application %s.', OLD.number) {DENY};
        END IF;
        IF NEW.claimed_by_id IS DISTINCT FROM v_user_id OR NEW.claimed_at IS NULL
           OR NOT v_same_texts OR NEW.decided_at IS DISTINCT FROM OLD.decided_at THEN
            RAISE EXCEPTION '%', format('A claim of application %s names the officer who claims '
                'it, and nothing else changes.', OLD.number) {DENY};
        END IF;
        RETURN NEW;
    END IF;
    IF NOT v_holder AND NOT (v_action = 'release' AND v_admin) THEN
        RAISE EXCEPTION '%', format('Application %s is not claimed by you; only the claim '
            'holder can %s it.', OLD.number, v_action) {DENY};
    END IF;
    IF v_action = 'release' THEN
        IF NEW.claimed_by_id IS NOT NULL OR NEW.claimed_at IS NOT NULL OR NOT v_same_texts
           OR NEW.decided_at IS DISTINCT FROM OLD.decided_at THEN
            RAISE EXCEPTION '%', format('A release of application %s clears its claim, and '
                'nothing else changes.', OLD.number) {DENY};
        END IF;
    ELSIF v_action = 'approve' THEN
        IF NEW.claimed_by_id IS DISTINCT FROM OLD.claimed_by_id
           OR NEW.claimed_at IS DISTINCT FROM OLD.claimed_at OR NOT v_same_texts
           OR NEW.decided_at IS NULL THEN
            RAISE EXCEPTION '%', format('An approval of application %s records when it was '
                'decided, and nothing else changes.', OLD.number) {DENY};
        END IF;
        IF NOT EXISTS (SELECT 1 FROM goods_lines g WHERE g.application_id = OLD.id)
           OR (OLD.kind = 'preferential' AND (OLD.agreement_code IS NULL OR EXISTS (
                SELECT 1 FROM goods_lines g WHERE g.application_id = OLD.id
                AND coalesce(g.origin_criterion, '') = '')))
           OR (OLD.kind = 'in_lieu' AND coalesce(OLD.original_certificate_number, '') = '')
           OR (OLD.kind = 'back_to_back'
               AND coalesce(OLD.foreign_certificate_number, '') = '') THEN
            RAISE EXCEPTION '%', format('Application %s is not complete (goods lines, origin '
                'criteria, the certificate it rests on); it cannot be approved.', OLD.number)
                {DENY};
        END IF;
    ELSE  -- return (a query for the exporter) or reject (a reason)
        IF NEW.claimed_by_id IS NOT NULL OR NEW.claimed_at IS NOT NULL
           OR NEW.decided_at IS NULL
           OR (v_action = 'return' AND (NEW.rejection_reason IS DISTINCT FROM OLD.rejection_reason
               OR length(btrim(coalesce(NEW.query_text, ''))) NOT BETWEEN 1 AND {MAX_TEXT}))
           OR (v_action = 'reject' AND (NEW.query_text IS DISTINCT FROM OLD.query_text
               OR length(btrim(coalesce(NEW.rejection_reason, ''))) NOT BETWEEN 1 AND {MAX_TEXT}))
        THEN
            RAISE EXCEPTION '%', format('To %s application %s, write %s (at most {MAX_TEXT} '
                'characters); the claim is cleared and nothing else changes.', v_action,
                OLD.number, CASE v_action WHEN 'return' THEN 'a query for the exporter'
                ELSE 'a reason for the rejection' END) {DENY};
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION od_audit_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_user_id integer;
    v_admin boolean;
    v_dsc_user integer;
BEGIN
    IF {IS_OWNER} THEN
        RETURN NEW;
    END IF;
    v_user_id := od_user_id();
    IF v_user_id IS NULL THEN
        RAISE EXCEPTION '%', format('The database login %s is not an active Origin Desk user; '
            'it cannot write audit events.', session_user) {DENY};
    END IF;
    NEW.actor_id := v_user_id;  -- whatever the client sent
    NEW.actor_label := od_user_label();
    v_admin := od_is_admin();
    IF NEW.entity_type = 'certificate' OR NEW.action LIKE 'certificate.%' THEN
        RAISE EXCEPTION '%', 'Certificate events are written by the central store when it '
            'records an issue; a desk cannot write them.' {DENY};
    END IF;
    IF NEW.entity_type = 'application' THEN
        IF NEW.action NOT IN ('application.note', 'application.release') AND (v_admin OR
           NEW.action NOT IN ('application.claim', 'application.return',
                              'application.approve', 'application.reject')) THEN
            RAISE EXCEPTION '%', format('A desk cannot record %s on an application; the store '
                'records issues, supersessions and cancellations itself.', NEW.action) {DENY};
        END IF;
    ELSIF NEW.entity_type = 'dsc_registration' THEN
        SELECT d.user_id INTO v_dsc_user FROM dsc_registrations d WHERE d.id = NEW.entity_id;
        IF v_dsc_user IS NULL OR (v_dsc_user <> v_user_id AND NOT v_admin) THEN
            RAISE EXCEPTION '%', 'An officer records events about their own DSC only.' {DENY};
        END IF;
    ELSIF NOT v_admin THEN
        RAISE EXCEPTION '%', format('An officer records events about applications and their own '
            'DSC only, not about a %s.', NEW.entity_type) {DENY};
    END IF;
    RETURN NEW;
END $$;

-- named to fire before applications_change_seq (triggers fire in name order)
CREATE TRIGGER applications_a_guard BEFORE UPDATE ON applications
FOR EACH ROW EXECUTE FUNCTION od_applications_guard();
CREATE TRIGGER audit_events_guard BEFORE INSERT ON audit_events
FOR EACH ROW EXECUTE FUNCTION od_audit_guard();
"""


def upgrade() -> None:
    with op.batch_alter_table('certificate_numbers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reserved_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('desk_session', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_certificate_numbers_reserved_by_id_users'), 'users',
            ['reserved_by_id'], ['id'])
    if op.get_bind().dialect.name != "postgresql":
        return
    for grant, _undo in PRIVILEGES:
        op.execute(grant)
    for table, policies in OLD_POLICIES.items():
        for name, *_rest in policies:
            op.execute(f"DROP POLICY {name} ON {table}")
        _create_policies(table, NEW_POLICIES[table])
    op.execute(HELPERS)
    for name in PUBLIC_FUNCTIONS + INTERNAL_FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC")
    for name in PUBLIC_FUNCTIONS:
        op.execute(f"GRANT EXECUTE ON FUNCTION {name} TO {DESK}")
    op.execute(TRIGGERS)


def _create_policies(table: str, policies: list[tuple[str, str, str | None, str | None]]) -> None:
    for name, command, using, check in policies:
        clause = f"FOR {command} TO {DESK}"
        if using is not None:
            clause += f" USING ({using})"
        if check is not None:
            clause += f" WITH CHECK ({check})"
        op.execute(f"CREATE POLICY {name} ON {table} {clause}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_guard ON audit_events")
        op.execute("DROP TRIGGER applications_a_guard ON applications")
        op.execute("DROP FUNCTION od_audit_guard()")
        op.execute("DROP FUNCTION od_applications_guard()")
        for name in reversed(PUBLIC_FUNCTIONS + INTERNAL_FUNCTIONS):
            op.execute(f"DROP FUNCTION {name}")
        for table, policies in NEW_POLICIES.items():
            for name, *_rest in policies:
                op.execute(f"DROP POLICY {name} ON {table}")
            _create_policies(table, OLD_POLICIES[table])
        for _grant, undo in reversed(PRIVILEGES):
            op.execute(undo)
    with op.batch_alter_table('certificate_numbers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_certificate_numbers_reserved_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('desk_session')
        batch_op.drop_column('reserved_by_id')
