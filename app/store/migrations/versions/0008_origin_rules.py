"""Origin rules in the store: an approval of a preferential application is checked there too.

Both engines: ``origin_agreements``, ``origin_agreement_partners`` and ``origin_rules``
(``app/models/origin_rules.py``), filled from ``resources/agreements.json`` as it is when
this revision runs (``origin_rule_rows``): each agreement's partners, its general rule
and its product-specific rules (threshold per method, classification level, and/or, de
minimis with its excluded chapters and ranges by chapter).

PostgreSQL only:

- ``od_origin_verdict(agreement, product_hs, criterion, fob, other_costs, materials)``
  (IMMUTABLE in effect, STABLE: it reads the rule tables) mirrors
  ``app.models.origin.check_origin``: the claimed criterion's leading code (WO/PE: no
  non-originating material; CC/CTH/CTSH: the change of classification with the de
  minimis; RVC: the general rule's value content; PSR: the product rule with the longest
  HS prefix; any other code: the general rule, its parts joined by and/or). Thresholds
  are compared exactly by cross-multiplying (``(FOB - VNM) x 100 >= t x FOB``), so at
  the threshold the rule is met. A criterion with no rule to test is not met.
- ``od_origin_failing_lines(application_id)``: the item numbers of the preferential goods
  lines (with a criterion) whose criterion the application's cost sheet does not meet
  (every such line when there is no cost sheet), or NULL.
- ``od_origin_override_recorded(application_id, user_id)``: whether that user recorded an
  ``application.origin_override`` event with a reason on the application **in the current
  transaction**: trigger ``audit_events_origin_stamp`` writes ``txid_current()`` (the
  top-level transaction, also inside a savepoint) into every override's ``before``, so an
  override cannot be recorded once and reused for a later approval.
- trigger ``applications_b_origin`` (after ``applications_a_guard``, before the change
  sequence) on ``under_scrutiny -> approved`` of a preferential application, for every
  writer but the table owner: the destination must be one of the agreement's partners, and
  a failing line needs the override event first. Refusals are SQLSTATE ``ODREF``.
- ``od_audit_guard`` (0004) lets an officer record ``application.origin_override``
  (rewritten in place, as 0006 does; downgrade takes the word out again).

Revision ID: 0008_origin_rules
Revises: 0007_extend_certificates
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0008_origin_rules'
down_revision = '0007_extend_certificates'
branch_labels = None
depends_on = None

# app.models.origin_rules.origin_rules_digest() of the agreements.json this revision was
# written for: a change of the rules needs a newer revision reloading the tables (and its
# own RULES_SHA256); tests/origin/test_rule_tables_current.py checks it
RULES_SHA256 = "eef8fa09f85f83d4617f7d8413aee29f4e83f9130e3462d9ad4ce9511725fc92"
DESK = "origin_desk_officer, origin_desk_admin"
ODREF = "USING ERRCODE = 'ODREF'"
IS_OWNER = ("pg_has_role(current_user, (SELECT c.relowner FROM pg_class c "
            "WHERE c.oid = TG_RELID), 'USAGE')")

FUNCTIONS = r"""
CREATE FUNCTION od_origin_verdict(p_agreement text, p_hs text, p_criterion text,
    p_fob numeric, p_others numeric, p_materials jsonb) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_code text := coalesce(substring(p_criterion FROM '^\s*([A-Z]+)'), '');
    r origin_rules%ROWTYPE;
    v_found boolean := false;
    v_level text;
    v_digits integer;
    v_limit numeric;
    v_vnm numeric;
    v_vom numeric;
    v_non integer;
    v_unchanged numeric;
    v_unchanged_count integer;
    v_ctc boolean;
    v_vc boolean;
    v_parts integer := 0;
    v_met integer := 0;
BEGIN
    IF p_fob IS NULL OR p_fob <= 0 THEN
        RETURN false;
    END IF;
    IF v_code NOT IN ('WO', 'PE', 'RVC', 'PSR', 'CC', 'CTH', 'CTSH') THEN
        v_code := 'general';
    END IF;
    IF v_code = 'PSR' THEN
        SELECT * INTO r FROM origin_rules o
        WHERE o.agreement_code = p_agreement AND o.hs_prefix <> ''
          AND left(p_hs, length(o.hs_prefix)) = o.hs_prefix
        ORDER BY length(o.hs_prefix) DESC LIMIT 1;
        v_found := FOUND;
        IF NOT v_found THEN
            RETURN false;  -- no product-specific rule recorded
        END IF;
    ELSE
        SELECT * INTO r FROM origin_rules o
        WHERE o.agreement_code = p_agreement AND o.hs_prefix = '';
        v_found := FOUND;
        IF v_code IN ('general', 'RVC') AND NOT v_found THEN
            RETURN false;  -- no general rule (e.g. India-EFTA TEPA)
        END IF;
        IF v_code = 'RVC' AND r.value_content_percent IS NULL THEN
            RETURN false;
        END IF;
    END IF;
    SELECT coalesce(sum((m->>'value')::numeric)
                    FILTER (WHERE NOT (m->>'originating')::boolean), 0),
           coalesce(sum((m->>'value')::numeric) FILTER (WHERE (m->>'originating')::boolean), 0),
           count(*) FILTER (WHERE NOT (m->>'originating')::boolean)
      INTO v_vnm, v_vom, v_non
      FROM jsonb_array_elements(coalesce(p_materials, '[]'::jsonb)) m;
    IF v_code IN ('WO', 'PE') THEN
        RETURN v_non = 0;
    END IF;
    v_level := CASE v_code WHEN 'CC' THEN 'chapter' WHEN 'CTH' THEN 'heading'
                           WHEN 'CTSH' THEN 'subheading' ELSE r.classification_level END;
    v_digits := CASE coalesce(v_level, 'subheading') WHEN 'chapter' THEN 2
                                                     WHEN 'heading' THEN 4 ELSE 6 END;
    IF v_found AND r.de_minimis_percent IS NOT NULL THEN
        v_limit := r.de_minimis_percent;
    ELSE
        v_limit := (SELECT a.de_minimis_percent FROM origin_agreements a
                    WHERE a.code = p_agreement);
    END IF;
    IF v_found AND left(p_hs, 2) = ANY (string_to_array(r.de_minimis_excluded, ' ')) THEN
        v_limit := NULL;
    ELSIF v_found AND jsonb_array_length(r.de_minimis_by_chapter::jsonb) > 0 THEN
        v_limit := (SELECT (c->>'percent')::numeric
                    FROM jsonb_array_elements(r.de_minimis_by_chapter::jsonb)
                         WITH ORDINALITY AS t(c, n)
                    WHERE left(p_hs, 2)::integer BETWEEN (c->>'first')::integer
                                                     AND (c->>'last')::integer
                      AND NOT EXISTS (
                          SELECT 1 FROM jsonb_array_elements_text(c->'except') e(prefix)
                          WHERE left(p_hs, length(e.prefix)) = e.prefix)
                    ORDER BY t.n LIMIT 1);
    END IF;
    SELECT coalesce(sum((m->>'value')::numeric), 0), count(*)
      INTO v_unchanged, v_unchanged_count
      FROM jsonb_array_elements(coalesce(p_materials, '[]'::jsonb)) m
     WHERE NOT (m->>'originating')::boolean
       AND left(m->>'hs_code', v_digits) = left(p_hs, v_digits);
    v_ctc := v_unchanged_count = 0
             OR (v_limit IS NOT NULL AND v_unchanged * 100 <= v_limit * p_fob);
    IF v_code IN ('CC', 'CTH', 'CTSH') THEN
        RETURN v_ctc;
    END IF;
    v_vc := (r.build_down_percent IS NOT NULL
             AND (p_fob - v_vnm) * 100 >= r.build_down_percent * p_fob)
         OR (r.build_up_percent IS NOT NULL
             AND (v_vom + coalesce(p_others, 0)) * 100 >= r.build_up_percent * p_fob);
    IF v_code = 'RVC' THEN
        RETURN v_vc;
    END IF;
    IF r.value_content THEN
        v_parts := v_parts + 1;
        v_met := v_met + v_vc::integer;
    END IF;
    IF r.classification_level IS NOT NULL THEN
        v_parts := v_parts + 1;
        v_met := v_met + v_ctc::integer;
    END IF;
    IF r.combination = 'or' THEN
        RETURN v_met > 0;
    END IF;
    RETURN v_met = v_parts;
END $$;

CREATE FUNCTION od_origin_failing_lines(p_application_id integer) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN (
        SELECT string_agg(g.item_no::text, ', ' ORDER BY g.item_no)
        FROM applications a
        JOIN goods_lines g ON g.application_id = a.id
        LEFT JOIN cost_sheets s ON s.application_id = a.id
        WHERE a.id = p_application_id AND a.kind = 'preferential'
          AND coalesce(g.origin_criterion, '') <> ''
          AND NOT od_origin_verdict(
              a.agreement_code, g.hs_code, g.origin_criterion, s.fob,
              s.labour + s.overheads + s.profit + s.other_costs,
              (SELECT coalesce(jsonb_agg(jsonb_build_object(
                          'hs_code', m.hs_code, 'originating', m.originating,
                          'value', m.value)), '[]'::jsonb)
               FROM cost_sheet_materials m WHERE m.cost_sheet_id = s.id)));
END $$;

CREATE FUNCTION od_origin_override_recorded(p_application_id integer, p_user_id integer)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM audit_events e
        WHERE e.entity_type = 'application' AND e.entity_id = p_application_id
          AND e.action = 'application.origin_override' AND e.actor_id = p_user_id
          AND length(btrim(coalesce(e.note, ''))) > 0
          AND e.before::jsonb ->> 'transaction' = txid_current()::text);
END $$;

-- an override names the transaction that wrote it (txid_current(): the top-level
-- transaction, also inside a savepoint); only an approval in that transaction counts it
CREATE FUNCTION od_origin_override_stamp() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    NEW.before := json_build_object('transaction', txid_current()::text);
    RETURN NEW;
END $$;
CREATE TRIGGER audit_events_origin_stamp BEFORE INSERT ON audit_events
FOR EACH ROW WHEN (NEW.action = 'application.origin_override')
EXECUTE FUNCTION od_origin_override_stamp();
"""
FUNCTION_NAMES = (
    "od_origin_verdict(text, text, text, numeric, numeric, jsonb)",
    "od_origin_failing_lines(integer)",
    "od_origin_override_recorded(integer, integer)",
)

TRIGGER = f"""
CREATE FUNCTION od_origin_approval_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_name text;
    v_failing text;
BEGIN
    IF {IS_OWNER} THEN
        RETURN NEW;  -- the store's own functions
    END IF;
    SELECT a.name INTO v_name FROM origin_agreements a WHERE a.code = OLD.agreement_code;
    IF v_name IS NULL THEN
        RAISE EXCEPTION '%', format('Application %s names no known trade agreement; it cannot '
            'be approved.', OLD.number) {ODREF};
    END IF;
    IF NOT EXISTS (SELECT 1 FROM origin_agreement_partners p
                   WHERE p.agreement_code = OLD.agreement_code
                     AND p.country = OLD.destination_country) THEN
        RAISE EXCEPTION '%', format('%s does not cover the destination country %s; '
            'application %s cannot be approved.', v_name, OLD.destination_country,
            OLD.number) {ODREF};
    END IF;
    v_failing := od_origin_failing_lines(OLD.id);
    IF v_failing IS NOT NULL AND NOT od_origin_override_recorded(OLD.id, od_user_id()) THEN
        RAISE EXCEPTION '%', format('Goods line(s) %s of application %s do not meet the claimed '
            'origin criterion under %s; it is approved only with an origin override '
            '(application.origin_override, with a reason) recorded first.', v_failing,
            OLD.number, OLD.agreement_code) {ODREF};
    END IF;
    RETURN NEW;
END $$;

-- fires after applications_a_guard and before applications_change_seq (name order)
CREATE TRIGGER applications_b_origin BEFORE UPDATE ON applications
FOR EACH ROW
WHEN (OLD.status = 'under_scrutiny' AND NEW.status = 'approved' AND OLD.kind = 'preferential')
EXECUTE FUNCTION od_origin_approval_guard();
"""

# od_audit_guard (0004): an officer may record an origin override on an application
AUDIT_WORDS = "'application.approve', 'application.reject')"
AUDIT_WORDS_NEW = "'application.approve', 'application.reject', 'application.origin_override')"


def _pct() -> sa.types.TypeEngine:
    return app.models.base.ExactDecimal()


def upgrade() -> None:
    from app.models.origin_rules import origin_rule_rows

    agreements = op.create_table(
        'origin_agreements',
        sa.Column('code', sa.String(length=12), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('de_minimis_percent', _pct(), nullable=True),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_origin_agreements')),
    )
    partners = op.create_table(
        'origin_agreement_partners',
        sa.Column('agreement_code', sa.String(length=12), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ['agreement_code'], ['origin_agreements.code'],
            name=op.f('fk_origin_agreement_partners_agreement_code_origin_agreements'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('agreement_code', 'country',
                                name=op.f('pk_origin_agreement_partners')),
    )
    rules = op.create_table(
        'origin_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agreement_code', sa.String(length=12), nullable=False),
        sa.Column('hs_prefix', sa.String(length=6), nullable=False),
        sa.Column('value_content', sa.Boolean(), nullable=False),
        sa.Column('value_content_percent', _pct(), nullable=True),
        sa.Column('build_down_percent', _pct(), nullable=True),
        sa.Column('build_up_percent', _pct(), nullable=True),
        sa.Column('classification_level', sa.String(length=10), nullable=True),
        sa.Column('combination', sa.String(length=3), nullable=False),
        sa.Column('de_minimis_percent', _pct(), nullable=True),
        sa.Column('de_minimis_excluded', sa.String(length=400), nullable=False),
        sa.Column('de_minimis_by_chapter', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['agreement_code'], ['origin_agreements.code'],
                                name=op.f('fk_origin_rules_agreement_code_origin_agreements'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_origin_rules')),
        sa.UniqueConstraint('agreement_code', 'hs_prefix',
                            name=op.f('uq_origin_rules_agreement_code')),
    )
    heads, partner_rows, rule_rows = origin_rule_rows()
    op.bulk_insert(agreements, heads)
    op.bulk_insert(partners, partner_rows)
    op.bulk_insert(rules, rule_rows)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"GRANT SELECT ON origin_agreements, origin_agreement_partners, origin_rules "
               f"TO {DESK}")
    op.execute(FUNCTIONS)
    for name in FUNCTION_NAMES:
        op.execute(f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name} TO {DESK}")
    op.execute(TRIGGER)
    _rewrite_audit_guard(AUDIT_WORDS, AUDIT_WORDS_NEW)


def _rewrite_audit_guard(old: str, new: str) -> None:
    """Re-create od_audit_guard() with ``old`` replaced by ``new`` (its body otherwise as
    the store holds it, with whatever later revisions hooked into it)."""
    bind = op.get_bind()
    definition = bind.execute(sa.text(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
        "AND p.proname = 'od_audit_guard'")).scalar()
    if definition is None or definition.count(old) != 1:
        raise RuntimeError("od_audit_guard() is not as revision 0004 wrote it")
    cursor = bind.connection.dbapi_connection.cursor()  # no placeholders: format('%s')
    try:
        cursor.execute(definition.replace(old, new))
    finally:
        cursor.close()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rewrite_audit_guard(AUDIT_WORDS_NEW, AUDIT_WORDS)
        op.execute("DROP TRIGGER applications_b_origin ON applications")
        op.execute("DROP TRIGGER audit_events_origin_stamp ON audit_events")
        op.execute("DROP FUNCTION od_origin_override_stamp()")
        op.execute("DROP FUNCTION od_origin_approval_guard()")
        for name in reversed(FUNCTION_NAMES):
            op.execute(f"DROP FUNCTION {name}")
    op.drop_table('origin_rules')
    op.drop_table('origin_agreement_partners')
    op.drop_table('origin_agreements')
