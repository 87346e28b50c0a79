"""Settings, read from ``IMPACT_*`` environment variables and an optional ``.env`` file.

One URL chooses the event store: unset for SQLite under the data directory (the embedded
default), ``postgresql://user:password@host:port/dbname`` for PostgreSQL, ``memory://`` for an
in-memory store (tests).  Nothing here touches a disk or a database: that happens when the
application is built from the settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

EventStoreEnv = dict[str, str]


class Settings(BaseSettings):
    """Everything an operator can set, with safe development defaults."""

    model_config = SettingsConfigDict(env_prefix="IMPACT_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=Path("var"), description="Where SQLite files live.")
    database_url: str | None = Field(
        default=None, description="Event store URL; unset means SQLite in data_dir."
    )
    create_schema: bool = Field(
        default=True,
        description="Create missing event-store tables at start-up; turn off where several "
        "processes start at once and the schema is created beforehand.",
    )
    aggregate_cache_size: int = Field(
        default=1000,
        ge=0,
        le=1_000_000,
        description="Aggregates kept in memory (each read fast-forwards with newer events).",
    )
    postgres_pool_size: int = Field(default=5, ge=1, le=100)
    postgres_statement_timeout_seconds: int = Field(
        default=30, ge=1, le=3600, description="Longest a read-model query may run (PostgreSQL)."
    )
    postgres_lock_timeout_seconds: int = Field(default=5, ge=1, le=600)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs CSRF cookies; required in production (any long random string).",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs checkpoints; default "
        "data_dir/signing-key.pem, created on first use outside production.",
    )
    trusted_checkpoint_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Ed25519 public keys (hex, comma-separated) whose checkpoints are trusted "
        "besides the signing key's own: earlier keys after a rotation, or the tracker's key "
        "where only its public half is kept (a verifying machine).",
    )
    checkpoint_every_seconds: float | None = Field(
        default=None,
        ge=1,
        le=31 * 24 * 3600,
        description="Sign a checkpoint from the projection follower once this long has passed "
        "since the last one, if the log has grown; unset: only on demand.",
    )
    login_attempts_per_minute: int = Field(default=5, ge=1, le=1000)
    projection_page_size: int = Field(default=500, ge=1, le=10_000)
    projection_poll_seconds: float = Field(default=0.2, gt=0, le=60)
    run_projections_in_process: bool = Field(
        default=True,
        description="Keep the views current inside `impact serve`; turn off when separate "
        "`impact project --follow` workers do it.",
    )
    node_modules: Path = Field(
        default=Path(__file__).resolve().parents[1] / "node_modules",
        description="Where npm installed the web pages' front-end packages (make install).",
    )
    live_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often a page's live-update stream looks for new events.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = urlsplit(value).scheme
        if scheme not in {"sqlite", "postgresql", "postgres", "memory"}:
            msg = "database_url must start with sqlite://, postgresql:// or memory://"
            raise ValueError(msg)
        return value

    @field_validator("trusted_checkpoint_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_checkpoint_keys")
    @classmethod
    def _hex_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            try:
                raw = bytes.fromhex(key)
            except ValueError:
                raw = b""
            if len(raw) != 32:
                msg = f"{key[:20]!r} is not an Ed25519 public key (64 hex digits)"
                raise ValueError(msg)
        return [key.lower() for key in value]

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key is None or len(self.secret_key.get_secret_value()) < 32
        ):
            msg = "IMPACT_SECRET_KEY (32+ characters) is required in production"
            raise ValueError(msg)
        return self

    @property
    def engine(self) -> Literal["sqlite", "postgresql", "memory"]:
        """Which engine holds the events."""
        if self.database_url is None:
            return "sqlite"
        scheme = urlsplit(self.database_url).scheme
        if scheme in {"postgresql", "postgres"}:
            return "postgresql"
        if scheme == "memory":
            return "memory"
        return "sqlite"

    @property
    def sqlite_path(self) -> Path:
        """The SQLite events file (only meaningful when the engine is SQLite)."""
        if self.database_url and self.engine == "sqlite":
            return Path(unquote(urlsplit(self.database_url).path).removeprefix("/"))
        return self.data_dir / "events.sqlite"

    @property
    def signing_key_path(self) -> Path:
        """Where the checkpoint signing key is."""
        return self.signing_key_file or self.data_dir / "signing-key.pem"

    @property
    def views_url(self) -> str:
        """SQLAlchemy URL of the read models: a second SQLite file, or the same PostgreSQL."""
        if self.engine == "postgresql":
            assert self.database_url is not None
            return "postgresql+psycopg://" + self.database_url.split("://", 1)[1]
        return f"sqlite:///{self.data_dir / 'views.sqlite'}"

    def event_store_env(self) -> EventStoreEnv:
        """The ``eventsourcing`` library's environment for the chosen engine."""
        env: EventStoreEnv = {
            "MAPPER_TOPIC": "application.persistence.mapper:PydanticMapper",
            "CREATE_TABLE": "y" if self.create_schema else "n",
        }
        if self.aggregate_cache_size:
            env["AGGREGATE_CACHE_MAXSIZE"] = str(self.aggregate_cache_size)
            env["AGGREGATE_CACHE_FASTFORWARD"] = "y"
        if self.engine == "memory":
            env["PERSISTENCE_MODULE"] = "application.persistence.memory:TrackerMemoryFactory"
        elif self.engine == "sqlite":
            env["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
            env["APPLICATION_RECORDER_TOPIC"] = (
                "application.persistence.sqlite:TrackerSQLiteRecorder"
            )
            env["SQLITE_DBNAME"] = str(self.sqlite_path)
            env["SQLITE_LOCK_TIMEOUT"] = "30"
        else:
            assert self.database_url is not None  # engine is postgresql
            url = urlsplit(self.database_url)
            env["PERSISTENCE_MODULE"] = "eventsourcing.postgres"
            env["APPLICATION_RECORDER_TOPIC"] = (
                "application.persistence.postgres:TrackerPostgresRecorder"
            )
            env["POSTGRES_DBNAME"] = url.path.removeprefix("/") or "impact"
            env["POSTGRES_HOST"] = url.hostname or "127.0.0.1"
            env["POSTGRES_PORT"] = str(url.port or 5432)
            env["POSTGRES_USER"] = unquote(url.username or "postgres")
            env["POSTGRES_PASSWORD"] = unquote(url.password or "")
            env["POSTGRES_POOL_SIZE"] = str(self.postgres_pool_size)
            env["POSTGRES_LOCK_TIMEOUT"] = str(self.postgres_lock_timeout_seconds)
        return env
