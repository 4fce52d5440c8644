"""Settings of the HTTP service: a YAML file (``furnsim serve --config``) and environment.

Precedence: environment variable > config file > default. Every field has its variable,
``FURNSIM_API_<FIELD>`` (upper case), except ``api_keys`` (``FURNSIM_API_KEYS``,
comma-separated) and ``db_url`` (``FURNSIM_DB_URL``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["ConfigError", "ServerConfig"]


class ConfigError(ValueError):
    """An unreadable or invalid server configuration (the CLI exits 2 with the message)."""


class ServerConfig(BaseModel):
    """Limits, authentication and storage of ``furnsim serve``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_keys: tuple[str, ...] = Field(
        default=(),
        description="accepted values of the X-API-Key header (at least 16 characters each)",
    )
    auth: bool = Field(default=True, description="require an API key (off only with --no-auth)")
    db_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite in $FURNSIM_DATA/plans.sqlite"
    )
    max_body_bytes: int = Field(
        default=2_000_000, ge=1_000, description="larger request bodies are refused with 413"
    )
    max_orders: int = Field(default=2_000, ge=1, description="orders per request (more: 413)")
    max_events: int = Field(
        default=1_000, ge=1, description="events per re-planning request (more: 413)"
    )
    workers: int = Field(default=2, ge=1, le=64, description="planning threads")
    max_queue: int = Field(
        default=100, ge=1, description="plans queued or running at once; beyond it POST answers 503"
    )
    max_time_limit: float = Field(
        default=300.0,
        gt=0,
        description="largest options.time_limit a request may ask for (seconds)",
    )
    default_time_limit: float = Field(
        default=60.0, gt=0, description="time limit of cpsat when a request gives none (seconds)"
    )
    max_attempts: int = Field(
        default=2,
        ge=1,
        description="a plan interrupted by server stops this often is marked failed",
    )
    shutdown_grace_s: float = Field(
        default=5.0, ge=0, description="at shutdown, wait this long for running plans to finish"
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(k.strip() for k in v.split(",") if k.strip())
        return v

    @field_validator("api_keys")
    @classmethod
    def _key_length(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        short = [k for k in v if len(k) < 16]
        if short:
            raise ValueError(f"{len(short)} API key(s) shorter than 16 characters")
        return v

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> ServerConfig:
        """The config file (if any), then the environment, then ``overrides`` (CLI options)."""
        import yaml

        env = os.environ if env is None else env
        data: dict[str, Any] = {}
        if path is not None:
            try:
                loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as e:
                raise ConfigError(f"{path}: cannot read the server config ({e})") from None
            if loaded is not None and not isinstance(loaded, dict):
                raise ConfigError(f"{path}: expected a mapping of setting -> value")
            data.update(loaded or {})
        for name in cls.model_fields:
            var = {"api_keys": "FURNSIM_API_KEYS", "db_url": "FURNSIM_DB_URL"}.get(
                name, f"FURNSIM_API_{name.upper()}"
            )
            if env.get(var):
                data[name] = env[var]
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**data)
        except ValidationError as e:
            where = f"{path}: " if path is not None else ""
            msgs = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            raise ConfigError(f"{where}invalid server setting: {msgs}") from None
