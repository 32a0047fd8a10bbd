"""One typed settings object for the server and the CLI.

Values come from arguments first, then ``RUNTREE_*`` environment variables, then defaults.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_DATABASE_URL = "sqlite:///runtree.db"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, le=256)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    shutdown_grace_s: float = Field(default=5.0, ge=0)

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Settings from ``overrides`` (``None`` values ignored), then the environment."""
        values: dict[str, object] = {}
        env = {
            "database_url": "RUNTREE_DATABASE_URL",
            "host": "RUNTREE_HOST",
            "port": "RUNTREE_PORT",
            "workers": "RUNTREE_WORKERS",
            "max_body_bytes": "RUNTREE_MAX_BODY_BYTES",
        }
        for field, variable in env.items():
            if os.environ.get(variable):
                values[field] = os.environ[variable]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
