"""The eSign gateway's transactions (``app/hub/esign.py``): one row per document digest
sent to the eSign Service Provider for an officer's reserved certificate number.

A table of ``central_metadata`` (revision 0014_esign_gateway creates it): desks never pull
it, and on PostgreSQL only the service's role (``origin_desk_hub``) reaches it; the
issuing function ``od_record_issue`` (SECURITY DEFINER) reads it and marks a transaction
``used`` in the transaction of the issue. States: ``pending`` (waiting for the officer's
consent at the ESP), ``signed`` (the CMS verified and kept), ``failed`` (refused, with
the sentence in ``message``), ``expired``, ``cancelled``, ``used`` (recorded with an
issue; never again).
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from app.models.base import UtcDateTime
from app.store.central_tables import central_metadata

ESIGN_STATES = ("pending", "signed", "failed", "expired", "cancelled", "used")

esign_transactions = Table(
    "esign_transactions",
    central_metadata,
    Column("id", Integer, primary_key=True),
    Column("txn", String(50), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("application_id", Integer, ForeignKey("applications.id"), nullable=False),
    Column("certificate_number", String(32), nullable=False),
    Column("digest_sha256", String(64), nullable=False),
    Column("document_name", String(100), nullable=False),
    # SHA-256 of the one-time consent nonce; emptied when the consent page is opened
    Column("nonce_sha256", String(64)),
    Column("state", String(10), nullable=False, default="pending"),
    Column("message", Text, nullable=False, default=""),
    Column("cms", LargeBinary),
    Column("signer_certificate", LargeBinary),
    Column("signer_sha256", String(64)),
    Column("signer_name", String(200)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("decided_at", UtcDateTime()),
    CheckConstraint("state IN ('pending', 'signed', 'failed', 'expired', 'cancelled', "
                    "'used')", name="state"),
)
