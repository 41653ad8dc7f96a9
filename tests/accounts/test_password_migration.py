"""Migration 0005 on a database with users from before passwords: they keep their rows and
their tokens, and have no password (a login with their email is refused)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from alembic import command
from sqlalchemy import text

from boxoffice.auth import issue_access_token
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.migrate import alembic_config, upgrade
from tests import api, conftest
from tests.conftest import JWT_SECRET
from tests.integration.test_errors import assert_problem


def in_thread(work: Callable[[], None]) -> None:
    """Alembic's environment runs its own event loop, so it cannot run on the test's."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            failure.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


async def test_users_from_before_passwords_survive_the_migration(
    database_url: str, db: Database
) -> None:
    # No server runs meanwhile: its sweeper would hold SQLite's lock against the migration.
    in_thread(lambda: command.downgrade(alembic_config(database_url), "0004"))
    try:
        async with db.transaction() as conn:
            user_id = (
                await conn.execute(
                    text(
                        "INSERT INTO users (name, email, balance, created_at, updated_at)"
                        " VALUES ('Old', 'old@example.com', 500, CURRENT_TIMESTAMP,"
                        " CURRENT_TIMESTAMP) RETURNING id"
                    )
                )
            ).scalar_one()
    finally:
        upgrade(database_url)
    async with db.reading() as conn:
        row = (
            await conn.execute(
                text("SELECT name, balance, password_hash FROM users WHERE id = :id"),
                {"id": user_id},
            )
        ).one()
    assert (row.name, int(row.balance), row.password_hash) == ("Old", 500, None)
    await db.dispose()
    token = issue_access_token(Settings(_env_file=None, jwt_secret=JWT_SECRET), user_id)
    async with api.app_client(conftest.test_settings(database_url)) as client:
        me = await client.get("/users/me", headers=api.bearer(token))
        assert me.status_code == 200 and me.json()["email"] == "old@example.com"
        refused = await api.log_in(client, "old@example.com", "whatever-they-try")
        assert_problem(refused, 401, "INVALID_CREDENTIALS")
