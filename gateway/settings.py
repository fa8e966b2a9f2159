"""The gateway's settings: one class, read from GATEWAY_* once, passed by dependency."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration; paths derive from `home` when not set."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_nested_delimiter="__")

    home: Path = Path("var")
    database_url: str | None = None
    policies: Path = Path("policies")
    keyring: Path | None = None
    # Production may hand the keyring over in the environment instead of a file.
    keyring_json: str | None = Field(default=None, repr=False)

    default_region: str = "FR"
    max_body_bytes: int = 8 * 1024 * 1024
    max_batch_records: int = 1000
    max_json_depth: int = 32
    token_ttl_seconds: int = 900
    # Rate limits over a sliding minute: per authenticated client, and per
    # source address (hashed) for calls without valid credentials (failed
    # `POST /v1/token`, a missing or bad bearer). Shared by every worker
    # through Redis when `redis_url` is set, per process otherwise.
    rate_limit_per_minute: int = Field(default=6000, ge=1)
    rate_limit_unauthenticated_per_minute: int = Field(default=60, ge=1)
    redis_url: str | None = Field(default=None, repr=False)
    # Namespace of the limiter's Redis keys (several gateways, or tests, may
    # share one Redis).
    rate_limit_key_prefix: str = Field(
        default="gateway", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    log_level: str = "INFO"
    # Helper processes per server process that make linkage encodings beside
    # the requests (0: in the request's thread).
    linkage_workers: int = Field(default=1, ge=0, le=8)
    # Retention of operational data (`gateway retention run`); records follow
    # their purpose's retention_days in the policies. Idempotent responses
    # hold pseudonyms and record ids and only serve a partner's retries: one
    # day. Past runs are read by nobody (destinations pull the latest, kept
    # whatever its age) and hold who was in which segment: a month, for
    # comparisons and questions about a recent pull.
    retention_idempotency_days: int = Field(default=1, ge=1)
    retention_run_days: int = Field(default=30, ge=1)
    # Rows per retention transaction: short locks, bounded memory.
    retention_batch_size: int = Field(default=1000, ge=1, le=50_000)

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL, defaulting to the SQLite file under `home`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home.resolve() / 'gateway.db'}"

    @property
    def keyring_path(self) -> Path:
        """Where the keyring file lives."""
        return self.keyring or self.home / "keys" / "keyring.json"

    @property
    def log_dir(self) -> Path:
        """Where the JSON log file is written."""
        return self.home / "logs"


@lru_cache
def get_settings() -> Settings:
    """Build the settings once per process (tests clear the cache to override)."""
    return Settings()
