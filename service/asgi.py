"""The ASGI entry point for multi-worker serving: ``uvicorn --factory service.asgi:app_from_env``.

``ratecard serve --workers N`` bootstraps the database once in the parent,
then starts N uvicorn workers that each build the app from RATECARD_*
environment variables. Only one of them runs the scheduler: the one holding
an exclusive lock on ``<db>.scheduler.lock`` (see service.app).
"""

import os

from litestar import Litestar

from service.app import Settings, create_app


def settings_from_env() -> Settings:
    """Settings as the parent process handed them down in the environment."""
    env = os.environ
    return Settings(
        db_path=env.get("RATECARD_DB") or "ratecard.db",
        sources_path=env.get("RATECARD_SOURCES") or None,
        admin_token=env.get("RATECARD_ADMIN_TOKEN", ""),
        cors_origins=tuple(o.strip() for o in env.get("RATECARD_CORS_ORIGINS", "").split(",") if o.strip()),
        scheduler=env.get("RATECARD_SCHEDULER", "1") == "1",
        fast_path=env.get("RATECARD_FAST_PATH", "1") == "1",
    )


def app_from_env() -> Litestar:
    """Build the app in a worker process."""
    return create_app(settings_from_env())
