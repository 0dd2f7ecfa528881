"""Tables of the central service (``app/hub``): officers' passwords and sessions, public
captchas already answered, agencies' QR seals and their sign-in policy.

They belong to ``central_metadata`` (revision 0005_central_service creates them); desks never
pull them, and on PostgreSQL only the service's role (``origin_desk_hub``) reaches them.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
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

# An officer's password at the central service: argon2id hash (with its own salt and
# parameters), whether the administrator's initial password must still be changed, and
# the failed attempts since the last success (lockout).
user_credentials = Table(
    "user_credentials",
    central_metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("must_change", Boolean, nullable=False, default=True),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime()),
    Column("changed_at", UtcDateTime(), nullable=False),
)

# A signed-in desk: only the SHA-256 of its opaque token is kept, so a copy of the table
# signs nobody in. Expires, and is revoked by sign-out, a password change or an
# administrator.
hub_sessions = Table(
    "hub_sessions",
    central_metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("client", String(200), nullable=False, default=""),
    # the DSC (SHA-256 of its DER) that proved itself at sign-in, where the agency asks it
    Column("dsc_fingerprint", String(64)),
)

# What each agency asks of a desk signing in through the service.
agency_sign_in_policies = Table(
    "agency_sign_in_policies",
    central_metadata,
    Column("agency_id", Integer, ForeignKey("agencies.id", ondelete="CASCADE"),
           primary_key=True),
    Column("require_dsc", Boolean, nullable=False, default=False),
)

# A captcha of the public verification page answered once: it cannot be answered again.
captcha_uses = Table(
    "captcha_uses",
    central_metadata,
    Column("captcha_id", String(64), primary_key=True),
    Column("used_at", UtcDateTime(), nullable=False, index=True),
)

# The keys that seal QR payloads, one current per agency (older ones stay listed so that
# certificates sealed before a key change keep verifying). The private key stays in the
# PKCS#11 module under ``key_label``; ``key_id`` is the first 8 bytes of SHA-256 of the
# certificate's DER, as in the QR payload.
agency_seals = Table(
    "agency_seals",
    central_metadata,
    Column("id", Integer, primary_key=True),
    Column("agency_id", Integer, ForeignKey("agencies.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("key_id", LargeBinary(8), nullable=False, unique=True),
    Column("certificate", LargeBinary, nullable=False),
    Column("key_label", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("retired_at", UtcDateTime()),
)
