"""Alembic environment: runs the migrations on the connection or URL that ``db.migrate`` hands it."""

from __future__ import annotations

from alembic import context

from haven_pipelines.db.engine import create_engine
from haven_pipelines.db.tables import metadata

config = context.config


def run_migrations_online() -> None:
    """Run on the connection given in ``config.attributes``, else on a new engine for the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # pragma: no cover - offline SQL generation is not used
    raise SystemExit("offline migrations are not supported; run `haven db upgrade`")
run_migrations_online()
