"""``extensions.read_one``/``write_one`` run a statement alone in autocommit on a pooled
connection: on PostgreSQL the driver's connection is in autocommit only for that statement,
so the next transaction of the request's session on the same pooled connection is a real
one again (what it writes is undone by a rollback), after a statement that succeeded and
after one that failed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

_PROBE = sa.text("SELECT to_regclass('pg_temp.alone_probe') IS NOT NULL")


def _session_writes_roll_back(db) -> bool:
    db.session.execute(sa.text("CREATE TEMP TABLE alone_probe (n int)"))
    db.session.rollback()
    kept = db.session.execute(_PROBE).scalar()
    db.session.rollback()
    return not kept


@pytest.mark.parametrize("statement", ["SELECT 1", "SELECT 1 / 0"])
def test_a_pooled_connection_is_transactional_again_after_a_statement_alone(app, statement):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite: a statement alone is its own implicit transaction, nothing to restore")
    from idp.extensions import db, read_one
    with app.app_context():
        db.engine.dispose()
        try:
            assert read_one(sa.text(statement), {}) == (1,)
        except DBAPIError as error:
            assert not error.connection_invalidated
            assert statement.endswith("/ 0")
        assert db.engine.pool.checkedin() == 1        # the session below gets that connection
        assert _session_writes_roll_back(db)
        db.session.remove()
