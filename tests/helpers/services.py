"""Whether a service answers on this machine: the tests that need PostgreSQL or Redis skip
with a clear reason when it does not."""

from __future__ import annotations

import socket
from contextlib import contextmanager

POSTGRES_PORT, REDIS_PORT = 5432, 6379


def answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def database_down(uri: str):
    """The provider's database out of service while the block runs, back after it with
    nothing restarted, the provider meeting an ``OperationalError`` either way. PostgreSQL
    refuses every connection to the database and cuts the live ones (as a server stopped
    for maintenance); a SQLite file cannot stop answering, so its ``account`` table is away
    ("no such table")."""
    import sqlalchemy as sa
    url = sa.engine.make_url(uri)
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url)
        down = ["ALTER TABLE account RENAME TO account_away"]
        up = ["ALTER TABLE account_away RENAME TO account"]
    else:
        engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        name = url.database
        down = [f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"]
        up = [f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true']
    with engine.begin() as conn:
        conn.execute(sa.text(down[0]))             # failing, it changed nothing to undo
    try:
        with engine.begin() as conn:
            for statement in down[1:]:
                conn.execute(sa.text(statement))
        yield
    finally:
        with engine.begin() as conn:
            for statement in up:
                conn.execute(sa.text(statement))
        engine.dispose()
