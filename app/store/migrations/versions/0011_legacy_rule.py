"""The transition rule for certificates of the legacy system (eCoO 1.0) in the store itself.

``app/models/legacy.py`` refuses an in-lieu request against a legacy certificate at intake,
at approval and before a reservation; a role's plain SQL must meet the same rule. PostgreSQL
only (nothing changes on SQLite, where the desk's own code is the only writer):

- ``od_is_legacy_certificate(p_number text, p_issued_on date)``: ``is_legacy_certificate``
  in PL/pgSQL: the number, stripped of the whitespace Python's ``str.strip()`` strips, is
  legacy when it is not ``AGENCY/YYYY/NNNNNNN`` (1-16 characters other than ``/`` and
  whitespace, four digits, seven or more digits) or its year is before 2024; otherwise the
  certificate is legacy when it is dated before 21.12.2024. Python's ``migrated`` flag
  (issue 13's record of certificates migrated from the legacy system) has no column in the
  store yet, so it has no parameter here: issue 13 adds both.
- ``od_legacy_refusal(p_number text, p_application_number text)``: ``legacy_refusal``'s
  sentence, the rule quoted, word for word (``tests/in_lieu/test_legacy_store.py``
  compares them).
- ``od_original_certificate`` (0004, called by ``od_reserve_certificate_number`` and
  ``od_record_issue``) refuses a legacy original, named by the in-lieu application's
  ``original_certificate_number`` and ``original_certificate_date``, with that sentence
  (SQLSTATE ``ODREF``) before it looks for it; its other refusals are unchanged
  (``CREATE OR REPLACE``; downgrade puts back 0004's body).
- trigger ``applications_b_legacy`` (after ``applications_a_guard``, before the change
  sequence) on ``under_scrutiny -> approved`` of an in-lieu application, for every writer
  but the table owner: a legacy original is refused with the same sentence (``ODREF``).

Revision ID: 0011_legacy_rule
Revises: 0010_foreign_certificates
Create Date: 2026-11-30
"""
from __future__ import annotations

from alembic import op

revision = '0011_legacy_rule'
down_revision = '0010_foreign_certificates'
branch_labels = None
depends_on = None

DESK = "origin_desk_officer, origin_desk_admin"
ODREF = "USING ERRCODE = 'ODREF'"
IS_OWNER = ("pg_has_role(current_user, (SELECT c.relowner FROM pg_class c "
            "WHERE c.oid = TG_RELID), 'USAGE')")

# the characters Python's str.isspace() (so str.strip() and re's \s) counts as whitespace,
# as regular-expression escapes: the store's own [[:space:]] depends on its locale
SPACE = ("\\u0009\\u000a\\u000b\\u000c\\u000d\\u001c\\u001d\\u001e\\u001f\\u0020\\u0085"
         "\\u00a0\\u1680\\u2000\\u2001\\u2002\\u2003\\u2004\\u2005\\u2006\\u2007\\u2008"
         "\\u2009\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000")
# app/models/legacy.py TRANSITION_RULE, as it stood for this revision (no single quote in it)
TRANSITION_RULE = (
    "DGFT Trade Notice No. 23/2024-25, paragraph 4.I: \"application for in-lieu CoO applied "
    "against a Preferential eCoO issued on from the legacy eCoO1.0 system shall be filed on "
    "the legacy 1.0 system even after 21.12.2024\""
)

FUNCTIONS = f"""
-- str.strip(): Python's whitespace off both ends
CREATE FUNCTION od_python_strip(p_text text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
    SELECT regexp_replace(coalesce(p_text, ''), '^[{SPACE}]+|[{SPACE}]+$', '', 'g')
$$;

-- app/models/legacy.py is_legacy_certificate (without ``migrated``: no column for it yet)
CREATE FUNCTION od_is_legacy_certificate(p_number text, p_issued_on date) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE SET search_path = public, pg_temp AS $$
DECLARE
    v_text text := od_python_strip(p_number);
    v_year text;
BEGIN
    IF v_text <> '' THEN
        v_year := substring(v_text FROM '^[^/{SPACE}]{{1,16}}/([0-9]{{4}})/[0-9]{{7,}}$');
        IF v_year IS NULL OR v_year::integer < 2024 THEN
            RETURN true;
        END IF;
    END IF;
    RETURN p_issued_on IS NOT NULL AND p_issued_on < DATE '2024-12-21';
END $$;

-- app/models/legacy.py legacy_refusal: the one sentence, the rule quoted
CREATE FUNCTION od_legacy_refusal(p_number text, p_application_number text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
    SELECT CASE WHEN coalesce(p_application_number, '') <> ''
                THEN 'In-lieu application ' || p_application_number
                ELSE 'This in-lieu request' END
        || ' replaces certificate '
        || coalesce(nullif(od_python_strip(p_number), ''), '(none named)')
        || ', issued by the legacy eCoO 1.0 system; it cannot be filed, approved or issued '
        || 'here: ' || '{TRANSITION_RULE}' || '.'
$$;
"""
FUNCTION_NAMES = (
    "od_python_strip(text)",
    "od_is_legacy_certificate(text, date)",
    "od_legacy_refusal(text, text)",
)

ORIGINAL_HEAD = """
CREATE OR REPLACE FUNCTION od_original_certificate(p_application applications,
    p_agency_id integer)
RETURNS certificates
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_number text := btrim(coalesce(p_application.original_certificate_number, ''));
    v_original certificates;
BEGIN
"""
ORIGINAL_LEGACY = f"""    IF od_is_legacy_certificate(p_application.original_certificate_number,
                                p_application.original_certificate_date) THEN
        RAISE EXCEPTION '%', od_legacy_refusal(p_application.original_certificate_number,
            p_application.number) {ODREF};
    END IF;
"""
ORIGINAL_BODY = """    SELECT c.* INTO v_original FROM certificates c JOIN offices o ON o.id = c.office_id
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
"""
# 0004's od_original_certificate, and this revision's (the legacy refusal first)
ORIGINAL_0004 = ORIGINAL_HEAD + ORIGINAL_BODY
ORIGINAL_0011 = ORIGINAL_HEAD + ORIGINAL_LEGACY + ORIGINAL_BODY

TRIGGER = f"""
CREATE FUNCTION od_legacy_approval_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF {IS_OWNER} THEN
        RETURN NEW;  -- the store's own functions
    END IF;
    IF od_is_legacy_certificate(NEW.original_certificate_number,
                                NEW.original_certificate_date) THEN
        RAISE EXCEPTION '%', od_legacy_refusal(NEW.original_certificate_number, OLD.number)
            {ODREF};
    END IF;
    RETURN NEW;
END $$;

-- fires after applications_a_guard and before applications_change_seq (name order)
CREATE TRIGGER applications_b_legacy BEFORE UPDATE ON applications
FOR EACH ROW
WHEN (OLD.status = 'under_scrutiny' AND NEW.status = 'approved' AND OLD.kind = 'in_lieu')
EXECUTE FUNCTION od_legacy_approval_guard();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTIONS)
    for name in FUNCTION_NAMES:
        op.execute(f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name} TO {DESK}")
    op.execute(ORIGINAL_0011)
    op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER applications_b_legacy ON applications")
    op.execute("DROP FUNCTION od_legacy_approval_guard()")
    op.execute(ORIGINAL_0004)
    for name in reversed(FUNCTION_NAMES):
        op.execute(f"DROP FUNCTION {name}")
