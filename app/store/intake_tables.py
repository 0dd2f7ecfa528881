"""Tables of the intake API (``app/hub/intake.py``): the API keys an administrator issues
per exporter (IEC), and the answers recorded under an ``Idempotency-Key``.

They belong to ``central_metadata`` (revision 0006_intake creates them); desks never pull
them. On PostgreSQL the service's role (``origin_desk_hub``) reads the keys and writes the
idempotency records; administrators list, issue and revoke the keys of their agency's
offices.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from app.models.base import UtcDateTime
from app.store.central_tables import central_metadata

# An exporter's system (or its customs agent) presents ``odk_<prefix>_<secret>``; only the
# SHA-256 of the whole key is kept, so a copy of the table files nothing. ``prefix`` names
# the key in lists, logs and audit events. Applications filed with a key go to its office.
api_keys = Table(
    "api_keys",
    central_metadata,
    Column("id", Integer, primary_key=True),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_sha256", String(64), nullable=False),
    Column("exporter_id", Integer, ForeignKey("exporters.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("office_id", Integer, ForeignKey("offices.id"), nullable=False),
    Column("label", String(100), nullable=False, default=""),
    Column("created_by_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("last_used_at", UtcDateTime()),
)

# The answer given to a request made with an ``Idempotency-Key``: the same key and the
# same request get it again (nothing is filed twice); the same key with another request is
# refused. ``request_sha256`` covers the method, the route and the request's content.
idempotency_records = Table(
    "idempotency_records",
    central_metadata,
    Column("api_key_id", Integer, ForeignKey("api_keys.id", ondelete="CASCADE"),
           nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, index=True),
    PrimaryKeyConstraint("api_key_id", "idempotency_key"),
)
