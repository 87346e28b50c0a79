"""Identity tables (their own database file on SQLite: not a view, never rebuilt)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, MetaData, String, Table, Uuid

metadata = MetaData()

users = Table(
    "identity_users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("fellow_id", Uuid),
    Column("organisation_ids", JSON, nullable=False),
    Column("password_hash", String(255)),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

tokens = Table(
    "identity_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

sessions = Table(
    "identity_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
)
