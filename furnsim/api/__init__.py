"""The HTTP API of furnsim (``furnsim serve``): FastAPI over ``plan``/``replan`` with plans
stored through :mod:`furnsim.storage`. See ``docs/api.md``.

Needs the ``server`` extra (fastapi, uvicorn, sqlalchemy; psycopg for PostgreSQL).
"""

from furnsim.api.app import create_app
from furnsim.api.config import ConfigError, ServerConfig

__all__ = ["ConfigError", "ServerConfig", "create_app"]
