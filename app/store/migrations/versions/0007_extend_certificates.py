"""Archive renewal of certificates (``origin-desk extend``): ``od_extend_certificate``.

Desk roles may not UPDATE ``certificates`` (0004). A B-LTA certificate's file must still
grow, as archives do: fresh validation data (DSS) and a new document timestamp, appended
as incremental updates (``app/signing/archive.py``). PostgreSQL only:

``od_extend_certificate(p_number text, p_pdf bytea)``, SECURITY DEFINER, executable by
``origin_desk_admin`` alone (and so by the service acting for an administrator, which
runs as that role): the caller is an active administrator (``od_is_admin()``) of the
certificate's agency; the certificate is in the store; the new file is longer than the
stored one and **starts with its bytes** (an incremental update of the file as issued:
the first revision, the signature and everything since stay byte for byte); the bytes
added hold a ``/DocTimeStamp``. ``pdf`` is replaced, ``pdf_sha256`` stays the digest
recorded at issue (strict verification matches it against a revision's end), and a
``certificate.extend`` audit event records the sizes. Refusals are SQLSTATE ``ODREF``.

PL/pgSQL cannot parse a PDF: that the added revisions carry nothing but validation data
and document timestamps is checked by the caller before it calls the function
(``SqlCentral.extend_certificate``: ``app.signing.integrity`` and pyHanko's diff
analysis), and again by every verification (the "No change after signing" check), so
an administrator who bypassed it would only make the certificate "not valid".

Revision ID: 0007_extend_certificates
Revises: 0006_intake
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op

revision = '0007_extend_certificates'
down_revision = '0006_intake'
branch_labels = None
depends_on = None

ADMIN = "origin_desk_admin"
SIGNATURE = "od_extend_certificate(text, bytea)"

FUNCTION = """
CREATE FUNCTION od_extend_certificate(p_number text, p_pdf bytea) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_certificate certificates;
    v_agency_id integer;
    v_old_length integer;
BEGIN
    IF NOT coalesce(od_is_admin(), false) THEN
        RAISE EXCEPTION '%', format('Only an administrator can extend certificate %s.',
            p_number) USING ERRCODE = 'ODREF';
    END IF;
    SELECT c.* INTO v_certificate FROM certificates c JOIN offices o ON o.id = c.office_id
    WHERE c.number = p_number AND o.agency_id = od_agency_id()
    FOR UPDATE OF c;
    IF NOT FOUND OR v_certificate.pdf IS NULL THEN
        RAISE EXCEPTION '%', format('Certificate %s is not in this store.', p_number)
            USING ERRCODE = 'ODREF';
    END IF;
    v_old_length := length(v_certificate.pdf);
    IF p_pdf IS NULL OR length(p_pdf) <= v_old_length
       OR substring(p_pdf FROM 1 FOR v_old_length) <> v_certificate.pdf THEN
        RAISE EXCEPTION '%', format('Certificate %s was not extended: the new file does not '
            'start with the stored one: it is not an incremental update of the certificate '
            'as issued.', p_number) USING ERRCODE = 'ODREF';
    END IF;
    IF position('/DocTimeStamp'::bytea IN substring(p_pdf FROM v_old_length + 1)) = 0 THEN
        RAISE EXCEPTION '%', format('Certificate %s was not extended: it adds no document '
            'timestamp.', p_number) USING ERRCODE = 'ODREF';
    END IF;
    UPDATE certificates c SET pdf = p_pdf WHERE c.id = v_certificate.id;
    INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, entity_id,
                              before, after, note)
    VALUES (now(), od_user_id(), od_user_label(), 'certificate.extend', 'certificate',
            v_certificate.id, json_build_object('pdf_bytes', v_old_length),
            json_build_object('pdf_bytes', length(p_pdf)),
            'validation data and a document timestamp added (archive renewal)');
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: SqlCentral.extend_certificate makes the same checks in Python
    op.execute(FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {ADMIN}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {SIGNATURE}")
