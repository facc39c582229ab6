"""Settings from ``GATEWAY_*`` environment variables.

One ``Settings`` object for the whole gateway. Validators refuse unsafe
combinations outside development, so a production deployment cannot start
with, say, an unsandboxed executor.
"""

from __future__ import annotations

import os
import stat
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Where state lives and how the gateway behaves."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Field(
        default=Path(".gateway"),
        description="Release store, metadata database and logs.",
    )
    key_dir_override: Path | None = Field(
        default=None,
        alias="GATEWAY_KEY_DIR",
        description="Pseudonym and extract keys; never inside or beside an extract.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database (default: SQLite in data_dir).",
    )
    insecure_no_sandbox: bool = Field(
        default=False,
        description="Run jobs without isolation. Development only; refused in production.",
    )
    policy_file: Path = Field(
        default=Path("policies/health_thing.yaml"),
        description="The policy the service and its workers enforce.",
    )
    analyses_dir: Path = Field(
        default=Path("analyses"),
        description="Vetted analysis templates a researcher may submit by name.",
    )
    token_days: int = Field(
        default=90, ge=1, le=366, description="Lifetime of a new API token unless asked otherwise."
    )
    token_max_days: int = Field(
        default=366, ge=1, le=366, description="Longest lifetime an API token may be issued with."
    )
    auth_failure_limit: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins from one address or with one token prefix per window; "
        "more are answered 429.",
    )
    auth_failure_window_seconds: int = Field(
        default=60, ge=1, le=24 * 3600, description="The window failed sign-ins are counted in."
    )
    session_hours: int = Field(
        default=8,
        ge=1,
        le=24,
        description="A signed-in browser's session ends this long after sign-in.",
    )
    session_idle_minutes: int = Field(
        default=30, ge=5, le=24 * 60, description="A session unused for this long ends too."
    )
    job_lease_seconds: int = Field(
        default=60,
        ge=5,
        description="A worker that has not renewed its lease for this long is taken as stopped.",
    )
    job_max_attempts: int = Field(
        default=3, ge=1, description="Claims of one job before it is given up (ε stays charged)."
    )
    privacy_contact: str | None = Field(
        default=None,
        description="Where members reach the data protection officer (an e-mail address or "
        "URL), shown on the privacy page.",
    )
    backup_passphrase: SecretStr | None = Field(
        default=None,
        description="Seals the keys in `gateway backup` files and opens them on `gateway "
        "restore`; at least 12 characters, from a secret store, never on a command line.",
    )
    max_request_bytes: int = Field(
        default=512 * 1024, ge=1024, description="Largest request body the service accepts."
    )

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION and self.insecure_no_sandbox:
            raise ValueError(
                "GATEWAY_INSECURE_NO_SANDBOX is not allowed when GATEWAY_ENVIRONMENT=production"
            )
        return self

    @model_validator(mode="after")
    def _token_days_within_cap(self) -> Settings:
        if self.token_days > self.token_max_days:
            raise ValueError("GATEWAY_TOKEN_DAYS may not exceed GATEWAY_TOKEN_MAX_DAYS")
        return self

    @cached_property
    def key_dir(self) -> Path:
        return self.key_dir_override or self.data_dir / "keys"

    @property
    def metadata_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'gateway.sqlite'}"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` with mode 0700, or refuse one that others can read."""
    if path.exists():
        check_private(path)
        return path
    path.mkdir(parents=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def check_private(path: Path) -> None:
    """Refuse a key file or key directory that group or others can read.

    Key material must not be readable by other users; such a path is an
    error, never silently fixed.
    """
    from gateway.errors import ConfigError

    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        kind, what, private = (
            ("dir", "key directory", "700") if path.is_dir() else ("file", "key file", "600")
        )
        raise ConfigError(
            f"unsafe_key_{kind}",
            f"{what} {path} has mode {mode:o}; others can read it",
            hint=f"run: chmod {private} {path}",
        )


def get_settings() -> Settings:
    """The service's settings (a FastAPI dependency: it takes no request input)."""
    return load_settings()


def load_settings(*, insecure_no_sandbox: bool = False) -> Settings:
    """Settings from the environment; a bad ``GATEWAY_*`` value is a ``ConfigError`` naming it.

    The sandbox is switched off only when asked by name (``--insecure-no-sandbox``).
    """
    from gateway.errors import ConfigError

    try:
        return Settings(insecure_no_sandbox=True) if insecure_no_sandbox else Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "_".join(str(part) for part in error["loc"]).upper()
        where = f"GATEWAY_{name}: " if name else ""
        raise ConfigError(
            "invalid_settings",
            f"{where}{error['msg']}",
            hint="check the GATEWAY_* environment variables (docs/operations.md)",
        ) from None
