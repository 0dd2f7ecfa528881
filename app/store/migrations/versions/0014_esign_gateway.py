"""The agency's eSign gateway (issue 14, ``docs/ESIGN.md``): its transactions, and the issue
of a certificate signed with Aadhaar eSign.

Both engines:

- ``esign_transactions`` (``app/store/esign_tables.py``): one row per document digest the
  central service sent to the eSign Service Provider for an officer's reserved number:
  txn (unique), the officer, application, certificate number, digest, document name, the
  SHA-256 of the one-time consent nonce, the state (``pending``, ``signed``, ``failed``,
  ``expired``, ``cancelled``, ``used``: CHECK), the refusal's sentence, the verified CMS,
  the one-time signer certificate (its SHA-256 and name), created / expires / decided at;
- ``certificates.signed_with``: ``dsc`` (default: every certificate issued before) or
  ``esign`` (a plain ADD COLUMN on SQLite, keeping the change-sequence triggers).

PostgreSQL only:

- ``esign_transactions`` is reached by the service's role alone (``origin_desk_hub``:
  SELECT, INSERT, UPDATE); desk roles get nothing on it. CHECK on ``signed_with``.
- ``od_record_issue(text, integer, integer, bytea, text, text, text)`` (new: the seventh
  argument is the eSign transaction, NULL for a DSC): 0004's issue, where with a
  transaction the DSC registration rule gives way to ``od_esign_signature``: the
  transaction is ``signed``, made by the same officer for the same application and
  number, its one-time certificate is the signer passed, and the PDF carries its CMS in a
  signature whose byte range covers the whole file and hashes to the digest sent; the
  transaction becomes ``used`` in the issue's transaction (a second use is refused), the
  certificate records ``signed_with = 'esign'`` and the audit event names the
  transaction. Refusals raise ``ODREF`` with one sentence (the same as the SQLite store's,
  ``app/services/central_issuing.py``).
- ``od_record_issue(text, integer, integer, bytea, text, text)`` (``CREATE OR REPLACE``):
  the same function with no transaction, so there is one body of the issue; downgrade
  puts 0004's body back.

Revision ID: 0014_esign_gateway
Revises: 0013_legacy_migration
Create Date: 2026-11-30
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = '0014_esign_gateway'
down_revision = '0013_legacy_migration'
branch_labels = None
depends_on = None

HUB = "origin_desk_hub"
DESK = "origin_desk_officer, origin_desk_admin"
RECORD_6 = "od_record_issue(text, integer, integer, bytea, text, text)"
RECORD_7 = "od_record_issue(text, integer, integer, bytea, text, text, text)"
ESIGN_CHECK = "od_esign_signature(text, users, applications, text, text, bytea)"

# the refusals, word for word app.services.central_issuing's (format: txn, application)
ESIGN_CHECK_FUNCTION = r"""
CREATE FUNCTION od_esign_signature(p_txn text, p_user users, p_app applications,
                                   p_number text, p_signer text, p_pdf bytea)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_txn esign_transactions;
    v_from integer := 1;
    v_pos integer;
    v_match text[];
    v_a bigint;
    v_b bigint;
    v_c bigint;
    v_d bigint;
    v_hex text;
    v_cms text;
BEGIN
    SELECT t.* INTO v_txn FROM esign_transactions t WHERE t.txn = p_txn FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%', format('The eSign transaction %s is not known to the central '
            'store; application %s was not issued.', p_txn, p_app.number)
            USING ERRCODE = 'ODREF';
    END IF;
    IF v_txn.user_id <> p_user.id OR v_txn.application_id <> p_app.id
            OR v_txn.certificate_number <> p_number THEN
        RAISE EXCEPTION '%', format('The eSign transaction %s was made for another officer, '
            'application or certificate number; application %s was not issued.', p_txn,
            p_app.number) USING ERRCODE = 'ODREF';
    END IF;
    IF v_txn.state = 'used' THEN
        RAISE EXCEPTION '%', format('The eSign transaction %s was already used for an issue, '
            'and a signature is never used twice; application %s was not issued.', p_txn,
            p_app.number) USING ERRCODE = 'ODREF';
    END IF;
    IF v_txn.state <> 'signed' THEN
        RAISE EXCEPTION '%', format('The eSign transaction %s is %s, not signed; application '
            '%s was not issued.', p_txn, v_txn.state, p_app.number) USING ERRCODE = 'ODREF';
    END IF;
    IF v_txn.signer_certificate IS NULL
            OR encode(sha256(v_txn.signer_certificate), 'hex') <> p_signer THEN
        RAISE EXCEPTION '%', format('The certificate of application %s was not signed with '
            'the one-time certificate of eSign transaction %s; it was not issued.',
            p_app.number, p_txn) USING ERRCODE = 'ODREF';
    END IF;
    -- the PDF's signature holding this CMS: /ByteRange [0 b c d], c + d the file's length,
    -- bytes b..c-1 '<' hex '>' with the CMS's hex first and zeros after
    v_cms := encode(v_txn.cms, 'hex');
    LOOP
        v_pos := position('/ByteRange'::bytea IN substring(p_pdf FROM v_from));
        EXIT WHEN v_pos = 0;
        v_pos := v_from + v_pos - 1;
        v_from := v_pos + 10;
        v_match := regexp_match(encode(substring(p_pdf FROM v_pos + 10 FOR 80), 'escape'),
                                '^\s*\[\s*(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s*\]');
        CONTINUE WHEN v_match IS NULL;
        v_a := v_match[1]::bigint;
        v_b := v_match[2]::bigint;
        v_c := v_match[3]::bigint;
        v_d := v_match[4]::bigint;
        CONTINUE WHEN v_a <> 0 OR v_c + v_d <> length(p_pdf) OR v_c < v_b + 2;
        CONTINUE WHEN get_byte(p_pdf, v_b::integer) <> 60
                   OR get_byte(p_pdf, (v_c - 1)::integer) <> 62;
        -- the checks above bound b, c and d by the file's length: the casts hold
        v_hex := lower(encode(substring(p_pdf FROM (v_b + 2)::integer
                                        FOR (v_c - v_b - 2)::integer), 'escape'));
        CONTINUE WHEN left(v_hex, length(v_cms)) <> v_cms
                   OR ltrim(substr(v_hex, length(v_cms) + 1), '0') <> '';
        IF encode(sha256(substring(p_pdf FROM 1 FOR v_b::integer)
                         || substring(p_pdf FROM (v_c + 1)::integer FOR v_d::integer)), 'hex')
                <> v_txn.digest_sha256 THEN
            RAISE EXCEPTION '%', format('The signature in the PDF of application %s is not '
                'over the digest sent for eSign transaction %s; it was not issued.',
                p_app.number, p_txn) USING ERRCODE = 'ODREF';
        END IF;
        RETURN v_txn.id;
    END LOOP;
    RAISE EXCEPTION '%', format('The signed PDF of application %s does not carry the '
        'signature of eSign transaction %s over the whole file; it was not issued.',
        p_app.number, p_txn) USING ERRCODE = 'ODREF';
END $$;
"""

RECORD_WRAPPER = """
CREATE OR REPLACE FUNCTION od_record_issue(
    p_number text, p_application_id integer, p_version integer, p_pdf bytea,
    p_pdf_sha256 text, p_signer_fingerprint text)
RETURNS TABLE (certificate_id integer, issued_at timestamptz, superseded_number text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    -- a DSC's issue: the one body of the issue, without an eSign transaction (0014)
    RETURN QUERY SELECT r.certificate_id, r.issued_at, r.superseded_number
    FROM od_record_issue(p_number, p_application_id, p_version, p_pdf, p_pdf_sha256,
                         p_signer_fingerprint, NULL::text) r;
END $$;
"""

# 0004's od_record_issue, and the pieces this revision changes in it
_EDITS = (
    ("p_pdf bytea, p_pdf_sha256 text, p_signer_fingerprint text)\nRETURNS TABLE",
     "p_pdf bytea, p_pdf_sha256 text, p_signer_fingerprint text,\n"
     "                                p_esign_txn text)\nRETURNS TABLE"),
    ("    v_superseded text;\nBEGIN",
     "    v_superseded text;\n    v_esign_id integer;\n"
     "    v_signed_with text := 'dsc';\nBEGIN"),
    ("    IF NOT EXISTS (\n        SELECT 1 FROM dsc_registrations d",
     "    IF p_esign_txn IS NOT NULL THEN\n"
     "        -- Aadhaar eSign: the gateway's signed transaction instead of a registered DSC\n"
     "        v_esign_id := od_esign_signature(p_esign_txn, v_user, v_app, p_number, v_signer,\n"
     "                                         p_pdf);\n"
     "        v_signed_with := 'esign';\n"
     "    ELSIF NOT EXISTS (\n        SELECT 1 FROM dsc_registrations d"),
    ("status, signer_fingerprint, pdf_sha256, pdf)\n"
     "        VALUES (p_number, v_app.id, v_app.office_id, v_user.id, v_issued_at, 'valid', "
     "v_signer,\n                v_digest, p_pdf)",
     "status, signer_fingerprint, pdf_sha256, pdf, signed_with)\n"
     "        VALUES (p_number, v_app.id, v_app.office_id, v_user.id, v_issued_at, 'valid', "
     "v_signer,\n                v_digest, p_pdf, v_signed_with)"),
    ("    UPDATE certificate_numbers n SET state = 'issued' WHERE n.id = v_number.id;\n",
     "    UPDATE certificate_numbers n SET state = 'issued' WHERE n.id = v_number.id;\n"
     "    IF v_esign_id IS NOT NULL THEN  -- used with this issue, never again\n"
     "        UPDATE esign_transactions t SET state = 'used' WHERE t.id = v_esign_id;\n"
     "    END IF;\n"),
    ("                              'pdf_sha256', v_digest, 'signer_sha256', v_signer,\n",
     "                              'pdf_sha256', v_digest, 'signer_sha256', v_signer,\n"
     "                              'signed_with', v_signed_with, 'esign_txn', p_esign_txn,\n"),
)


def _record_issue_0004() -> str:
    """0004's ``CREATE FUNCTION od_record_issue(...)`` statement, as that revision ran it."""
    path = Path(__file__).with_name("0004_central_rules.py")
    spec = importlib.util.spec_from_file_location("_od_revision_0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    helpers: str = module.HELPERS
    start = helpers.index("CREATE FUNCTION od_record_issue(")
    end = helpers.index("END $$;", start) + len("END $$;")
    return helpers[start:end] + "\n"


def record_issue_with_esign() -> str:
    body = _record_issue_0004()
    for old, new in _EDITS:
        if body.count(old) != 1:
            raise RuntimeError(f"0004's od_record_issue changed: {old[:50]!r}")
        body = body.replace(old, new)
    return body


def _dt() -> sa.types.TypeEngine:
    return app.models.base.UtcDateTime()


def upgrade() -> None:
    op.create_table(
        'esign_transactions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('txn', sa.String(length=50), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('certificate_number', sa.String(length=32), nullable=False),
        sa.Column('digest_sha256', sa.String(length=64), nullable=False),
        sa.Column('document_name', sa.String(length=100), nullable=False),
        sa.Column('nonce_sha256', sa.String(length=64), nullable=True),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('cms', sa.LargeBinary(), nullable=True),
        sa.Column('signer_certificate', sa.LargeBinary(), nullable=True),
        sa.Column('signer_sha256', sa.String(length=64), nullable=True),
        sa.Column('signer_name', sa.String(length=200), nullable=True),
        sa.Column('created_at', _dt(), nullable=False),
        sa.Column('expires_at', _dt(), nullable=False),
        sa.Column('decided_at', _dt(), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'signed', 'failed', 'expired', 'cancelled', "
                           "'used')", name=op.f('ck_esign_transactions_state')),
        sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                                name=op.f('fk_esign_transactions_application_id_applications')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_esign_transactions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_esign_transactions')),
        sa.UniqueConstraint('txn', name=op.f('uq_esign_transactions_txn')),
    )
    op.create_index(op.f('ix_esign_transactions_user_id'), 'esign_transactions', ['user_id'])
    # a plain ADD COLUMN (SQLite keeps the table and its change-sequence triggers)
    op.add_column('certificates', sa.Column('signed_with', sa.String(length=10),
                                            nullable=False, server_default='dsc'))
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE certificates ADD CONSTRAINT ck_certificates_signed_with "
               "CHECK (signed_with IN ('dsc', 'esign'))")
    op.execute("REVOKE ALL ON esign_transactions FROM PUBLIC")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON esign_transactions TO {HUB}")
    op.execute(f"GRANT USAGE ON SEQUENCE esign_transactions_id_seq TO {HUB}")
    op.execute(ESIGN_CHECK_FUNCTION)
    op.execute(record_issue_with_esign())
    op.execute(RECORD_WRAPPER)
    for name in (ESIGN_CHECK, RECORD_7):
        op.execute(f"REVOKE ALL ON FUNCTION {name} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {RECORD_7} TO {DESK}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_record_issue_0004().replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION",
                                                1))
        op.execute(f"DROP FUNCTION {RECORD_7}")
        op.execute(f"DROP FUNCTION {ESIGN_CHECK}")
        op.execute("ALTER TABLE certificates DROP CONSTRAINT ck_certificates_signed_with")
    # a plain DROP COLUMN on SQLite too (3.35+): no table copy, the triggers stay
    op.drop_column('certificates', 'signed_with')
    op.drop_index(op.f('ix_esign_transactions_user_id'), table_name='esign_transactions')
    op.drop_table('esign_transactions')
