"""Tables of the central store that belong to the store and sync machinery, not the domain.

They live in their own ``MetaData`` (the migrations create them, with their foreign keys);
the Core ``Table`` objects here are what the code queries.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

from app.models.base import NAMING_CONVENTION, UtcDateTime

central_metadata = MetaData(naming_convention=NAMING_CONVENTION)

# One row per outbox operation a desk pushed: a retried push finds its id here and gets
# the recorded outcome back instead of applying the operation twice.
applied_operations = Table(
    "applied_operations",
    central_metadata,
    Column("operation_id", String(36), primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("application_id", Integer, nullable=False),
    Column("action", String(20), nullable=False),
    Column("outcome", String(10), nullable=False),  # applied | rejected
    Column("reason", Text, nullable=False, default=""),
    Column("version_after", Integer),
    Column("received_at", UtcDateTime(), nullable=False),
)

# The last certificate serial handed out per agency and year; its row lock serialises
# concurrent issues, and a rolled-back issue rolls the counter back with it (no gap).
certificate_number_counters = Table(
    "certificate_number_counters",
    central_metadata,
    Column("agency_id", Integer, primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last_serial", Integer, nullable=False),
)

# Which database login role is which user (PostgreSQL row-level security reads it).
db_logins = Table(
    "db_logins",
    central_metadata,
    Column("role_name", String(63), primary_key=True),
    Column("user_id", Integer, nullable=False, unique=True),
)

# SQLite has no sequences: the change-sequence counter of the embedded central store.
change_counter = Table(
    "change_counter",
    central_metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)
