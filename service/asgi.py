"""The ASGI entry point for multi-worker serving: ``uvicorn --factory service.asgi:app_from_env``.

``ratecard serve --workers N`` bootstraps the database once in the parent,
then starts N uvicorn workers that each build the app from RATECARD_*
environment variables. Only one of them runs the scheduler: the one holding
an exclusive lock on ``<db>.scheduler.lock`` (see service.app).
"""

import os

from litestar import Litestar

from ratecard.service.app import Settings, admin_token_from, create_app, fetch_policy_from_env


def settings_from_env() -> Settings:
    """Settings as the parent process handed them down in the environment."""
    env = os.environ
    read_only = env.get("RATECARD_READ_ONLY", "0") == "1"
    return Settings(
        db_path=env.get("RATECARD_DB") or "ratecard.db",
        sources_path=env.get("RATECARD_SOURCES") or None,
        admin_token=admin_token_from(env.get("RATECARD_ADMIN_TOKEN", "")),
        admin_writes=env.get("RATECARD_ADMIN_WRITES", "1") == "1",
        read_only=read_only,
        reload_interval_s=0.25 if read_only else 2.0,
        public_base_url=env.get("RATECARD_PUBLIC_BASE_URL", "").rstrip("/"),
        cors_origins=tuple(o.strip() for o in env.get("RATECARD_CORS_ORIGINS", "").split(",") if o.strip()),
        scheduler=env.get("RATECARD_SCHEDULER", "1") == "1",
        fetch=fetch_policy_from_env(env),
        bootstrap=env.get("RATECARD_BOOTSTRAP", "1") == "1",
    )


def app_from_env() -> Litestar:
    """Build the app in a worker process."""
    return create_app(settings_from_env())
